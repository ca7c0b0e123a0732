"""FaissKMeans and PCAWhitenL2 (deepclust_sklearn/clustering.py, whitening.py, _chunking.py)."""

from __future__ import annotations

import pickle
import re

import faiss
import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from deepclust_sklearn import FaissKMeans, PCAWhitenL2
from deepclust_sklearn import _chunking as chunking_module
from deepclust_sklearn import clustering as clustering_module

pytestmark = pytest.mark.usefixtures("one_faiss_thread")  # conftest.py


@pytest.fixture
def overlapping():
    """2,000 points in 8 dimensions from 10 overlapping blobs: k-means has many local minima."""
    X, _ = make_blobs(n_samples=2000, centers=10, n_features=8, cluster_std=3.0, random_state=1)
    return X


@parametrize_with_checks([FaissKMeans(n_clusters=3, random_state=0), PCAWhitenL2(n_components=3)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# --------------------------------------------------------------------- FaissKMeans
def test_recovers_separated_blobs():
    X, y = make_blobs(n_samples=600, centers=4, n_features=5, cluster_std=0.5, random_state=0)
    km = FaissKMeans(n_clusters=4, n_init=5, random_state=0).fit(X)
    assert adjusted_rand_score(y, km.labels_) == 1.0
    assert km.labels_.dtype == np.int64 and km.labels_.shape == (600,)
    assert km.cluster_centers_.shape == (4, 5)
    assert 1 <= km.n_iter_ <= 20
    # no fixed point within 3 iterations from random rows on overlapping data: all of them run
    X2, _ = make_blobs(n_samples=2000, centers=10, n_features=8, cluster_std=3.0, random_state=1)
    assert FaissKMeans(n_clusters=10, init="random", max_iter=3, tol=0.0, random_state=0).fit(X2).n_iter_ == 3
    assert isinstance(km.inertia_, float)


def test_inertia_close_to_sklearn(overlapping):
    ours = FaissKMeans(n_clusters=10, n_init=10, max_iter=50, random_state=0).fit(overlapping).inertia_
    ref = KMeans(n_clusters=10, n_init=10, init="random", max_iter=50, random_state=0).fit(overlapping).inertia_
    assert ours <= 1.01 * ref


def test_inertia_is_sum_of_squared_distances_to_final_centres(overlapping):
    km = FaissKMeans(n_clusters=10, max_iter=5, random_state=0).fit(overlapping)
    diff = overlapping - km.cluster_centers_[km.labels_]
    np.testing.assert_allclose(km.inertia_, (diff**2).sum(), rtol=1e-12)
    # labels_ belong to the final centres (faiss's own assignment is one step older)
    brute = ((overlapping[:, None, :] - km.cluster_centers_[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(km.labels_, brute.argmin(axis=1))
    np.testing.assert_allclose(km.inertia_, brute.min(axis=1).sum(), rtol=1e-10)


def test_predict_transform_score_consistent(overlapping):
    km = FaissKMeans(n_clusters=10, random_state=0).fit(overlapping)
    dist = km.transform(overlapping)
    assert dist.shape == (len(overlapping), 10)
    np.testing.assert_array_equal(km.predict(overlapping), km.labels_)
    np.testing.assert_array_equal(dist.argmin(axis=1), km.labels_)
    np.testing.assert_allclose((dist**2).min(axis=1).sum(), km.inertia_, rtol=1e-9)
    np.testing.assert_allclose(km.score(overlapping), -km.inertia_, rtol=1e-12)
    # Euclidean, not squared, like sklearn's KMeans.transform
    ref = np.linalg.norm(overlapping[:5, None, :] - km.cluster_centers_[None], axis=2)
    np.testing.assert_allclose(dist[:5], ref, rtol=1e-9)
    np.testing.assert_array_equal(FaissKMeans(n_clusters=10, random_state=0).fit_predict(overlapping), km.labels_)
    np.testing.assert_allclose(FaissKMeans(n_clusters=10, random_state=0).fit_transform(overlapping), dist)


def test_no_subsampling():
    # max_points_per_centroid=None trains on every point; with k=1 and 2,000
    # points the centre must be the mean of all of them after one iteration.
    X = np.random.RandomState(0).standard_exponential(size=(2000, 3))
    km = FaissKMeans(n_clusters=1, max_iter=1, max_points_per_centroid=None, random_state=0).fit(X)
    np.testing.assert_allclose(km.cluster_centers_[0], X.mean(axis=0), rtol=1e-5)
    assert km.n_iter_ == 1


def _record_faiss_calls(monkeypatch):
    """Spy on the faiss runs: rows trained on, initial centres given, the array itself."""
    calls = []
    real = clustering_module._faiss_kmeans

    def spy(X32, n_clusters, max_iter, seed, verbose, init_centers=None, tol=0.0):
        calls.append({"X": X32, "init": None if init_centers is None else init_centers.copy(), "tol": tol})
        return real(X32, n_clusters, max_iter, seed, verbose, init_centers, tol)

    monkeypatch.setattr(clustering_module, "_faiss_kmeans", spy)
    return calls


def test_subsample_then_every_row(monkeypatch):
    # 2,000 rows, k=4, 16 per centre: Lloyd on 64 sampled rows, then on all
    # 2,000 rows from those centres, then labels from the final centres.
    X = np.random.RandomState(0).standard_exponential(size=(2000, 3)).astype(np.float32)
    calls = _record_faiss_calls(monkeypatch)
    km = FaissKMeans(n_clusters=4, max_points_per_centroid=16, random_state=0).fit(X)
    assert [len(c["X"]) for c in calls] == [64, 2000]
    assert calls[1]["X"] is X  # float32 C-contiguous input goes to faiss as it is, no copy
    # the sample is distinct rows of X; the seeding picked rows of the sample
    sample = calls[0]["X"]
    assert len(np.unique(sample, axis=0)) == 64 and np.isin(sample[:, 0], X[:, 0]).all()
    assert np.isin(calls[0]["init"][:, 0], sample[:, 0]).all()
    assert calls[0]["tol"] == calls[1]["tol"] == 1e-4
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    # k=1 trained on 2 sampled rows still ends at the mean of all rows (step 4)
    km1 = FaissKMeans(n_clusters=1, max_points_per_centroid=2, random_state=0).fit(X)
    np.testing.assert_allclose(km1.cluster_centers_[0], X.mean(axis=0, dtype=np.float64), rtol=1e-5)
    # no sample when there are few rows per centre: one faiss run on all of X
    calls.clear()
    FaissKMeans(n_clusters=4, max_points_per_centroid=500, random_state=0).fit(X)
    assert len(calls) == 1 and calls[0]["X"] is X


def test_float64_input_gets_one_float32_copy(monkeypatch):
    X = np.random.RandomState(0).normal(size=(3000, 4))
    calls = _record_faiss_calls(monkeypatch)
    FaissKMeans(n_clusters=3, max_points_per_centroid=100, random_state=0).fit(X)
    assert [c["X"].dtype for c in calls] == [np.float32, np.float32]
    np.testing.assert_array_equal(calls[1]["X"], X.astype(np.float32))


def test_subsampled_fit_is_deterministic_and_seed_dependent():
    X, _ = make_blobs(n_samples=3000, centers=8, n_features=5, cluster_std=3.0, random_state=0)
    fits = [FaissKMeans(n_clusters=8, max_points_per_centroid=20, random_state=rs).fit(X) for rs in (5, 5, 6)]
    np.testing.assert_array_equal(fits[0].cluster_centers_, fits[1].cluster_centers_)
    np.testing.assert_array_equal(fits[0].labels_, fits[1].labels_)
    assert not np.array_equal(fits[0].cluster_centers_, fits[2].cluster_centers_)


def test_defaults_match_sklearn_kmeans_defaults():
    # what a user compares: both estimators at their defaults, same data
    X, _ = make_blobs(n_samples=20000, centers=40, n_features=16, cluster_std=2.0, random_state=0)
    X = X.astype(np.float32)
    ours = FaissKMeans(n_clusters=40, random_state=0).fit(X).inertia_
    ref = KMeans(n_clusters=40, random_state=0).fit(X).inertia_
    assert ours <= 1.01 * ref


def test_kmeans_plusplus_seeding():
    # one centre per well separated blob, all of them rows of X, reproducible
    X, y = make_blobs(n_samples=500, centers=6, n_features=4, cluster_std=0.3, center_box=(-50, 50), random_state=2)
    X = X.astype(np.float32)
    centers = clustering_module._kmeans_plusplus(X, 6, np.random.RandomState(0), n_local_trials=8)
    assert centers.dtype == np.float32 and centers.shape == (6, 4)
    rows = [np.flatnonzero((X == c).all(axis=1))[0] for c in centers]
    assert sorted(y[rows]) == list(range(6))
    again = clustering_module._kmeans_plusplus(X, 6, np.random.RandomState(0), n_local_trials=8)
    np.testing.assert_array_equal(centers, again)
    # 1e5 from the origin, float32 ||x||^2 - 2 x.c + ||c||^2 loses the blobs (0 of 10 seeds found
    # all six when tried without centring); the rows are centred first, so they are still found
    far = X + np.float32(1e5)
    shifted = clustering_module._kmeans_plusplus(far, 6, np.random.RandomState(0), n_local_trials=8)
    rows = [np.flatnonzero((far == c).all(axis=1))[0] for c in shifted]
    assert sorted(y[rows]) == list(range(6))
    # identical rows: potential 0 after the first centre, no error, centres are rows
    same = clustering_module._kmeans_plusplus(np.ones((10, 3), np.float32), 3, np.random.RandomState(0), 4)
    np.testing.assert_array_equal(same, np.ones((3, 3)))


def test_kmeans_plusplus_beats_random_init_on_separated_blobs():
    X, _ = make_blobs(n_samples=4000, centers=30, n_features=8, cluster_std=0.5, random_state=0)
    pp = FaissKMeans(n_clusters=30, random_state=0).fit(X).inertia_
    rnd = FaissKMeans(n_clusters=30, init="random", random_state=0).fit(X).inertia_
    assert pp < rnd


@pytest.mark.parametrize(
    "dtype, expected", [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64)]
)
def test_dtype_follows_input(dtype, expected):
    X, _ = make_blobs(n_samples=100, centers=3, n_features=4, random_state=0)
    X = (X * 10).astype(dtype)
    km = FaissKMeans(n_clusters=3, random_state=0).fit(X)
    assert km.cluster_centers_.dtype == expected
    assert km.transform(X).dtype == expected
    assert km.fit_transform(X).dtype == expected
    assert km.predict(X).dtype == np.int64


def test_same_random_state_same_result_different_differs(overlapping):
    a = FaissKMeans(n_clusters=10, random_state=7).fit(overlapping)
    b = FaissKMeans(n_clusters=10, random_state=7).fit(overlapping)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == b.inertia_
    c = FaissKMeans(n_clusters=10, random_state=8).fit(overlapping)
    assert not np.array_equal(a.cluster_centers_, c.cluster_centers_)


def test_same_result_for_one_and_two_threads(overlapping):
    results = []
    for threads in (1, 2):
        faiss.omp_set_num_threads(threads)
        results.append(FaissKMeans(n_clusters=10, random_state=3).fit(overlapping).cluster_centers_)
    faiss.omp_set_num_threads(1)
    np.testing.assert_array_equal(results[0], results[1])


def test_fit_leaves_global_random_state_alone(overlapping):
    np.random.seed(0)
    expected = np.random.random_sample()
    np.random.seed(0)
    FaissKMeans(n_clusters=10, random_state=0).fit(overlapping)
    assert np.random.random_sample() == expected


def test_n_init_keeps_the_best_run(overlapping):
    # Run i of n_init uses the i-th seed drawn from random_state; fits that
    # share one RandomState draw the same seeds one after another.
    # Random initial rows (k-means++ runs all reach the same optimum here).
    rng = np.random.RandomState(0)
    singles = [FaissKMeans(n_clusters=10, init="random", random_state=rng).fit(overlapping).inertia_ for _ in range(4)]
    best = FaissKMeans(n_clusters=10, init="random", n_init=4, random_state=np.random.RandomState(0)).fit(overlapping)
    assert best.inertia_ == min(singles)
    assert len(set(singles)) > 1  # the runs really differ on this data
    for init in ("random", "k-means++"):
        for seed in range(3):
            one = FaissKMeans(n_clusters=10, init=init, n_init=1, random_state=seed).fit(overlapping).inertia_
            many = FaissKMeans(n_clusters=10, init=init, n_init=3, random_state=seed).fit(overlapping).inertia_
            assert many <= one
    # with a subsample too: each run draws its own, the best on all rows is kept
    X, _ = make_blobs(n_samples=3000, centers=12, n_features=4, cluster_std=2.0, random_state=3)
    for seed in range(3):
        one = FaissKMeans(n_clusters=12, n_init=1, max_points_per_centroid=10, random_state=seed).fit(X).inertia_
        many = FaissKMeans(n_clusters=12, n_init=3, max_points_per_centroid=10, random_state=seed).fit(X).inertia_
        assert many <= one


def test_inputs_not_modified():
    X, _ = make_blobs(n_samples=200, centers=3, n_features=4, random_state=0)
    for X_in in (X.copy(), np.asfortranarray(X.astype(np.float32)), X[::2]):
        before = X_in.copy()
        km = FaissKMeans(n_clusters=3, random_state=0).fit(X_in)
        km.predict(X_in), km.transform(X_in), km.score(X_in)
        np.testing.assert_array_equal(X_in, before)
    readonly = X.copy()
    readonly.flags.writeable = False
    FaissKMeans(n_clusters=3, random_state=0).fit(readonly).transform(readonly)


def test_n_samples_below_n_clusters():
    X = np.random.RandomState(0).normal(size=(5, 3))
    with pytest.raises(ValueError, match=re.escape("n_samples=5 should be >= n_clusters=10.")):
        FaissKMeans(n_clusters=10).fit(X)


def test_n_samples_equal_n_clusters():
    X = np.random.RandomState(0).normal(size=(5, 3))
    km = FaissKMeans(n_clusters=5, random_state=0).fit(X)
    assert km.inertia_ == pytest.approx(0.0, abs=1e-10)
    assert sorted(km.labels_) == list(range(5))


@pytest.mark.parametrize("bad, message", [(np.nan, "Input X contains NaN"), (np.inf, "Input X contains infinity")])
def test_non_finite_input_rejected(bad, message):
    X = np.random.RandomState(0).normal(size=(20, 3))
    X[3, 1] = bad
    with pytest.raises(ValueError, match=message):
        FaissKMeans(n_clusters=2).fit(X)
    km = FaissKMeans(n_clusters=2, random_state=0).fit(np.nan_to_num(X, posinf=0.0))
    with pytest.raises(ValueError, match=message):
        km.predict(X)


def test_values_beyond_float32_rejected():
    X = np.random.RandomState(0).normal(size=(20, 3))
    X[0, 0] = 1e300
    with pytest.raises(ValueError, match="too large for float32"):
        FaissKMeans(n_clusters=2).fit(X)


def test_wrong_feature_count_at_predict():
    X = np.random.RandomState(0).normal(size=(20, 3))
    km = FaissKMeans(n_clusters=2, random_state=0).fit(X)
    msg = "X has 4 features, but FaissKMeans is expecting 3 features as input."
    for method in (km.predict, km.transform, km.score):
        with pytest.raises(ValueError, match=msg):
            method(np.zeros((5, 4)))


def test_parameter_errors():
    X = np.random.RandomState(0).normal(size=(20, 3))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "The 'n_clusters' parameter of FaissKMeans must be an int in the range [1, inf). Got 0 instead."
        ),
    ):
        FaissKMeans(n_clusters=0).fit(X)
    with pytest.raises(ValueError, match="The 'max_iter' parameter of FaissKMeans"):
        FaissKMeans(max_iter=0).fit(X)
    with pytest.raises(ValueError, match="The 'n_init' parameter of FaissKMeans"):
        FaissKMeans(n_init=0).fit(X)


@pytest.mark.parametrize(
    "params, message",
    [
        # the options are a set: printed in either order
        ({"init": "kmeans++"}, "The 'init' parameter of FaissKMeans must be a str among {'"),
        ({"init": "kmeans++"}, "'k-means++'"),
        ({"init": "kmeans++"}, "'random'"),
        ({"init": "kmeans++"}, "'}. Got 'kmeans++' instead."),
        ({"init": None}, "'}. Got None instead."),
        (
            {"tol": -1e-4},
            "The 'tol' parameter of FaissKMeans must be a float in the range [0.0, 1.0). Got -0.0001 instead.",
        ),
        ({"tol": 1.0}, "The 'tol' parameter of FaissKMeans must be a float in the range [0.0, 1.0). Got 1.0 instead."),
        (
            {"tol": "0.01"},
            "The 'tol' parameter of FaissKMeans must be a float in the range [0.0, 1.0). Got '0.01' instead.",
        ),
        (
            {"max_points_per_centroid": 0},
            "The 'max_points_per_centroid' parameter of FaissKMeans must be an int in the range [1, 2147483647] or None. Got 0 instead.",
        ),
        (
            {"max_points_per_centroid": 2.5},
            "The 'max_points_per_centroid' parameter of FaissKMeans must be an int in the range [1, 2147483647] or None. Got 2.5 instead.",
        ),
        (
            {"max_points_per_centroid": 2**31},
            "The 'max_points_per_centroid' parameter of FaissKMeans must be an int in the range [1, 2147483647] or None. Got 2147483648 instead.",
        ),
    ],
)
def test_new_parameter_errors(params, message):
    X = np.random.RandomState(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=re.escape(message)):
        FaissKMeans(n_clusters=2, **params).fit(X)


def test_parameter_edges_accepted():
    X = np.random.RandomState(0).normal(size=(50, 3))
    for params in ({"tol": 0.0}, {"tol": 0.5}, {"max_points_per_centroid": 1}, {"max_points_per_centroid": None}):
        km = FaissKMeans(n_clusters=3, random_state=0, **params).fit(X)
        np.testing.assert_array_equal(km.predict(X), km.labels_)


def test_faiss_errors_become_value_errors(monkeypatch):
    class Broken:
        def __init__(self, *args):
            self.centroids = faiss.Float32Vector()  # k-means++ centres are copied in here

        def train(self, *args):
            raise RuntimeError("Error in faiss::Clustering::train: something")

    monkeypatch.setattr(faiss, "Clustering", Broken)
    with pytest.raises(
        ValueError, match=r"faiss k-means failed on X of shape \(20, 3\) with n_clusters=2: Error in faiss"
    ):
        FaissKMeans(n_clusters=2).fit(np.random.RandomState(0).normal(size=(20, 3)))


def test_small_data_prints_nothing(capfd):
    X = np.random.RandomState(0).normal(size=(12, 3))
    FaissKMeans(n_clusters=4, random_state=0).fit(X)
    FaissKMeans(n_clusters=12, random_state=0).fit(X)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    # the capture does see faiss's C-level output when it is asked for
    FaissKMeans(n_clusters=4, max_iter=2, random_state=0, verbose=1).fit(X)
    out, err = capfd.readouterr()
    assert "Iteration" in out + err


def test_batched_predict_and_transform_match(monkeypatch, overlapping):
    km = FaissKMeans(n_clusters=10, random_state=0).fit(overlapping)
    labels, dist, score = km.predict(overlapping), km.transform(overlapping), km.score(overlapping)
    monkeypatch.setattr(chunking_module, "_MAX_CHUNK_ROWS", 37)
    assert chunking_module._chunk_rows(10) == 37
    np.testing.assert_array_equal(km.predict(overlapping), labels)
    np.testing.assert_allclose(km.transform(overlapping), dist, rtol=1e-12)
    np.testing.assert_allclose(km.score(overlapping), score, rtol=1e-12)
    monkeypatch.setattr(chunking_module, "_CHUNK_VALUES", 50)
    assert chunking_module._chunk_rows(10) == 5 and chunking_module._chunk_rows(100) == 1
    np.testing.assert_array_equal(km.predict(overlapping), labels)
    np.testing.assert_allclose(km.transform(overlapping), dist, rtol=1e-12)


def test_feature_names_out_and_pickle(overlapping):
    km = FaissKMeans(n_clusters=3, random_state=0).fit(overlapping)
    assert list(km.get_feature_names_out()) == ["faisskmeans0", "faisskmeans1", "faisskmeans2"]
    restored = pickle.loads(pickle.dumps(km))
    np.testing.assert_array_equal(restored.predict(overlapping), km.labels_)


def test_pipeline_with_pca_whitening(overlapping):
    pipe = make_pipeline(PCAWhitenL2(n_components=4), FaissKMeans(n_clusters=5, random_state=0))
    labels = pipe.fit_predict(overlapping)
    np.testing.assert_array_equal(pipe.predict(overlapping), labels)
    assert pipe.transform(overlapping).shape == (len(overlapping), 5)


# --------------------------------------------------------------------- PCAWhitenL2
@pytest.fixture
def correlated():
    rng = np.random.RandomState(0)
    mixing = rng.normal(size=(6, 6))
    return rng.normal(size=(500, 6)) @ mixing + rng.normal(size=6) * 5


def test_rows_have_unit_norm(correlated):
    Z = PCAWhitenL2(n_components=4).fit_transform(correlated)
    assert Z.shape == (500, 4)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, rtol=1e-12)


def test_whitened_covariance_is_identity(correlated):
    Z = PCAWhitenL2(n_components=4, l2_normalize=False).fit_transform(correlated)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.eye(4), atol=1e-5)


