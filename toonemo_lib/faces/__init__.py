"""Face detection, alignment and personal-emoji helpers."""
