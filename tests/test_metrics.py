"""Property tests for deepclust_sklearn.metrics (in the style of
sklearn/metrics/cluster/tests/test_common.py)."""

import itertools

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.model_selection import GridSearchCV

import deepclust_sklearn.metrics as dm
from deepclust_sklearn.metrics import (
    adjusted_rand_score,
    ari_scorer,
    clustering_accuracy,
    clustering_accuracy_scorer,
    clustering_scores,
    hungarian_match,
    nmi_scorer,
    normalized_mutual_info_score,
)

METRICS = {
    "acc": clustering_accuracy,
    "nmi": normalized_mutual_info_score,
    "ari": adjusted_rand_score,
}
metric_param = pytest.mark.parametrize("metric", list(METRICS.values()), ids=list(METRICS))
SYMMETRIC = metric_param  # all three are symmetric (see test_symmetry_*)

N_TRIALS = 50


def _random_labels(rng, n_samples, n_classes):
    return rng.integers(0, n_classes, size=n_samples)


def _random_relabel(rng, labels):
    """Relabel with a random bijection onto fresh (shifted) integer labels."""
    uniques = np.unique(labels)
    perm = rng.permutation(len(uniques)) + 100
    lookup = dict(zip(uniques.tolist(), perm.tolist()))
    return np.array([lookup[v] for v in labels.tolist()])


def _brute_force_accuracy(y_true, y_pred):
    """Max accuracy over all injective class<->cluster matchings."""
    classes = sorted(set(y_true))
    clusters = sorted(set(y_pred))
    pairs = list(zip(y_true, y_pred))
    best = 0
    if len(clusters) <= len(classes):
        for image in itertools.permutations(classes, len(clusters)):
            mapping = dict(zip(clusters, image))
            best = max(best, sum(mapping[p] == t for t, p in pairs))
    else:
        for image in itertools.permutations(clusters, len(classes)):
            mapping = dict(zip(classes, image))  # class -> cluster
            best = max(best, sum(mapping[t] == p for t, p in pairs))
    return best / len(pairs)


# --------------------------------------------------------------------------
# Properties shared by the family
# --------------------------------------------------------------------------


