"""The readable training step of notebook 03: NVIDIA's phases, on their intervals, training a Trainer's networks."""

import math

import numpy as np
import pytest

from toonemo_lib.datasets.synthetic import coloured_discs
from toonemo_lib.stylegan2.train_step import readable_train_step
from toonemo_lib.stylegan2.trainer import Trainer

from test_stylegan2_train import small_config, weights


@pytest.fixture(scope="module")
def reals():
    return coloured_discs(8, 8, seed=1)


def test_the_phases_run_on_nvidias_intervals(reals):
    trainer = Trainer(small_config(batch=8), aug="noaug", seed=0)
    phases = [sorted(readable_train_step(trainer, reals)) for _ in range(17)]
    assert phases[0] == ["D main", "D reg", "G main", "G reg"]          # minibatch 0: all four
    assert phases[1] == phases[2] == phases[3] == ["D main", "G main"]
    assert phases[4] == ["D main", "G main", "G reg"]                    # path length every 4th
    assert phases[16] == ["D main", "D reg", "G main", "G reg"]          # R1 every 16th
    assert trainer.batch_idx == 17 and trainer.cur_nimg == 17 * 8


def test_the_losses_are_those_of_the_phases(reals):
    trainer = Trainer(small_config(batch=8), aug="noaug", seed=0)
    losses = readable_train_step(trainer, reals)
    # softplus terms: G's loss is one mean, D's two; both positive, and finite.
    assert all(math.isfinite(loss) and loss > 0 for loss in losses.values())
    assert losses["D main"] > math.log(2) / 2
    assert float(trainer.pl_mean) > 0                                    # the running mean moved off 0


def test_it_trains_the_trainers_networks_and_its_ema(reals):
    trainer = Trainer(small_config(batch=8), aug="noaug", seed=0)
    before = weights(trainer)
    readable_train_step(trainer, reals)
    after = weights(trainer)
    n_G, n_D = len(trainer.G.weights), len(trainer.D.weights)
    changed = [not np.array_equal(a, b) for a, b in zip(before, after)]
    assert any(changed[:n_G]) and any(changed[n_G:n_G + n_D]) and any(changed[n_G + n_D:])
