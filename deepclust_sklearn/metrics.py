"""Metrics for evaluating clusterings against ground-truth classes.

The deep-clustering literature (DEC, IIC, DAC, DeepCluster) reports three
external metrics: the unsupervised clustering accuracy (ACC), the normalized
mutual information (NMI) and the adjusted Rand index (ARI). This module
provides all three behind one input validation, plus scikit-learn scorers so
that clusterers can be tuned with :class:`~sklearn.model_selection.GridSearchCV`.
"""

__all__ = [
    "adjusted_rand_score",
    "ari_scorer",
    "clustering_accuracy",
    "clustering_accuracy_scorer",
    "clustering_scores",
    "hungarian_match",
    "nmi_scorer",
    "normalized_mutual_info_score",
]

import math
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse as _sparse
from scipy.optimize import linear_sum_assignment
from sklearn import metrics as _skm
from sklearn.metrics import make_scorer
from sklearn.utils._param_validation import StrOptions, validate_params

_IntArray = NDArray[np.intp]

# ------------------------------------------------------------------ docstrings
# Docstring parts shared by the metrics: the label parameters, their errors, ACC's references.
_LABEL_DOCS = {
    "{labels}": """labels_true : array-like of shape (n_samples,)
        Ground-truth class labels: integers, strings or other hashable values (floats must
        be whole numbers; probabilities or scores are rejected).
    labels_pred : array-like of shape (n_samples,)
        Cluster labels: integers, strings or other hashable values (floats must
        be whole numbers; probabilities or scores are rejected).""",
    "{raises}": """Raises
    ------
    ValueError
        If the labelings are not 1-D, are empty, have different lengths, or
        contain NaN or None.""",
    "{accuracy_references}": """References
    ----------
    .. [1] H. W. Kuhn, "The Hungarian method for the assignment problem",
       Naval Research Logistics Quarterly, 2(1-2):83-97, 1955.
    .. [2] J. Xie, R. Girshick and A. Farhadi, "Unsupervised deep embedding
       for clustering analysis", ICML 2016 (DEC).""",
}
# Every metric takes the two labelings; they are checked by _check_clusterings.
_LABEL_CONSTRAINTS: dict = {"labels_true": "no_validation", "labels_pred": "no_validation"}


def _metric(extra_constraints: dict | None = None) -> Callable:
    """Decorate a public metric: fill in the shared docstring parts, then ``validate_params``."""

    def decorate(func: Callable) -> Callable:
        for placeholder, text in _LABEL_DOCS.items():
            func.__doc__ = func.__doc__.replace(placeholder, text)
        constraints = {**_LABEL_CONSTRAINTS, **(extra_constraints or {})}
        return validate_params(constraints, prefer_skip_nested_validation=True)(func)

    return decorate


# ---------------------------------------------------------------- validation
def _missing_label(name: str, what: str) -> ValueError:
    return ValueError(
        f"{name} contains {what}; every sample needs a label. Drop unlabelled samples or give them an explicit label."
    )


def _not_whole_error(name: str, value: float) -> ValueError:
    """The error for a float label that is NaN, infinite or fractional."""
    if math.isnan(value):
        return ValueError(f"{name} contains NaN; cluster labels must be finite values (ints or strings).")
    if math.isinf(value):
        return ValueError(f"{name} contains infinite values; cluster labels must be finite values (ints or strings).")
    return ValueError(
        f"{name} contains non-integer floats (e.g. {value!r}); cluster labels must be ints or strings. "
        "Pass labels, not scores or probabilities."
    )


def _as_label_array(labels: ArrayLike, name: str) -> np.ndarray:
    """``labels`` as a non-empty 1-D array: mixed lists as objects, never modified."""
    if labels is None:
        raise ValueError(f"{name} is None; pass an array-like with one label per sample.")
    if _sparse.issparse(labels):
        raise ValueError(
            f"{name} is a sparse matrix; pass a dense 1-D array with one label "
            "per sample (e.g. labels.toarray().ravel())."
        )
    if np.ma.isMaskedArray(labels) and np.ma.getmaskarray(labels).any():
        raise _missing_label(name, "masked (missing) values")
    try:
        arr = np.asarray(labels)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{name} could not be converted to a 1-D array ({exc}). Pass one hashable label per sample."
        ) from exc
    if not isinstance(labels, np.ndarray) and arr.dtype.kind in "US" and arr.ndim == 1:
        # numpy would coerce mixed lists such as [1, "1"] or ["a", nan] to
        # strings; encode the original Python objects instead.
        arr = np.empty(len(arr), dtype=object)
        arr[:] = list(labels)
    if arr.ndim != 1:
        source = "" if arr.ndim else f" (from a {type(labels).__name__})"
        raise ValueError(f"{name} must be 1-D; got an array of shape {arr.shape}{source}. Pass one label per sample.")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty; pass at least one label (one label per sample).")
    return arr


