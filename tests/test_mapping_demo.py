import numpy as np

from toonemo_lib.lessons.mapping_demo import grid_lines_through_map, linear_probe_r2, run_experiment, sample_factors


def test_factor_samples_avoid_the_missing_corner():
    f = sample_factors(500, seed=1)
    assert f.shape == (500, 2) and f.min() >= 0 and f.max() <= 1
    assert not ((f[:, 0] > 0.5) & (f[:, 1] > 0.5)).any()


def test_linear_probe_is_one_for_an_affine_code_and_lower_for_a_warped_one():
    rng = np.random.default_rng(0)
    f = rng.uniform(size=(300, 2))
    assert linear_probe_r2(f @ np.array([[2.0, 1.0], [0.5, -1.0]]) + 3, f) > 0.999999
    assert linear_probe_r2(np.sin(6 * f), f) < 0.8


def test_w_is_disentangled_and_z_is_not():
    result = run_experiment(n=300, seed=0)
    assert result["r2_w"] > 0.999999
    assert result["r2_z"] < 0.97
    # the z paired with each factor is Gaussian-distributed
    assert abs(result["z"].mean()) < 0.2 and 0.8 < result["z"].std() < 1.2
    lines = grid_lines_through_map(result["z"], result["factors"])
    assert len(lines) == 10 and all(len(line) > 5 for line in lines)
