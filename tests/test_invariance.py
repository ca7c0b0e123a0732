"""A sample's outputs do not depend on its batch neighbours, the batch size or the thread count.

scikit-learn's ``check_methods_sample_order_invariance`` and
``check_methods_subset_invariance`` compare outputs at ``rtol=1e-7``. A
float32 network misses that on some CPUs: a matrix product may sum a row in
another order depending on the row's place in the batch (one float32 ulp,
about 1e-7 relative). On the AMD machines these tests were written on that
shows when the *batch size* changes (measured: up to 1.3e-6 relative with
float32 inference, 0 with float64), so the tests below vary the batch size as
well as the row order: a change that brings float32 inference back fails
here on any CPU, not only on the Intel CPUs where row order alone shows it.

The promise, stated at the tolerance tested: on a CPU, ``transform`` of a
row equals, to ``rtol=1e-7`` (scikit-learn's), its ``transform`` in any
other order, batch size or torch thread count. Bit-identical outputs are
promised only for the same machine, thread count and inputs.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from test_estimators import ESTIMATORS, _id, for_images, make

RTOL = 1e-7  # scikit-learn's tolerance in its invariance checks
N_PERMUTATIONS = 50
BATCH_SIZES = (1, 3, 7, 16, 64)


@pytest.fixture(params=["vectors", "images"])
def fitted(request, blobs, image_blobs):
    """Each estimator fitted on vectors (float64) and on images (float64 copy), with the data."""

    def fit(estimator):
        if request.param == "vectors":
            X = blobs[0]
            est = make(estimator)
        else:
            X = image_blobs[0].astype(np.float64)
            est = for_images(estimator, n_clusters=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return est.fit(X), X

    return fit


def _assert_close(actual, desired):
    np.testing.assert_allclose(actual, desired, rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_id)
def test_row_order_does_not_change_outputs(estimator, fitted):
    est, X = fitted(estimator)
    reference = est.transform(X)
    rng = np.random.default_rng(0)
    for _ in range(N_PERMUTATIONS):
        order = rng.permutation(len(X))
        _assert_close(est.transform(X[order]), reference[order])
        np.testing.assert_array_equal(est.predict(X[order]), est.labels_[order])


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_id)
def test_batch_size_and_subsets_do_not_change_outputs(estimator, fitted):
    est, X = fitted(estimator)
    reference = est.transform(X)
    for batch_size in BATCH_SIZES:
        est.set_params(inference_batch_size=batch_size)
        _assert_close(est.transform(X), reference)
    est.set_params(inference_batch_size=None)
    rng = np.random.default_rng(1)
    for _ in range(10):  # random subsets, as sklearn's subset-invariance check takes single rows
        rows = np.sort(rng.choice(len(X), size=int(rng.integers(1, len(X))), replace=False))
        _assert_close(est.transform(X[rows]), reference[rows])


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_id)
def test_thread_count_does_not_change_outputs(estimator, fitted):
    est, X = fitted(estimator)
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one_thread = est.transform(X)
        torch.set_num_threads(2)
        two_threads = est.transform(X)
    finally:
        torch.set_num_threads(previous)
    _assert_close(two_threads, one_thread)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_id)
def test_labels_equal_predict_on_the_training_data(estimator, fitted):
    est, X = fitted(estimator)
    np.testing.assert_array_equal(est.predict(X), est.labels_)