def _encode_labels(labels: ArrayLike, name: str) -> tuple[_IntArray, list[Hashable]]:
    """Validate one label array and encode it as integer codes.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
        Labels to validate. Never modified.
    name : str
        Name of the argument, used in error messages.

    Returns
    -------
    codes : ndarray of shape (n_samples,), dtype intp
        ``codes[i]`` is the index of ``labels[i]`` in ``uniques``.
    uniques : list
        Distinct labels, as Python objects.
    """
    arr = _as_label_array(labels, name)
    kind = arr.dtype.kind
    if kind == "c":
        raise ValueError(f"{name} has complex dtype {arr.dtype}; cluster labels must be ints or strings.")
    if kind == "f":
        not_whole = ~(np.isfinite(arr) & (arr == np.round(arr)))
        if not_whole.any():
            raise _not_whole_error(name, float(arr[not_whole.argmax()]))
    if kind in "mM" and np.isnat(arr).any():
        raise _missing_label(name, "NaT")

    if kind != "O":
        uniques_arr, codes = np.unique(arr, return_inverse=True)
        return codes.astype(np.intp, copy=False).reshape(-1), uniques_arr.tolist()

    # Object arrays: encode by hashing, in order of first appearance.
    index: dict[Any, int] = {}
    codes_list: list[int] = []
    for value in arr:
        if value is None:
            raise _missing_label(name, "None")
        if isinstance(value, (float, np.floating)) and not float(value).is_integer():
            raise _not_whole_error(name, float(value))
        if isinstance(value, (complex, np.complexfloating)):
            raise ValueError(f"{name} contains a complex value ({value!r}); cluster labels must be ints or strings.")
        try:
            code = index.setdefault(value, len(index))
        except TypeError as exc:
            raise ValueError(
                f"{name} contains an unhashable label of type "
                f"{type(value).__name__}; cluster labels must be hashable "
                "values (ints or strings)."
            ) from exc
        codes_list.append(code)
    return np.asarray(codes_list, dtype=np.intp), list(index)


def _check_clusterings(
    labels_true: ArrayLike, labels_pred: ArrayLike
) -> tuple[_IntArray, _IntArray, list[Hashable], list[Hashable]]:
    """Validate a pair of labelings; shared by every metric of this module.

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        Ground-truth class labels.
    labels_pred : array-like of shape (n_samples,)
        Cluster labels.

    Returns
    -------
    true_codes, pred_codes : ndarray of shape (n_samples,)
        Integer-encoded labels.
    classes, clusters : list
        Distinct class labels and distinct cluster labels, indexed by code.
    """
    true_codes, classes = _encode_labels(labels_true, "labels_true")
    pred_codes, clusters = _encode_labels(labels_pred, "labels_pred")
    if true_codes.shape[0] != pred_codes.shape[0]:
        raise ValueError(
            "labels_true and labels_pred must have the same length; got "
            f"{true_codes.shape[0]} and {pred_codes.shape[0]}."
        )
    return true_codes, pred_codes, classes, clusters