def test_without_whitening_variances_are_eigenvalues(correlated):
    est = PCAWhitenL2(n_components=6, whiten=False, l2_normalize=False).fit(correlated)
    Z = est.transform(correlated)
    eig = np.sort(np.linalg.eigvalsh(np.cov(correlated, rowvar=False)))[::-1]
    np.testing.assert_allclose(est.explained_variance_, eig, rtol=1e-10)
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.diag(eig), atol=1e-8 * eig[0])
    np.testing.assert_allclose(est.explained_variance_ratio_.sum(), 1.0)


def test_matches_formula_and_sklearn_pca(correlated):
    est = PCAWhitenL2(n_components=3, eps=1e-3).fit(correlated)
    lam, U, mu = est.explained_variance_, est.components_.T, est.mean_
    expected = ((correlated - mu) @ U) / np.sqrt(lam + 1e-3)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(est.transform(correlated), expected, rtol=1e-10)
    # same subspace and variances as sklearn's PCA, up to the sign of each axis
    pca = PCA(n_components=3, whiten=True, svd_solver="full").fit(correlated)
    np.testing.assert_allclose(est.explained_variance_, pca.explained_variance_, rtol=1e-8)
    np.testing.assert_allclose(np.abs(est.components_), np.abs(pca.components_), atol=1e-8)
    plain = PCAWhitenL2(n_components=3, eps=0.0, l2_normalize=False).fit_transform(correlated)
    np.testing.assert_allclose(np.abs(plain), np.abs(pca.transform(correlated)), rtol=1e-6, atol=1e-8)
    # deterministic signs: the largest-magnitude entry of each axis is positive
    rows = np.arange(3)
    assert np.all(est.components_[rows, np.abs(est.components_).argmax(axis=1)] > 0)


