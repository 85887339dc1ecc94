"""The expressions of a video over time: a stacked-area plot and the dominant expression per second."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import EMOTIONS
from ..emotion.recognize import EMOTION_COLOURS


def probabilities_over_time(table: pd.DataFrame, face: int = 0) -> pd.DataFrame:
    """One row per frame (indexed by time, s) with the seven probabilities of face number ``face``.

    Frames without that face get zeros, so a stacked plot shows them as gaps.
    """
    frames = table.groupby("frame")["time"].first()
    probs = table[table["face"] == face].set_index("frame")[list(EMOTIONS)]
    probs = probs.reindex(frames.index).fillna(0.0)
    probs.index = pd.Index(frames.to_numpy(), name="time")
    return probs


def dominant_per_second(table: pd.DataFrame, face: int = 0) -> pd.DataFrame:
    """For each whole second: the expression with the highest mean probability, that mean, and the face's presence."""
    probs = probabilities_over_time(table, face)
    seconds = np.floor(probs.index.to_numpy()).astype(int)
    present = (probs.sum(axis=1) > 0).to_numpy()
    rows = []
    for second in np.unique(seconds):
        here = probs[(seconds == second) & present]
        mean = here.mean() if len(here) else None
        rows.append({"second": int(second), "emotion": None if mean is None else mean.idxmax(),
                     "probability": np.nan if mean is None else float(mean.max()),
                     "face present": len(here) / int((seconds == second).sum())})
    return pd.DataFrame(rows)


def plot_timeline(table: pd.DataFrame, face: int = 0, title: str | None = None):
    """A figure: the seven probabilities stacked over time, with the dominant expression of each second above."""
    import matplotlib.pyplot as plt

    probs = probabilities_over_time(table, face)
    dominant = dominant_per_second(table, face)
    fig, (strip, ax) = plt.subplots(2, 1, figsize=(10, 3.6), sharex=True, gridspec_kw={"height_ratios": [1, 5]})
    colours = [np.array(EMOTION_COLOURS[name]) / 255 for name in EMOTIONS]
    ax.stackplot(probs.index, probs.T.to_numpy(), labels=EMOTIONS, colors=colours, alpha=0.9)
    ax.set(xlabel="time (s)", ylabel="probability", ylim=(0, 1), xlim=(probs.index.min(), probs.index.max()))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    for row in dominant.itertuples():
        if not isinstance(row.emotion, str):  # a second without the face
            strip.text(row.second + 0.5, 0.5, "no face", ha="center", va="center", fontsize=7, color="grey")
            continue
        strip.axvspan(row.second, row.second + 1, color=np.array(EMOTION_COLOURS[row.emotion]) / 255, alpha=0.8)
        strip.text(row.second + 0.5, 0.5, row.emotion, ha="center", va="center", fontsize=8)
    strip.set(yticks=[], ylabel="each\nsecond")
    strip.set_title(title or "Expressions over time (face 0): stacked probabilities, dominant expression per second",
                    fontsize=10)
    fig.tight_layout()
    return fig
