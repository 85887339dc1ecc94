"""Measures of generated faces that need both StyleGAN2 and the emotion model.

`emotion_features` (the offline stand-in for FID/KID features), `generators` (how face-like
and varied a generator's faces are).
"""
