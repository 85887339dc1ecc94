"""Facial emotion recognition: mini-Xception family, training, evaluation, the recogniser."""