# ------------------------------------------------------------------- maths
def _contingency_and_matching(
    true_codes: _IntArray, pred_codes: _IntArray, n_classes: int, n_clusters: int
) -> tuple[NDArray[np.int64], _IntArray, _IntArray]:
    """Contingency table and its maximum-weight one-to-one matching.

    This is the single place where the class/cluster matching is computed.

    Parameters
    ----------
    true_codes : ndarray of shape (n_samples,)
        Class codes in ``range(n_classes)``.
    pred_codes : ndarray of shape (n_samples,)
        Cluster codes in ``range(n_clusters)``.
    n_classes, n_clusters : int
        Number of distinct classes and clusters.

    Returns
    -------
    contingency : ndarray of shape (n_classes, n_clusters)
        ``contingency[i, j]`` counts samples of class ``i`` in cluster ``j``.
    class_idx, cluster_idx : ndarray of shape (min(n_classes, n_clusters),)
        Class ``class_idx[k]`` is matched with cluster ``cluster_idx[k]``.
    """
    flat = true_codes.astype(np.int64) * n_clusters + pred_codes
    contingency = np.bincount(flat, minlength=n_classes * n_clusters).reshape(n_classes, n_clusters)
    class_idx, cluster_idx = linear_sum_assignment(contingency, maximize=True)
    return contingency, class_idx, cluster_idx


def _matched_accuracy(contingency: NDArray[np.int64], class_idx: _IntArray, cluster_idx: _IntArray) -> float:
    """Share of the samples in the matched cells of ``contingency``."""
    return int(contingency[class_idx, cluster_idx].sum()) / int(contingency.sum())


def _accuracy(true_codes: _IntArray, pred_codes: _IntArray, n_classes: int, n_clusters: int) -> float:
    return _matched_accuracy(*_contingency_and_matching(true_codes, pred_codes, n_classes, n_clusters))


# ------------------------------------------------------------- public metrics
@_metric()
def hungarian_match(labels_true: ArrayLike, labels_pred: ArrayLike) -> dict:
    """Optimal one-to-one matching of clusters to classes.

    Solves the assignment problem on the contingency table with the
    Hungarian method [1]_, maximizing the number of samples whose cluster is
    matched with their class. When the numbers of clusters and classes
    differ, only ``min(n_clusters, n_classes)`` pairs are matched.

    Parameters
    ----------
    {labels}

    Returns
    -------
    mapping : dict
        ``{cluster label: class label}`` for the matched clusters only. The
        mapping is injective. Unmatched clusters do not appear.

    {raises}

    See Also
    --------
    clustering_accuracy : Accuracy under this matching.
    clustering_scores : ACC, NMI and ARI at once.
    scipy.optimize.linear_sum_assignment : The assignment solver used.

    References
    ----------
    .. [1] H. W. Kuhn, "The Hungarian method for the assignment problem",
       Naval Research Logistics Quarterly, 2(1-2):83-97, 1955.

    Examples
    --------
    >>> from deepclust_sklearn.metrics import hungarian_match
    >>> hungarian_match([0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 0, 2])
    {0: 1, 1: 0, 2: 2}
    >>> hungarian_match(["cat", "cat", "dog"], [7, 7, 3])
    {3: 'dog', 7: 'cat'}
    """
    true_codes, pred_codes, classes, clusters = _check_clusterings(labels_true, labels_pred)
    _, class_idx, cluster_idx = _contingency_and_matching(true_codes, pred_codes, len(classes), len(clusters))
    pairs = sorted(zip(cluster_idx.tolist(), class_idx.tolist()))
    return {clusters[j]: classes[i] for j, i in pairs}


@_metric()
def clustering_accuracy(labels_true: ArrayLike, labels_pred: ArrayLike) -> float:
    """Unsupervised clustering accuracy (ACC).

    The fraction of samples correctly labelled under the best one-to-one
    matching between clusters and classes, as used to evaluate DEC [2]_ and
    later deep-clustering methods:

    .. math:: ACC = \\max_m \\frac{1}{n} \\sum_{i=1}^n 1\\{y_i = m(c_i)\\}

    where ``m`` ranges over injective matchings of clusters to classes,
    found with the Hungarian method [1]_. With more clusters than classes,
    samples in unmatched clusters count as wrong; with fewer clusters than
    classes, samples of unmatched classes count as wrong. The score is in
    ``[0, 1]``, invariant to relabelling, and symmetric in its arguments.

    Parameters
    ----------
    {labels}

    Returns
    -------
    accuracy : float
        Best matching accuracy in ``[0, 1]``; 1.0 for a perfect clustering.

    {raises}

    See Also
    --------
    hungarian_match : The matching used by this score.
    normalized_mutual_info_score : Normalized mutual information.
    adjusted_rand_score : Chance-adjusted Rand index.
    clustering_scores : All three scores at once.

    {accuracy_references}

    Examples
    --------
    >>> from deepclust_sklearn.metrics import clustering_accuracy
    >>> clustering_accuracy([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    >>> round(clustering_accuracy([0, 0, 1, 1, 2, 2], [1, 1, 0, 0, 0, 2]), 4)
    0.8333
    """
    true_codes, pred_codes, classes, clusters = _check_clusterings(labels_true, labels_pred)
    return _accuracy(true_codes, pred_codes, len(classes), len(clusters))


