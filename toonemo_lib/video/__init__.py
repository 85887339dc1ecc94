"""Toonify and emotion recognition on video: streaming pipeline, overlays, webcam."""

# Which frames the recogniser reads (`toonemo video --recognise-on`); here, not in `pipeline`,
# so that the `toonemo` command registers its options without loading pandas and OpenCV.
RECOGNISE_ON = ("toon", "original", "both")
