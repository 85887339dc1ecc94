"""The expression timeline: probabilities per frame, the dominant expression per second, the figure."""

import numpy as np
import pandas as pd

from toonemo_lib.config import EMOTIONS
from toonemo_lib.video.pipeline import face_rows
from toonemo_lib.video.timeline import dominant_per_second, plot_timeline, probabilities_over_time


def record(label, p=0.8):
    rest = (1 - p) / 6
    return {"rect": [0, 0, 10, 10], "label": label, "probs": {n: p if n == label else rest for n in EMOTIONS}}


def table():
    """3 s at 10 fps: Happy for a second, no face for a second, then Sad."""
    rows = []
    for i in range(30):
        records = [record("Happy")] if i < 10 else [] if i < 20 else [record("Sad")]
        rows += face_rows(i, 10.0, records, False)
    return pd.DataFrame(rows)


def test_probabilities_have_a_row_per_frame_and_zeros_without_a_face():
    probs = probabilities_over_time(table())
    assert probs.shape == (30, 7) and list(probs.columns) == list(EMOTIONS)
    assert np.allclose(probs.iloc[:10]["Happy"], 0.8) and (probs.iloc[10:20] == 0).all().all()
    np.testing.assert_allclose(probs.index[:3], [0.0, 0.1, 0.2])


def test_dominant_expression_per_second():
    dominant = dominant_per_second(table())
    assert [e if isinstance(e, str) else None for e in dominant["emotion"]] == ["Happy", None, "Sad"]
    assert dominant["face present"].tolist() == [1.0, 0.0, 1.0]
    assert np.isclose(dominant["probability"].iloc[0], 0.8)


def test_plot_timeline_draws_the_stack_and_the_strip():
    import matplotlib

    matplotlib.use("Agg")
    fig = plot_timeline(table())
    strip, ax = fig.axes
    assert len(ax.collections) == 7 and [t.get_text() for t in strip.texts] == ["Happy", "no face", "Sad"]
