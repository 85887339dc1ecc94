"""Code that exists to teach (notebook 01): the ideas of StyleGAN at a size one can look at.

`adain` AdaIN and StyleGAN2's modulation/demodulation on small arrays; `mapping_demo` the
numeric experiment on why a mapping network disentangles; `style_transfer` AdaIN style
transfer on a Laplacian pyramid in Lab.  Nothing of the course's models depends on them.
"""