@pytest.mark.parametrize("shape, expected", [((50, 5), 5), ((4, 10), 4), ((50, 300), 50)])
def test_n_components_capped(shape, expected):
    X = np.random.RandomState(0).normal(size=shape)
    est = PCAWhitenL2().fit(X)
    assert est.n_components == 256
    assert est.n_components_ == expected
    assert est.components_.shape == (expected, shape[1])
    assert est.transform(X).shape == (shape[0], expected)
    assert len(est.get_feature_names_out()) == expected


@pytest.mark.parametrize(
    "dtype, expected", [(np.float32, np.float32), (np.float64, np.float64), (np.int32, np.float64)]
)
def test_pca_dtype_preserved(dtype, expected, correlated):
    X = correlated.astype(dtype)
    est = PCAWhitenL2(n_components=3)
    assert est.fit_transform(X).dtype == expected
    assert est.transform(X).dtype == expected


def test_pca_feature_names_out(correlated):
    est = PCAWhitenL2(n_components=3).fit(correlated)
    assert list(est.get_feature_names_out()) == ["pcawhitenl20", "pcawhitenl21", "pcawhitenl22"]


def test_constant_data_gives_zeros_not_nan():
    X = np.ones((10, 4))
    with np.errstate(all="raise"):
        Z = PCAWhitenL2(n_components=2).fit_transform(X)
    np.testing.assert_array_equal(Z, 0.0)


