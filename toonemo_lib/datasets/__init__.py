"""Data sets: synthetic faces, crawling, curation, normalisation, StyleGAN2 and FER2013 formats."""