@_metric({"average_method": [StrOptions({"min", "geometric", "arithmetic", "max"})]})
def normalized_mutual_info_score(
    labels_true: ArrayLike,
    labels_pred: ArrayLike,
    *,
    average_method: str = "arithmetic",
) -> float:
    """Normalized mutual information between two labelings.

    Thin wrapper around :func:`sklearn.metrics.normalized_mutual_info_score`
    that applies this module's input validation first.

    Parameters
    ----------
    {labels}
    average_method : {"min", "geometric", "arithmetic", "max"}, \
            default="arithmetic"
        How the entropies are averaged in the normalizer.

    Returns
    -------
    nmi : float
        Score in ``[0, 1]``; 1.0 for identical partitions. Symmetric.

    {raises}

    See Also
    --------
    sklearn.metrics.normalized_mutual_info_score : The wrapped function.
    clustering_accuracy : Hungarian-matched accuracy.
    adjusted_rand_score : Chance-adjusted Rand index.

    References
    ----------
    .. [1] A. Strehl and J. Ghosh, "Cluster ensembles - a knowledge reuse
       framework for combining multiple partitions", JMLR 3:583-617, 2002.

    Examples
    --------
    >>> from deepclust_sklearn.metrics import normalized_mutual_info_score
    >>> normalized_mutual_info_score(["a", "a", "b", "b"], [1, 1, 0, 0])
    1.0
    """
    true_codes, pred_codes, _, _ = _check_clusterings(labels_true, labels_pred)
    return float(_skm.normalized_mutual_info_score(true_codes, pred_codes, average_method=average_method))


@_metric()
def adjusted_rand_score(labels_true: ArrayLike, labels_pred: ArrayLike) -> float:
    """Adjusted Rand index between two labelings.

    Thin wrapper around :func:`sklearn.metrics.adjusted_rand_score` that
    applies this module's input validation first.

    Parameters
    ----------
    {labels}

    Returns
    -------
    ari : float
        Score at most 1.0 (perfect agreement), close to 0.0 for random
        labelings, possibly negative. Symmetric.

    {raises}

    See Also
    --------
    sklearn.metrics.adjusted_rand_score : The wrapped function.
    clustering_accuracy : Hungarian-matched accuracy.
    normalized_mutual_info_score : Normalized mutual information.

    References
    ----------
    .. [1] L. Hubert and P. Arabie, "Comparing partitions", Journal of
       Classification, 2(1):193-218, 1985.

    Examples
    --------
    >>> from deepclust_sklearn.metrics import adjusted_rand_score
    >>> adjusted_rand_score([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    """
    true_codes, pred_codes, _, _ = _check_clusterings(labels_true, labels_pred)
    return float(_skm.adjusted_rand_score(true_codes, pred_codes))


@_metric()
def clustering_scores(labels_true: ArrayLike, labels_pred: ArrayLike) -> dict:
    """ACC, NMI and ARI of a clustering in one call.

    The labels are validated and encoded once for all three scores.

    Parameters
    ----------
    {labels}

    Returns
    -------
    scores : dict
        ``{"acc": float, "nmi": float, "ari": float}``, Python floats.

    {raises}

    See Also
    --------
    clustering_accuracy : The "acc" entry.
    normalized_mutual_info_score : The "nmi" entry.
    adjusted_rand_score : The "ari" entry.

    {accuracy_references}

    Examples
    --------
    >>> from deepclust_sklearn.metrics import clustering_scores
    >>> clustering_scores([0, 0, 1, 1], ["x", "x", "y", "y"])
    {'acc': 1.0, 'nmi': 1.0, 'ari': 1.0}
    """
    true_codes, pred_codes, classes, clusters = _check_clusterings(labels_true, labels_pred)
    return {
        "acc": _accuracy(true_codes, pred_codes, len(classes), len(clusters)),
        "nmi": float(_skm.normalized_mutual_info_score(true_codes, pred_codes)),
        "ari": float(_skm.adjusted_rand_score(true_codes, pred_codes)),
    }