def test_pca_batched_transform_and_unchanged_input(monkeypatch, correlated):
    before = correlated.copy()
    est = PCAWhitenL2(n_components=4).fit(correlated)
    Z = est.transform(correlated)
    monkeypatch.setattr(chunking_module, "_MAX_CHUNK_ROWS", 23)
    np.testing.assert_allclose(PCAWhitenL2(n_components=4).fit(correlated).transform(correlated), Z, rtol=1e-10)
    np.testing.assert_array_equal(correlated, before)


def test_pca_errors(correlated):
    with pytest.raises(ValueError, match="while a minimum of 2 is required by PCAWhitenL2"):
        PCAWhitenL2().fit(correlated[:1])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        PCAWhitenL2().fit(np.where(np.eye(500, 6) == 1, np.nan, correlated))
    with pytest.raises(
        ValueError,
        match=re.escape("The 'eps' parameter of PCAWhitenL2 must be a float in the range [0.0, inf). Got -1 instead."),
    ):
        PCAWhitenL2(eps=-1).fit(correlated)
    est = PCAWhitenL2(n_components=2).fit(correlated)
    with pytest.raises(ValueError, match="X has 5 features, but PCAWhitenL2 is expecting 6 features as input."):
        est.transform(correlated[:, :5])


# ---------------------------------------------------------------- values beyond float32 / float64


