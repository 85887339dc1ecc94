"""Toonify and emotion recognition on video: streaming pipeline, overlays, webcam."""
