"""The offline stand-in for FID/KID: features of the shipped emotion classifier.

It lives on the package's top floor because it joins two siblings that must not import
each other: the StyleGAN2 metrics (`stylegan2/metrics.py`) and the emotion model.

    suite = MetricSuite(["fed_emotion"], reals, num_gen=500,
                        extractors={"emotion": EmotionFeatures()})
"""

from __future__ import annotations

from pathlib import Path

from ..stylegan2.metrics import FeatureExtractor


def emotion_feature_layer(model):
    """The classifier layer (the last Conv2D or Dense) whose *input* is the feature map."""
    import keras

    heads = [layer for layer in model.layers if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))]
    if not heads:
        raise ValueError(f"{model.name} has no Conv2D or Dense layer to take features from")
    return heads[-1]


class EmotionFeatures(FeatureExtractor):
    """STAND-IN, not FID: features of the shipped mini-Xception emotion classifier.

    The features are the input of its classifier (the last Conv2D, 1x1 to 7 classes):
    the last residual block's output (after dropout, identity at inference), 3x3x256 for
    the shipped model, global-average-pooled to 256-d.  The 7-d pooled logits after it
    would say little more than the predicted expression.  Faces go through the very
    preprocessing training used (`preprocess_faces`: grey, resized to the model's side).
    """

    name, short = "Fréchet emotion-feature distance (stand-in, not FID)", "fed_emotion"
    kernel_name, kernel_short = "KED (stand-in, not KID)", "ked_emotion"
    is_stand_in = True

    def __init__(self, model_path=None, *, batch_size=32):
        from ..emotion.classifier import SHIPPED_MODEL, _check_model_file

        super().__init__(batch_size)
        self.model_path = Path(model_path or SHIPPED_MODEL)
        _check_model_file(self.model_path)

    def _build(self):
        import keras

        from ..emotion.classifier import _load_model

        classifier = _load_model(self.model_path)
        return keras.Model(classifier.inputs, emotion_feature_layer(classifier).input)

    def _features(self, batch):
        from ..emotion.pipeline import preprocess_faces

        side = self.model.input_shape[1]
        f = self._predict(preprocess_faces(batch, resolution=side))
        return f.mean(axis=(1, 2)) if f.ndim == 4 else f


def metric_extractors(metric_ids) -> dict:
    """The extractors `MetricSuite` cannot build itself for these metric ids."""
    return {"emotion": EmotionFeatures()} if any("emotion" in m for m in metric_ids) else {}