def test_faiss_kmeans_values_beyond_float32():
    X = make_blobs(n_samples=30, centers=3, n_features=4, random_state=0)[0]
    huge = X.copy()
    huge[0, 0] = 1e39
    with pytest.raises(
        ValueError, match=r"too large for float32 \(\|x\| > 3\.4e38\); faiss computes in float32, rescale X"
    ):
        FaissKMeans(n_clusters=3, random_state=0).fit(huge)
    km = FaissKMeans(n_clusters=3, random_state=0).fit(X)
    with pytest.raises(
        ValueError, match=r"too large for float32 \(\|x\| > 3\.4e38\), the precision the centres were fitted in"
    ):
        km.predict(huge)


def test_pca_whiten_overflowing_covariance_and_projection():
    X = make_blobs(n_samples=30, centers=3, n_features=8, random_state=0)[0]
    with pytest.raises(ValueError, match=r"its covariance overflows float64 \(inf\); rescale X"):
        PCAWhitenL2(n_components=2).fit(np.vstack([X, np.full((1, 8), 1e200)]))
    pca = PCAWhitenL2(n_components=8).fit(X)
    with pytest.raises(ValueError, match=r"its projection overflows float64 \(inf\); rescale X"):
        pca.transform(np.full((2, 8), 1e300))


