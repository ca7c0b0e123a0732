"""Shared test configuration and tiny data sets.

torch's intra-op thread pool is limited to one thread: the networks in the
tests are tiny, and on a machine whose cores are busy with other work two
spinning OpenMP threads make a 0.05 s fit take several seconds.
"""

from __future__ import annotations

import os

import faiss
import numpy as np
import pytest
import torch
from hypothesis import settings
from sklearn.datasets import make_blobs

from deepclust_sklearn.datasets import make_image_blobs

# DEEPCLUST_TEST_TORCH_THREADS=2 runs the suite on two threads (it passes with 1 and 2)
torch.set_num_threads(int(os.environ.get("DEEPCLUST_TEST_TORCH_THREADS", "1")))

# hypothesis: CI (CI=true, as .ci/run runs) draws the same examples on every run, so a
# red CI replays; elsewhere examples are random. Both print the reproduce_failure blob
# of a failing example, which replays it exactly: @reproduce_failure(version, blob).
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="module")
def one_faiss_thread():
    """faiss on one OpenMP thread for a module (the machine is shared); restored after.

    Modules opt in with ``pytestmark = pytest.mark.usefixtures("one_faiss_thread")``.
    """
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(previous)


@pytest.fixture
def blobs():
    """60 two-dimensional vectors in 3 well separated blobs, float64."""
    X, y = make_blobs(n_samples=60, centers=3, n_features=2, random_state=0)
    return X, y


@pytest.fixture
def image_blobs():
    """40 images of shape (1, 8, 8) in 2 clusters, float32."""
    return make_image_blobs(n_samples=40, n_clusters=2, image_shape=(1, 8, 8), noise=0.1, random_state=0)


@pytest.fixture
def rgb_blobs():
    """30 images of shape (3, 6, 5) in 3 clusters, float32."""
    return make_image_blobs(n_samples=30, n_clusters=3, image_shape=(3, 6, 5), noise=0.1, random_state=0)


def _assert_valid_clustering(est, X, n_samples, n_clusters):
    """Labels consecutive from 0, int64, and consistent with predict/transform."""
    labels = est.labels_
    assert labels.shape == (n_samples,)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(np.unique(labels), np.arange(est.n_clusters_found_))
    assert 1 <= est.n_clusters_found_ <= n_clusters
    np.testing.assert_array_equal(est.predict(X), labels)
    out = est.transform(X)
    assert out.shape == (n_samples, n_clusters)
    assert np.all(out >= 0)
    np.testing.assert_array_equal(_nearest_cluster(est, out), labels)


def returns_distances(est) -> bool:
    """DeepCluster's transform gives distances to centres (like KMeans); the others probabilities."""
    from deepclust_sklearn import DeepClusterEstimator

    return isinstance(est, DeepClusterEstimator)


def _nearest_cluster(est, out):
    """The label that ``transform``'s output points to, checking its kind on the way."""
    if returns_distances(est):
        return out.argmin(axis=1)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    return out.argmax(axis=1)


@pytest.fixture
def assert_valid_clustering():
    """The check above, as a fixture (test modules do not import conftest)."""
    return _assert_valid_clustering


@pytest.fixture
def nearest_cluster():
    """``_nearest_cluster`` as a fixture."""
    return _nearest_cluster
