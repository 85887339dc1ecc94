"""Facial-expression data: FER2013 loaders and the tf.data pipeline."""
