"""The epoch-indexed schedules shared by IIC and DAC (``_schedules.py``)."""

from __future__ import annotations

import pytest
import torch
from skorch.callbacks import LRScheduler
from torch.optim.lr_scheduler import CosineAnnealingLR, StepLR

from deepclust_sklearn._schedules import _cosine, _CosineLR, _user_sets_the_rate


class _History(list):
    """skorch's history as far as ``_CosineLR`` uses it: rows, and ``record`` into the last."""

    def record(self, key, value):
        self[-1][key] = value


class _FakeNet:
    """Just what ``_CosineLR`` reads and writes: an optimiser and a history."""

    def __init__(self, optimizer):
        self.optimizer_ = optimizer
        self.history = _History()


def test_cosine_lr_is_torchs_cosine_annealing_in_closed_form():
    t_max, lr = 7, 0.3
    params = [torch.nn.Parameter(torch.zeros(1))]
    reference = CosineAnnealingLR(torch.optim.SGD(params, lr=lr), T_max=t_max)
    ours = _CosineLR(lr, t_max)
    net = _FakeNet(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr))
    for _ in range(t_max):
        net.history.append({})  # skorch adds the epoch's row before on_epoch_begin
        ours.on_epoch_begin(net)
        assert net.optimizer_.param_groups[0]["lr"] == pytest.approx(reference.get_last_lr()[0], abs=1e-12)
        assert net.history[-1]["lr"] == net.optimizer_.param_groups[0]["lr"]
        reference.optimizer.step()
        reference.step()


def test_cosine_interpolates_between_its_ends():
    assert _cosine(2.0, 1.0, 0, 4) == 2.0
    assert _cosine(2.0, 1.0, 2, 4) == pytest.approx(1.5)
    assert _cosine(2.0, 1.0, 4, 4) == pytest.approx(1.0)


def test_a_user_lr_scheduler_decides_unless_cosine_is_asked_for():
    user = [LRScheduler(policy=StepLR, step_size=1)]
    assert _user_sets_the_rate("auto", user) and _user_sets_the_rate("constant", user)
    assert not _user_sets_the_rate("cosine", None) and not _user_sets_the_rate("auto", [])
    with pytest.raises(ValueError, match="lr_schedule='cosine' and an LRScheduler in callbacks"):
        _user_sets_the_rate("cosine", user)