@metric_param
@pytest.mark.parametrize("seed", range(5))
def test_permutation_invariance(metric, seed):
    rng = np.random.default_rng(seed)
    for _ in range(N_TRIALS // 5):
        y_true = _random_labels(rng, 30, rng.integers(1, 6))
        y_pred = _random_labels(rng, 30, rng.integers(1, 6))
        score = metric(y_true, y_pred)
        assert metric(y_true, _random_relabel(rng, y_pred)) == pytest.approx(score)
        assert metric(_random_relabel(rng, y_true), y_pred) == pytest.approx(score)
        assert metric(_random_relabel(rng, y_true), _random_relabel(rng, y_pred)) == pytest.approx(score)


@SYMMETRIC
@pytest.mark.parametrize("seed", range(5))
def test_symmetry_equal_label_set_sizes(metric, seed):
    rng = np.random.default_rng(seed)
    for _ in range(N_TRIALS // 5):
        k = int(rng.integers(1, 6))
        y_true = rng.permutation(np.resize(np.arange(k), 40))
        y_pred = rng.permutation(np.resize(np.arange(k), 40))
        assert len(np.unique(y_true)) == len(np.unique(y_pred)) == k
        assert metric(y_true, y_pred) == pytest.approx(metric(y_pred, y_true))


@SYMMETRIC
@pytest.mark.parametrize("seed", range(5))
def test_symmetry_unequal_label_set_sizes(metric, seed):
    # NMI and ARI are symmetric. ACC is too: the maximum-weight matching of
    # the bipartite class/cluster graph does not depend on which side is
    # called "true", even when the two sides have different sizes.
    rng = np.random.default_rng(100 + seed)
    for _ in range(N_TRIALS // 5):
        y_true = _random_labels(rng, 40, 2)
        y_pred = _random_labels(rng, 40, 5)
        assert metric(y_true, y_pred) == pytest.approx(metric(y_pred, y_true))


@pytest.mark.parametrize("seed", range(5))
def test_bounds_on_random_labelings(seed):
    rng = np.random.default_rng(seed)
    for _ in range(N_TRIALS):
        n = int(rng.integers(1, 60))
        y_true = _random_labels(rng, n, rng.integers(1, 8))
        y_pred = _random_labels(rng, n, rng.integers(1, 8))
        acc = clustering_accuracy(y_true, y_pred)
        nmi = normalized_mutual_info_score(y_true, y_pred)
        ari = adjusted_rand_score(y_true, y_pred)
        assert 0.0 <= acc <= 1.0
        assert -1e-12 <= nmi <= 1.0 + 1e-12
        assert ari <= 1.0 + 1e-12
        # ACC is at least the share of the largest class/cluster overlap.
        assert acc >= 1.0 / n - 1e-12


@metric_param
@pytest.mark.parametrize(
    "labels",
    [
        [0, 0, 1, 1, 2, 2],
        ["a", "b", "c", "a"],
        [5],
        [3, 3, 3, 3],
        np.arange(10),
    ],
)
def test_perfect_labelling(metric, labels):
    assert metric(labels, labels) == pytest.approx(1.0)
    # a relabelled copy is also perfect
    relabelled = [f"cluster-{v}" for v in np.asarray(labels).tolist()]
    assert metric(labels, relabelled) == pytest.approx(1.0)


@metric_param
@pytest.mark.parametrize("seed", range(3))
def test_format_invariance(metric, seed):
    rng = np.random.default_rng(seed)
    y_true = _random_labels(rng, 25, 4)
    y_pred = _random_labels(rng, 25, 3)
    expected = metric(y_true, y_pred)

    def variants(y):
        return [
            y,
            y.tolist(),
            tuple(y.tolist()),
            y.astype(np.int8),
            y.astype(np.float64),
            y.astype(object),
            np.array([f"lbl{v}" for v in y]),
            [f"lbl{v}" for v in y],
        ]

    for yt, yp in itertools.product(variants(y_true), variants(y_pred)):
        assert metric(yt, yp) == pytest.approx(expected)
    assert isinstance(expected, float)


@metric_param
def test_mixed_type_labels_are_not_conflated(metric):
    # numpy would coerce [1, "1"] to ["1", "1"]; they are distinct labels.
    assert metric([1, "1", 1, "1"], [0, 1, 0, 1]) == pytest.approx(1.0)


# --------------------------------------------------------------------------
# Input validation: identical behaviour for all three metrics
# --------------------------------------------------------------------------


@metric_param
@pytest.mark.parametrize(
    "y_true, y_pred, message",
    [
        (
            [0, 1, 1, 0, 1],
            [0, 1, 1, 0],
            r"labels_true and labels_pred must have the same length; "
            r"got 5 and 4\.",
        ),
        (
            [0, 1, 1],
            [0.0, np.nan, 1.0],
            r"labels_pred contains NaN; cluster labels must be finite values "
            r"\(ints or strings\)\.",
        ),
        (
            np.array([0.0, 1.0, np.nan]),
            [0, 1, 1],
            r"labels_true contains NaN; cluster labels must be finite",
        ),
        (
            [0, 1, 1],
            ["a", float("nan"), "b"],
            r"labels_pred contains NaN",
        ),
        (
            np.zeros((3, 2)),
            [0, 1, 1],
            r"labels_true must be 1-D; got an array of shape \(3, 2\)\. "
            r"Pass one label per sample\.",
        ),
        (
            [0, 1, 1],
            [[0], [1], [1]],
            r"labels_pred must be 1-D; got an array of shape \(3, 1\)",
        ),
        (5, [0], r"labels_true must be 1-D; got an array of shape \(\)"),
        ([], [], r"labels_true is empty; pass at least one label"),
        ([0, 1], [], r"labels_pred is empty; pass at least one label"),
        ([0, None, 1], [0, 1, 1], r"labels_true contains None"),
        (["a", "b", None], [0, 1, 1], r"labels_true contains None"),
        (None, [0, 1], r"labels_true is None"),
        ([0, 1], [0, np.inf], r"labels_pred contains infinite values"),
        ([0, 1], [1j, 2j], r"labels_pred has complex dtype"),
        (
            np.array([{}, 1], dtype=object),
            [0, 1],
            r"labels_true contains an unhashable label of type dict",
        ),
        ([[0, 1], [2]], [0, 1], r"labels_true could not be converted"),
    ],
)
def test_invalid_inputs_raise(metric, y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        metric(y_true, y_pred)


@pytest.mark.parametrize("func", [hungarian_match, clustering_scores], ids=["match", "scores"])
def test_invalid_inputs_raise_helpers(func):
    with pytest.raises(ValueError, match="must have the same length; got 3 and 2"):
        func([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="labels_pred contains NaN"):
        func([0, 1], [0.0, np.nan])


@metric_param
def test_inputs_not_modified(metric):
    rng = np.random.default_rng(0)
    arrays = [
        (_random_labels(rng, 20, 3), _random_labels(rng, 20, 4)),
        (
            _random_labels(rng, 20, 3).astype(float),
            _random_labels(rng, 20, 2).astype(object),
        ),
        (np.array(list("abcabcabca")), np.array(list("xyzzyxxyzz"))),
    ]
    for y_true, y_pred in arrays:
        t_copy, p_copy = y_true.copy(), y_pred.copy()
        metric(y_true, y_pred)
        np.testing.assert_array_equal(y_true, t_copy)
        np.testing.assert_array_equal(y_pred, p_copy)
        assert y_true.dtype == t_copy.dtype and y_pred.dtype == p_copy.dtype
    lt, lp = [0, 1, 1, 2], ["b", "a", "a", "b"]
    metric(lt, lp)
    assert lt == [0, 1, 1, 2] and lp == ["b", "a", "a", "b"]


@pytest.mark.parametrize("metric", [normalized_mutual_info_score, adjusted_rand_score], ids=["nmi", "ari"])
@pytest.mark.parametrize("seed", range(3))
def test_wrappers_agree_with_sklearn(metric, seed):
    rng = np.random.default_rng(seed)
    y_true = _random_labels(rng, 50, 4)
    y_pred = _random_labels(rng, 50, 6)
    sk = getattr(skm, metric.__name__)
    assert metric(y_true, y_pred) == pytest.approx(sk(y_true, y_pred))


# --------------------------------------------------------------------------
# clustering_accuracy / hungarian_match specifics
# --------------------------------------------------------------------------


def test_known_value():
    y_true = [0, 0, 1, 1, 2, 2]
    y_pred = [1, 1, 0, 0, 0, 2]
    assert clustering_accuracy(y_true, y_pred) == pytest.approx(5 / 6)
    assert hungarian_match(y_true, y_pred) == {1: 0, 0: 1, 2: 2}


def test_known_values_unequal_sizes():
    # more clusters than classes: cluster 2 is unmatched, its sample is wrong
    assert clustering_accuracy([0, 0, 1, 1], [0, 0, 1, 2]) == pytest.approx(3 / 4)
    # fewer clusters than classes: class 2 is unmatched, its sample is wrong
    assert clustering_accuracy([0, 0, 1, 2], [0, 0, 1, 1]) == pytest.approx(3 / 4)
    # single cluster: accuracy is the share of the largest class
    assert clustering_accuracy([0, 0, 0, 1, 2], [7] * 5) == pytest.approx(3 / 5)


@pytest.mark.parametrize(
    "n_classes, n_clusters",
    [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (2, 4), (3, 5), (2, 6), (4, 2), (5, 3), (6, 2), (3, 1), (1, 3)],
)
def test_accuracy_matches_brute_force(n_classes, n_clusters):
    rng = np.random.default_rng(1000 * n_classes + n_clusters)
    for _ in range(10):
        n = int(rng.integers(max(n_classes, n_clusters), 25))
        # make sure every class / cluster appears at least once
        y_true = rng.permutation(np.concatenate([np.arange(n_classes), rng.integers(0, n_classes, n - n_classes)]))
        y_pred = rng.permutation(np.concatenate([np.arange(n_clusters), rng.integers(0, n_clusters, n - n_clusters)]))
        expected = _brute_force_accuracy(y_true.tolist(), y_pred.tolist())
        assert clustering_accuracy(y_true, y_pred) == pytest.approx(expected)


def _accuracy_from_mapping(y_true, y_pred, mapping):
    hits = [mapping.get(p, object()) == t for t, p in zip(y_true, y_pred)]
    return float(np.mean(hits))


@pytest.mark.parametrize("seed", range(5))
def test_hungarian_match_is_injective_and_optimal(seed):
    rng = np.random.default_rng(seed)
    for _ in range(N_TRIALS // 5):
        k_true, k_pred = int(rng.integers(1, 7)), int(rng.integers(1, 7))
        y_true = [f"class{v}" for v in _random_labels(rng, 40, k_true)]
        y_pred = _random_labels(rng, 40, k_pred)
        mapping = hungarian_match(y_true, y_pred)
        assert set(mapping) <= set(y_pred.tolist())
        assert set(mapping.values()) <= set(y_true)
        assert len(set(mapping.values())) == len(mapping)  # injective
        assert len(mapping) == min(len(set(y_true)), len(set(y_pred.tolist())))
        acc = _accuracy_from_mapping(y_true, y_pred.tolist(), mapping)
        assert acc == pytest.approx(clustering_accuracy(y_true, y_pred))
        # keys and values are plain Python objects
        assert all(type(k) is int for k in mapping)
        assert all(type(v) is str for v in mapping.values())


def test_clustering_scores():
    rng = np.random.default_rng(0)
    y_true = _random_labels(rng, 30, 3)
    y_pred = _random_labels(rng, 30, 4)
    scores = clustering_scores(y_true, y_pred)
    assert list(scores) == ["acc", "nmi", "ari"]
    assert all(type(v) is float for v in scores.values())
    assert scores["acc"] == clustering_accuracy(y_true, y_pred)
    assert scores["nmi"] == normalized_mutual_info_score(y_true, y_pred)
    assert scores["ari"] == adjusted_rand_score(y_true, y_pred)


# --------------------------------------------------------------------------
# Scorers
# --------------------------------------------------------------------------


def test_scorers_in_grid_search():
    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    search = GridSearchCV(
        KMeans(n_init=1, random_state=0),
        {"n_clusters": [2, 3]},
        scoring={
            "acc": clustering_accuracy_scorer,
            "nmi": nmi_scorer,
            "ari": ari_scorer,
        },
        refit="acc",
        cv=2,
    )
    search.fit(X, y)
    assert search.best_params_ == {"n_clusters": 3}
    for key in ("acc", "nmi", "ari"):
        assert np.all(np.isfinite(search.cv_results_[f"mean_test_{key}"]))


def test_scorers_mixed_with_string_scoring():
    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    search = GridSearchCV(
        KMeans(n_init=1, random_state=0),
        {"n_clusters": [2, 3]},
        scoring={
            "acc": clustering_accuracy_scorer,
            "nmi": "normalized_mutual_info_score",
        },
        refit="acc",
        cv=2,
    )
    search.fit(X, y)
    assert search.best_params_ == {"n_clusters": 3}


@pytest.mark.parametrize(
    "scorer, metric",
    [
        (clustering_accuracy_scorer, clustering_accuracy),
        (nmi_scorer, normalized_mutual_info_score),
        (ari_scorer, adjusted_rand_score),
    ],
    ids=["acc", "nmi", "ari"],
)
def test_scorer_value_equals_metric(scorer, metric):
    X, y = make_blobs(n_samples=60, centers=3, random_state=0)
    est = KMeans(n_clusters=3, n_init=1, random_state=0).fit(X)
    assert scorer(est, X, y) == pytest.approx(metric(y, est.predict(X)))
    assert scorer._sign == 1  # greater is better


# --------------------------------------------------------------------------
# API surface and docs
# --------------------------------------------------------------------------


def test_public_api():
    assert sorted(dm.__all__) == sorted(
        [
            "adjusted_rand_score",
            "ari_scorer",
            "clustering_accuracy",
            "clustering_accuracy_scorer",
            "clustering_scores",
            "hungarian_match",
            "nmi_scorer",
            "normalized_mutual_info_score",
        ]
    )
    for name in dm.__all__:
        obj = getattr(dm, name)
        doc = obj.__doc__ or ""
        for section in ("Parameters", "Returns", "See Also", "References", "Examples"):
            assert section in doc, (name, section)


# ---------------------------------------------------------------- label kinds rejected with their fix


@metric_param
@pytest.mark.parametrize(
    "bad, message",
    [
        (
            np.array([0.0, 0.5, 1.0]),
            r"labels_pred contains non-integer floats \(e\.g\. 0\.5\); .* not scores or probabilities",
        ),
        ([0.0, 0.5, 1.0], r"labels_pred contains non-integer floats \(e\.g\. 0\.5\); .* not scores or probabilities"),
        (
            np.ma.masked_array([0, 1, 1], mask=[0, 1, 0]),
            r"labels_pred contains masked \(missing\) values; .* Drop unlabelled",
        ),
        (
            np.array(["2020-01-01", "NaT", "2020-01-02"], dtype="datetime64[D]"),
            r"labels_pred contains NaT; every sample needs a label",
        ),
    ],
    ids=["float-array", "float-list", "masked", "nat"],
)
def test_labels_that_are_not_labels(metric, bad, message):
    with pytest.raises(ValueError, match=message):
        metric([0, 1, 1], bad)


@metric_param
def test_sparse_labels(metric):
    import scipy.sparse as sp

    with pytest.raises(
        ValueError, match=r"labels_pred is a sparse matrix; pass a dense 1-D array .*toarray\(\)\.ravel\(\)"
    ):
        metric([0, 1, 1], sp.csr_matrix(np.array([[0, 1, 1]])))
