"""Controlling a training run: skorch callbacks, interruption, resumption, divergence, determinism.

Every test runs over the tiny configurations of ``test_estimators.ESTIMATORS``.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback, Checkpoint, EarlyStopping, LoadInitState, LRScheduler, ProgressBar
from skorch.exceptions import DeviceWarning
from test_estimators import ESTIMATORS, estimators, ignore_convergence, make
from torch.optim.lr_scheduler import StepLR


class InterruptAfter(Callback):
    """Raises KeyboardInterrupt at the end of epoch ``epoch``, as Ctrl-C would."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


class PoisonedSGD(torch.optim.SGD):
    """An optimiser whose second step writes NaN into the weights: a stand-in for divergence."""

    def step(self, closure=None):
        out = super().step(closure)
        self.n_steps = getattr(self, "n_steps", 0) + 1
        if self.n_steps == 2:
            with torch.no_grad():
                for group in self.param_groups:
                    for param in group["params"]:
                        param.fill_(float("nan"))
        return out


def single_init(estimator) -> dict:
    """``n_init=1`` where the estimator restarts (IIC): a checkpoint resumes one network."""
    return {"n_init": 1} if "n_init" in estimator.get_params() else {}


def interrupt_and_resume(est, X, tmp_path, after: int, monitor=None):
    """Fit a clone of ``est`` with a Checkpoint, stopped as by Ctrl-C after epoch ``after``, then
    make the same call again with ``LoadInitState``. Returns ``(interrupted, resumed)``."""
    checkpoint = Checkpoint(monitor=monitor, dirname=str(tmp_path))
    interrupted = make(est, callbacks=[checkpoint, InterruptAfter(after)]).fit(X)
    resumed = make(est, callbacks=[checkpoint, LoadInitState(checkpoint)]).fit(X)
    return interrupted, resumed


def _outputs(est, X):
    return est.labels_.copy(), est.transform(X)


# --------------------------------------------------------------------------
# skorch callbacks pass through
# --------------------------------------------------------------------------


@ignore_convergence
@estimators
def test_progress_bar(estimator, blobs, capsys):
    X, _ = blobs
    est = make(estimator, max_epochs=2, callbacks=[ProgressBar()]).fit(X)
    assert len(est.history_) == 2
    err = capsys.readouterr().err
    assert "it/s" in err or "s/it" in err  # tqdm's rate display


@ignore_convergence
@estimators
def test_early_stopping_on_the_training_loss(estimator, blobs):
    X, _ = blobs
    # a threshold no epoch can beat: stop after patience=1 epochs without "improvement"
    stopper = EarlyStopping(monitor="train_loss", patience=1, threshold=1e9, threshold_mode="abs")
    est = make(estimator, max_epochs=4, callbacks=[stopper]).fit(X)
    assert len(est.history_) == 2
    np.testing.assert_array_equal(est.predict(X), est.labels_)


@ignore_convergence
@estimators
def test_lr_scheduler(estimator, blobs):
    X, _ = blobs
    est = make(estimator, max_epochs=3, callbacks=[LRScheduler(policy=StepLR, step_size=1, gamma=0.5)]).fit(X)
    rates = [group["lr"] for group in est.net_.optimizer_.param_groups]
    assert rates == pytest.approx([estimator.lr * 0.5**3] * len(rates))


# --------------------------------------------------------------------------
# interruption and resumption
# --------------------------------------------------------------------------


@ignore_convergence
@estimators
def test_keyboard_interrupt_leaves_a_fitted_estimator(estimator, blobs, assert_valid_clustering):
    X, _ = blobs
    est = make(estimator, max_epochs=4, callbacks=[InterruptAfter(1)]).fit(X)
    assert len(est.history_) == 1
    assert_valid_clustering(est, X, len(X), estimator.n_clusters)


@ignore_convergence
@estimators
def test_checkpoint_resume_equals_an_uninterrupted_fit(estimator, blobs, tmp_path):
    X, _ = blobs
    four_epochs = make(estimator, max_epochs=4, **single_init(estimator))
    whole = make(four_epochs).fit(X)
    # every epoch is checkpointed; the run is interrupted after epoch 2, and the same call
    # again with LoadInitState finishes the remaining 2 epochs
    interrupted, resumed = interrupt_and_resume(four_epochs, X, tmp_path, after=2)
    assert len(interrupted.history_) == 2
    assert len(resumed.history_) == 4
    np.testing.assert_array_equal(resumed.history_[:, "train_loss"], whole.history_[:, "train_loss"])
    labels, proba = _outputs(whole, X)
    np.testing.assert_array_equal(resumed.labels_, labels)
    np.testing.assert_array_equal(resumed.transform(X), proba)