def test_pca_whiten_l2_keeps_rows_at_the_mean_at_zero():
    """Identical rows (up to float64 rounding) stay at 0 instead of becoming random unit vectors."""
    row = np.array([0.3, -0.1, 0.7, 0.2])
    X = np.tile(row, (10, 1))
    X[-2:] += 1e-16 * np.array([1.0, -1.0, 1.0, 0.0])  # the residue a float64 network leaves
    Z = PCAWhitenL2(n_components=2).fit_transform(X)
    np.testing.assert_array_equal(Z, 0.0)
    # genuine rows keep unit norm, even close to one another (1e-6 apart, as float32 features can be)
    Y = np.random.default_rng(0).normal(size=(20, 4)) * 1e-6 + row
    np.testing.assert_allclose(np.linalg.norm(PCAWhitenL2(n_components=2).fit_transform(Y), axis=1), 1.0)


def test_pca_whiten_l2_few_samples_matches_the_covariance_route():
    """With fewer samples than features the axes come from an SVD; they equal the covariance's."""
    X = np.random.default_rng(1).normal(size=(12, 30))
    few = PCAWhitenL2(n_components=5).fit(X)
    cov = np.cov(X.T)
    eigvals, eigvecs = np.linalg.eigh(cov)
    np.testing.assert_allclose(few.explained_variance_, eigvals[::-1][:5], rtol=1e-10)
    np.testing.assert_allclose(np.abs(few.components_ @ eigvecs[:, ::-1][:, :5]), np.eye(5), atol=1e-8)


def test_pca_whiten_overflow_with_fewer_samples_than_features():
    """The SVD route (n_samples < n_features) rejects overflowing rows with the covariance route's message."""
    X = np.random.default_rng(0).normal(size=(5, 12))
    X[0, 0] = 1e200
    with pytest.raises(ValueError, match=r"its covariance overflows float64 \(inf\); rescale X"):
        PCAWhitenL2(n_components=2).fit(X)
