"""Toonify, the composition of a face model, its cartoon fine-tune and the face tools.

`toonifier` (`Toonifier`: align, project, draw, paste), `models` (which pair a Toonify uses),
`expressions` (expression directions in W and the personal emoji set), `plots` (their figures).
"""
