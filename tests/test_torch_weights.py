"""PyTorch state dicts read without torch (`torch_weights`): both formats, strides, and refused globals."""

import math
import pickle

import numpy as np
import pytest

from toonemo_lib.stylegan2.perceptual import lpips_lin_weights
from toonemo_lib.torch_weights import read_torch_state_dict, write_torch_tensors


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_read_torch_state_dict_without_torch(tmp_path, legacy):
    a = np.arange(6, dtype=np.float32)
    lin = {f"lin{i}.model.1.weight": (np.linspace(0, 1, c, dtype=np.float32), 0, (1, c, 1, 1),
                                      (c, 1, 1, 1))
           for i, c in enumerate((64, 128, 256, 512, 512))}
    tensors = {"plain": (a, 0, (2, 3), (3, 1)),          # row-major [[0,1,2],[3,4,5]]
               "transposed": (a, 0, (3, 2), (1, 3)),     # a view with strides
               "offset": (a, 2, (2,), (1,)), **lin}
    state = read_torch_state_dict(write_torch_tensors(tmp_path / "w.pth", tensors, legacy=legacy))
    np.testing.assert_array_equal(state["plain"], a.reshape(2, 3))
    np.testing.assert_array_equal(state["transposed"], a.reshape(2, 3).T)
    np.testing.assert_array_equal(state["offset"], [2, 3])
    weights = lpips_lin_weights(state)
    assert [w.shape[0] for w in weights] == [64, 128, 256, 512, 512]
    np.testing.assert_allclose(weights[4], np.linspace(0, 1, 512))


def test_read_torch_state_dict_refuses_other_globals(tmp_path):
    path = write_torch_tensors(tmp_path / "evil.pth", {"x": (np.zeros(2), 0, (2,), (1,))},
                          extra={"evil": math.floor})
    with pytest.raises(pickle.UnpicklingError, match="math.floor"):
        read_torch_state_dict(path)
    (tmp_path / "junk.pth").write_bytes(b"\x80\x02not a pickle")
    with pytest.raises(ValueError, match="not a PyTorch .pth file"):
        read_torch_state_dict(tmp_path / "junk.pth")