_SCORER_DOC = """Scorer for :func:`{func}` (greater is better).

Built with :func:`sklearn.metrics.make_scorer`. Called as
``scorer(estimator, X, y)``, it returns ``{func}(y, estimator.predict(X))``,
so it can be passed to ``GridSearchCV(scoring=...)`` or ``cross_validate``.

Parameters
----------
estimator : estimator object
    Fitted clusterer with a ``predict`` method.
X : array-like of shape (n_samples, n_features)
    Samples to cluster.
y : array-like of shape (n_samples,)
    Ground-truth class labels.

Returns
-------
score : float
    ``{func}(y, estimator.predict(X))``.

See Also
--------
{func} : The scored metric.
clustering_accuracy_scorer, nmi_scorer, ari_scorer : The three scorers.
sklearn.metrics.make_scorer : How these scorers are built.

References
----------
The metrics behind the three scorers:

.. [1] H. W. Kuhn, "The Hungarian method for the assignment problem",
   Naval Research Logistics Quarterly, 2(1-2):83-97, 1955 (the matching
   of ``clustering_accuracy``).
.. [2] J. Xie, R. Girshick and A. Farhadi, "Unsupervised deep embedding
   for clustering analysis", ICML 2016 (DEC; ``clustering_accuracy``).
.. [3] A. Strehl and J. Ghosh, "Cluster ensembles - a knowledge reuse
   framework for combining multiple partitions", JMLR 3:583-617, 2002
   (``normalized_mutual_info_score``).
.. [4] L. Hubert and P. Arabie, "Comparing partitions", Journal of
   Classification, 2(1):193-218, 1985 (``adjusted_rand_score``).

Examples
--------
>>> import numpy as np
>>> from sklearn.cluster import KMeans
>>> from deepclust_sklearn.metrics import {name}
>>> X = np.array([[0.0], [0.1], [5.0], [5.1]])
>>> y = np.array([1, 1, 0, 0])
>>> km = KMeans(n_clusters=2, n_init=1, random_state=0).fit(X)
>>> float({name}(km, X, y))
1.0

Cluster labels need not equal class labels; the score is invariant to
renaming either:

>>> float({name}(km, X, np.array(["b", "b", "a", "a"])))
1.0

As ``scoring`` in model selection (``y`` is used only for scoring):

>>> from sklearn.model_selection import cross_val_score
>>> X = np.array([[0.0], [0.1], [0.2], [5.0], [5.1], [5.2]])
>>> y = np.array([0, 0, 0, 1, 1, 1])
>>> scores = cross_val_score(KMeans(n_clusters=2, n_init=1, random_state=0), X, y,
...                          scoring={name}, cv=[(np.arange(6), np.arange(6))])
>>> scores.round(4).tolist()
[1.0]
"""

#: Scorer for :func:`clustering_accuracy` (see ``_SCORER_DOC``).
clustering_accuracy_scorer = make_scorer(clustering_accuracy, response_method="predict", greater_is_better=True)
#: Scorer for :func:`normalized_mutual_info_score`.
nmi_scorer = make_scorer(normalized_mutual_info_score, response_method="predict", greater_is_better=True)
#: Scorer for :func:`adjusted_rand_score`.
ari_scorer = make_scorer(adjusted_rand_score, response_method="predict", greater_is_better=True)

# Scorer objects are instances; give each one its own docstring (and doctest).
for _name, _func, _scorer in (
    ("clustering_accuracy_scorer", "clustering_accuracy", clustering_accuracy_scorer),
    ("nmi_scorer", "normalized_mutual_info_score", nmi_scorer),
    ("ari_scorer", "adjusted_rand_score", ari_scorer),
):
    _scorer.__doc__ = _SCORER_DOC.format(func=_func, name=_name)
del _name, _func, _scorer

# Scorer instances are not collected by doctest.DocTestFinder; register them.
__test__ = {name: globals()[name].__doc__ for name in ("clustering_accuracy_scorer", "nmi_scorer", "ari_scorer")}