@ignore_convergence
def test_checkpoint_resume_continues_the_iic_cosine_schedule(blobs, tmp_path):
    X, _ = blobs
    iic = make(ESTIMATORS[0], max_epochs=4, lr_schedule="cosine", n_init=1)
    whole = make(iic).fit(X)
    _, resumed = interrupt_and_resume(iic, X, tmp_path, after=3)
    np.testing.assert_array_equal(resumed.history_[:, "lr"], whole.history_[:, "lr"])
    np.testing.assert_array_equal(resumed.transform(X), whole.transform(X))


def test_a_checkpoint_to_resume_needs_a_single_init(blobs, tmp_path):
    checkpoint = Checkpoint(dirname=str(tmp_path))
    iic = make(ESTIMATORS[0], n_init=2, callbacks=[checkpoint, ("resume", LoadInitState(checkpoint))])
    with pytest.raises(ValueError, match=r"LoadInitState resumes one network, but n_init=2 .* Pass n_init=1"):
        iic.fit(blobs[0])
    assert not hasattr(iic, "net_")


@ignore_convergence
def test_checkpoint_resume_continues_the_dac_schedule(blobs, tmp_path):
    X, _ = blobs
    dac = make(ESTIMATORS[1], max_epochs=5)
    whole = make(dac).fit(X)
    _, resumed = interrupt_and_resume(dac, X, tmp_path, after=2)
    np.testing.assert_array_equal(resumed.history_[:, "threshold_shift"], whole.history_[:, "threshold_shift"])
    assert resumed.history_[-1, "stop"] == "max_epochs reached"
    np.testing.assert_array_equal(resumed.labels_, whole.labels_)


# --------------------------------------------------------------------------
# divergence
# --------------------------------------------------------------------------


def assert_divergence_fails_cleanly(est, X, match: str) -> None:
    """``est.fit(X)`` raises FloatingPointError matching ``match``, leaves ``est`` unfitted and ``X`` unchanged."""
    X_before = X.copy()
    with pytest.raises(FloatingPointError, match=match):
        est.fit(X)
    with pytest.raises(NotFittedError):
        est.predict(X)
    np.testing.assert_array_equal(X, X_before)


@estimators
def test_divergence_stops_with_an_error_naming_the_epoch(estimator, blobs):
    est = make(estimator, optimizer=PoisonedSGD, max_epochs=3)
    assert_divergence_fails_cleanly(est, blobs[0], r"diverged: the training loss became nan in epoch 1 \(batch 3\)")


def test_divergence_message_names_the_fix(blobs):
    X, _ = blobs
    with pytest.raises(FloatingPointError, match=r"IICEstimator diverged.*Lower lr \(now 0\.01\)"):
        make(ESTIMATORS[0], optimizer=PoisonedSGD).fit(X)


# --------------------------------------------------------------------------
# determinism
# --------------------------------------------------------------------------


@ignore_convergence
@estimators
def test_two_fits_and_a_pickle_round_trip_are_bit_identical(estimator, blobs):
    X, _ = blobs
    first, second = make(estimator).fit(X), make(estimator).fit(X)
    labels, out = _outputs(first, X)
    np.testing.assert_array_equal(second.labels_, labels)
    np.testing.assert_array_equal(second.transform(X), out)
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.labels_, labels)
    np.testing.assert_array_equal(restored.transform(X), out)
    np.testing.assert_array_equal(restored.predict(X), first.predict(X))


# --------------------------------------------------------------------------
# GPU-fitted model on a CPU-only machine
# --------------------------------------------------------------------------


@ignore_convergence
@estimators
def test_cuda_pickle_loads_on_cpu(estimator, blobs, monkeypatch):
    # A fit on a GPU stores device="cuda" in the net; unpickled where CUDA is
    # absent, skorch maps every tensor to the CPU (with a DeviceWarning).
    # Here the fit itself ran on the CPU and only the device is relabelled,
    # which is what a CPU-only machine sees of a GPU pickle's device state.
    X, _ = blobs
    est = make(estimator).fit(X)
    expected = est.transform(X)
    est.device = "cuda"
    est.net_.device = "cuda"
    payload = pickle.dumps(est)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the CPU-only machine
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        restored = pickle.loads(payload)
    assert any(issubclass(w.category, DeviceWarning) for w in caught)
    assert str(restored.net_.device) == "cpu"
    np.testing.assert_array_equal(restored.transform(X), expected)
    np.testing.assert_array_equal(restored.predict(X), est.labels_)
    with pytest.raises(ValueError, match="CUDA is not available here; use device='cpu'"):
        restored.fit(X)  # refitting needs the device set back to the CPU ...
    restored.set_params(device="cpu").fit(X)  # ... which then works


