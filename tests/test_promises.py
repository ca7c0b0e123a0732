"""Promises that span memory, processes and real divergence (DESIGN.md, promises 5, 7 and 8).

- ``fit``, ``predict`` and ``transform`` on a ``numpy.memmap`` read it batch
  by batch and never copy it whole: the Python-tracked allocation peak
  (numpy arrays; torch's own tensors are not tracked) stays far below the
  input's size.
- A fit interrupted after a ``Checkpoint`` and resumed with ``LoadInitState``
  in a *fresh interpreter* equals the uninterrupted fit (same machine, same
  thread count: the float32 training is exact only there).
- A genuinely diverging fit (a learning rate far too high, no injected NaN)
  raises the documented ``FloatingPointError`` and leaves nothing fitted.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from test_estimators import ESTIMATORS, estimators, make
from test_training_control import assert_divergence_fails_cleanly, single_init

TESTS = Path(__file__).resolve().parent


# --------------------------------------------------------------------------
# memmap input is never copied
# --------------------------------------------------------------------------


@pytest.fixture
def big_memmap(tmp_path):
    """A read-only 40,000 x 256 float32 memmap (41 MB) of three blobs."""
    rng = np.random.default_rng(0)
    path = tmp_path / "X.f32"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(40_000, 256))
    centres = rng.normal(scale=4.0, size=(3, 256)).astype(np.float32)
    for start in range(0, len(X), 5_000):
        rows = slice(start, start + 5_000)
        X[rows] = centres[rng.integers(3, size=5_000)] + rng.normal(size=(5_000, 256)).astype(np.float32)
    X.flush()
    del X
    return np.load(path, mmap_mode="r")


def _traced_peak(call):
    """``call()``'s result and its peak of Python-tracked memory above the level before it."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = call()
        return result, tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


@estimators
def test_memmap_is_read_in_batches_not_copied(estimator, big_memmap):
    X = big_memmap
    est = make(estimator, max_epochs=1, batch_size=512, inference_batch_size=2048, module_kwargs={"hidden": (16,)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X[:600])  # a first fit imports torch's lazily loaded modules (~60 MB of Python objects)
        _, fit_peak = _traced_peak(lambda: est.fit(X))
    labels, predict_peak = _traced_peak(lambda: est.predict(X))
    proba, transform_peak = _traced_peak(lambda: est.transform(X))
    # measured (MB, against the input's 41): fit IIC 5.4, DAC 5.4, DeepCluster 11.6 (it holds every
    # sample's learned features and their PCA for its k-means, not the input); predict 4.7 and
    # transform 4.4 beyond its own 40,000 x 3 float64 output: one 2,048-row inference batch (2 MB
    # as float32) and its conversions. A whole float32 copy of X would add 41 MB, a float64 one 82.
    assert fit_peak < X.nbytes / 2, fit_peak
    assert predict_peak < X.nbytes / 4, predict_peak
    assert transform_peak < proba.nbytes + X.nbytes / 4, transform_peak
    assert isinstance(X, np.memmap) and not X.flags.writeable  # untouched, still read-only
    np.testing.assert_array_equal(labels, est.labels_)


# --------------------------------------------------------------------------
# resume in a fresh interpreter
# --------------------------------------------------------------------------

_RESUME_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch
    from sklearn.datasets import make_blobs
    from skorch.callbacks import Checkpoint, LoadInitState
    sys.path.insert(0, {tests!r})
    from test_estimators import ESTIMATORS, make
    from test_training_control import InterruptAfter, single_init
    from skorch.callbacks import Callback

    class CountEpochs(Callback):
        def initialize(self):
            self.count = 0
            return self

        def on_epoch_begin(self, net, **kwargs):
            self.count += 1

    torch.set_num_threads(1)
    stage, dirname = sys.argv[1], sys.argv[2]
    X, _ = make_blobs(n_samples=60, centers=3, n_features=2, random_state=0)
    for index, estimator in enumerate(ESTIMATORS):
        checkpoint = Checkpoint(monitor=None, dirname=f"{{dirname}}/{{index}}")
        extra = InterruptAfter(2) if stage == "interrupt" else LoadInitState(checkpoint)
        est = make(estimator, callbacks=[checkpoint, extra, CountEpochs()], **single_init(estimator)).fit(X)
        trained = [cb for name, cb in est.net_.callbacks_ if isinstance(cb, CountEpochs)][0].count
        np.save(f"{{dirname}}/epochs_{{stage}}_{{index}}.npy", trained)
        np.save(f"{{dirname}}/labels_{{stage}}_{{index}}.npy", est.labels_)
        np.save(f"{{dirname}}/proba_{{stage}}_{{index}}.npy", est.transform(X))
    """
)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_resume_in_a_fresh_interpreter_equals_an_uninterrupted_fit(blobs, tmp_path):
    script = tmp_path / "resume.py"
    script.write_text(_RESUME_SCRIPT.format(tests=str(TESTS)))
    for stage in ("interrupt", "resume"):  # two interpreters: nothing survives in memory between them
        done = subprocess.run([sys.executable, str(script), stage, str(tmp_path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the subprocesses: float32 training is exact for one thread count
    try:
        for index, estimator in enumerate(ESTIMATORS):
            whole = make(estimator, **single_init(estimator)).fit(blobs[0])
            # the second interpreter trained only the epochs after the checkpoint (it really resumed)
            assert int(np.load(tmp_path / f"epochs_resume_{index}.npy")) == len(whole.history_) - 2
            np.testing.assert_array_equal(np.load(tmp_path / f"labels_resume_{index}.npy"), whole.labels_)
            np.testing.assert_allclose(
                np.load(tmp_path / f"proba_resume_{index}.npy"), whole.transform(blobs[0]), rtol=1e-7
            )
    finally:
        torch.set_num_threads(previous)


# --------------------------------------------------------------------------
# genuine divergence
# --------------------------------------------------------------------------


@estimators
def test_a_far_too_high_learning_rate_raises_floating_point_error(estimator, blobs):
    # Adam at lr=1e30: the weights overflow float32 within two steps (measured: NaN loss in
    # epoch 1, batch 2, every method, seeds 0-2)
    est = make(estimator, optimizer=torch.optim.Adam, lr=1e30)
    assert_divergence_fails_cleanly(est, blobs[0], r"diverged: the training loss became nan.*Lower lr \(now 1e\+30\)")


def test_deepcluster_features_overflowing_before_the_loss_raise_floating_point_error(blobs):
    """SGD at lr=1e3 overflows DeepCluster's features while its loss is still finite.

    Before this check the re-clustering failed with PCAWhitenL2's "Input X
    contains NaN", which points at the user's data (measured: seeds 0-3 all
    overflow by epoch 2).
    """
    X, _ = blobs
    est = make(ESTIMATORS[2], optimizer=torch.optim.SGD, lr=1e3)
    with pytest.raises(FloatingPointError, match=r"DeepClusterEstimator diverged: its features became NaN or infin"):
        est.fit(X)
    assert not hasattr(est, "net_")
