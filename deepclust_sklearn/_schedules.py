"""Schedules indexed by the epoch alone: the cosine, and the learning-rate callback built on it.

A schedule that reads nothing but the history's length continues exactly
when a fit is resumed from a checkpoint or warm-started: there is no
scheduler state to save.
"""

from __future__ import annotations

import math

from skorch.callbacks import Callback, LRScheduler


def _cosine(start: float, end: float, epoch: int, t_max: int) -> float:
    r"""Cosine interpolation :math:`end + (start - end)(1 + \cos(\pi e / T)) / 2` at epoch :math:`e`."""
    return end + (start - end) * (1.0 + math.cos(math.pi * epoch / t_max)) / 2.0


class _CosineLR(Callback):
    r"""Cosine learning-rate annealing as a function of the epoch index alone.

    Epoch :math:`e` trains with :math:`\eta_e = \eta_0 (1 + \cos(\pi e / T)) / 2`,
    the closed form of torch's ``CosineAnnealingLR``. Unlike a stateful
    scheduler it needs nothing but the history's length, so a resumed fit
    picks up the same rate. The rate is recorded as ``lr`` in the history.
    """

    def __init__(self, lr: float, t_max: int) -> None:
        self.lr = lr
        self.t_max = t_max

    def on_epoch_begin(self, net, **kwargs):
        rate = _cosine(self.lr, 0.0, len(net.history) - 1, self.t_max)
        for group in net.optimizer_.param_groups:
            group["lr"] = rate
        net.history.record("lr", rate)


def _user_sets_the_rate(lr_schedule: str, callbacks) -> bool:
    """Whether the user's callbacks hold a skorch ``LRScheduler``; an error if ``lr_schedule="cosine"`` too."""
    user_schedules = [cb for cb in callbacks or [] if isinstance(cb, LRScheduler)]
    if user_schedules and lr_schedule == "cosine":
        raise ValueError(
            "lr_schedule='cosine' and an LRScheduler in callbacks would both set the learning rate; "
            "pass lr_schedule='constant' (or 'auto') to use your LRScheduler."
        )
    return bool(user_schedules)