# --------------------------------------------------------------------------
# verbose output
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "estimator, column",
    [(ESTIMATORS[0], "best_subhead_loss"), (ESTIMATORS[1], "threshold_shift"), (ESTIMATORS[2], "nmi_previous")],
    ids=["IICEstimator", "DACEstimator", "DeepClusterEstimator"],
)
@ignore_convergence
def test_verbose_table_shows_the_method_diagnostics(estimator, column, blobs, capsys):
    X, _ = blobs
    make(estimator, max_epochs=2, verbose=1).fit(X)
    lines = capsys.readouterr().out.splitlines()
    header = next(line for line in lines if not line.startswith(f"{type(estimator).__name__}: "))  # after IIC's inits
    assert "train_loss" in header and column in header


def _at_reclustering_boundary(net):  # a named function: a lambda would make the estimator unpicklable
    """Checkpoint monitor: save when the next epoch re-clusters (reassign=2)."""
    return len(net.history) % 2 == 0


@ignore_convergence
def test_deepcluster_resumes_exactly_from_a_reclustering_boundary(blobs, tmp_path):
    X, _ = blobs
    dc = make(ESTIMATORS[2], reassign=2, max_epochs=4)
    whole = make(dc).fit(X)
    # last checkpoint: after epoch 2
    _, resumed = interrupt_and_resume(dc, X, tmp_path, after=3, monitor=_at_reclustering_boundary)
    np.testing.assert_array_equal(resumed.history_[:, "train_loss"], whole.history_[:, "train_loss"])
    np.testing.assert_array_equal(resumed.transform(X), whole.transform(X))


@ignore_convergence
def test_deepcluster_resumed_between_reclusterings_reclusters_first(blobs, tmp_path):
    # the pseudo-labels are not in a checkpoint: a fit resumed mid-cycle re-clusters at once
    X, _ = blobs
    dc = make(ESTIMATORS[2], reassign=2, max_epochs=4)
    _, resumed = interrupt_and_resume(dc, X, tmp_path, after=1)
    assert len(resumed.history_) == 4
    assert [("kmeans_objective" in row) for row in resumed.history_] == [True, True, True, False]


# --------------------------------------------------------------------------
# failed fits, stop reasons, schedules that would clash
# --------------------------------------------------------------------------


@estimators
def test_a_failed_warm_fit_leaves_an_unfitted_estimator(estimator, blobs):
    X, _ = blobs
    est = make(estimator, max_epochs=1, warm_start=True).fit(X)
    est.net_.optimizer_ = PoisonedSGD(est.net_.module_.parameters(), lr=0.01)  # the continued run diverges
    with pytest.raises(FloatingPointError, match="diverged"):
        est.fit(X)
    assert not hasattr(est, "net_") and not hasattr(est, "labels_")  # nothing NaN to continue from
    with pytest.raises(NotFittedError):
        est.predict(X)
    est.fit(X)  # a fresh fit works again
    np.testing.assert_array_equal(est.predict(X), est.labels_)


@ignore_convergence
@estimators
def test_the_last_history_row_says_why_training_stopped(estimator, blobs):
    X, _ = blobs
    full = make(estimator, max_epochs=2).fit(X)
    assert full.history_[-1, "stop"] == "max_epochs reached"
    assert "stop" not in full.history_[0]
    early = make(estimator, max_epochs=3, callbacks=[InterruptAfter(1)]).fit(X)
    assert early.history_[-1, "stop"] == "stopped early (a callback or Ctrl-C)"


def test_iic_cosine_schedule_and_a_user_lr_scheduler_clash(blobs):
    X, _ = blobs
    est = make(ESTIMATORS[0], lr_schedule="cosine", callbacks=[LRScheduler(policy=StepLR, step_size=1)])
    with pytest.raises(ValueError, match="lr_schedule='cosine' and an LRScheduler in callbacks"):
        est.fit(X)


def test_iic_auto_schedule_leaves_the_rate_to_a_user_lr_scheduler():
    est = make(ESTIMATORS[0], max_epochs=250, callbacks=[LRScheduler(policy=StepLR, step_size=1)])
    without = make(est, callbacks=None)
    est._n_train = without._n_train = 60  # 1,000 steps: "auto" would anneal without the user's scheduler
    assert est._method_callbacks() == []
    assert without._method_callbacks()[0][0] == "lr_schedule"
