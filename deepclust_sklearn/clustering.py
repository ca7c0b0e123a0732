"""Faiss k-means as a scikit-learn estimator: DeepCluster's clustering step.

DeepCluster (Caron et al., 2018) re-clusters the features of the whole
training set once per epoch: PCA, whitening and L2 normalisation
(:class:`~deepclust_sklearn.PCAWhitenL2`, in :mod:`.whitening`), then k-means
with faiss (:class:`FaissKMeans`, here). Both are plain scikit-learn
estimators and work on their own, e.g.
``make_pipeline(PCAWhitenL2(), FaissKMeans(n_clusters=100))``.

The private functions do the maths (chunked distances, nearest centres,
k-means++ seeding); the estimator validates, seeds and orchestrates.
Everything that runs over samples runs in chunks of rows
(:mod:`._chunking`), so ``predict`` and ``transform`` need memory for their
output plus one chunk, whatever the number of samples.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    ClusterMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ._chunking import _chunk_rows, _chunks, _output_dtype
from ._validation import check_float32_range, validate_numbers

__all__ = ["FaissKMeans"]

_INT32_MAX = int(np.iinfo(np.int32).max)

# FaissKMeans' k-means++ seeding runs on at most this many rows per centre.
# Its cost is n_clusters passes over n_clusters * 32 rows, so it grows as
# n_clusters squared: 6 s of one core at k = 1,000, d = 64. Measured on
# 100,000 x 64 blobs with 1,000 well separated centres (seeds 0, 1; inertia
# against KMeans()'s): 8 rows per centre +14% and +19% (small blobs of the
# subsample go unseeded, and Lloyd cannot split the merged blobs left
# behind), 16 rows +1.3% and +0.1%, 32 rows -3.5% and -3.4%, 64 rows -5.4%
# and -1.0% at 2.5 times the cost. On shifted MNIST digits (100,000 x 64,
# k = 1,000) every size from 8 to 64 came within 0.2% of KMeans().
_SEED_POINTS_PER_CENTROID = 32
# Candidates per centre in that greedy k-means++. scikit-learn uses
# 2 + log(k) (6 at k = 100). On 50,000 x 64 blobs with 100 well separated
# centres, runs that left two blobs merged (inertia +18% or more): 6
# candidates 5 to 9 of 10 seeds, by seeding subsample size (KMeans() on all
# rows: 4 of 10), 16 candidates 2 to 4 of 20, 32 candidates 1 of 40 (32
# rows per centre, two data sets). The candidates share one matrix product,
# so 32 cost about twice what 8 do.
_N_LOCAL_TRIALS = 32


def _squared_distances(X: np.ndarray, centers: np.ndarray, centers_sq: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances of a chunk of rows to every centre, in float64.

    ``||x||^2 - 2 x.c + ||c||^2`` through one matrix product, clipped at 0
    against rounding; ``centers`` is float64 and ``centers_sq`` its squared
    row norms.
    """
    X = np.asarray(X, dtype=np.float64)
    d2 = X @ centers.T
    d2 *= -2.0
    d2 += np.einsum("ij,ij->i", X, X)[:, None]
    d2 += centers_sq[None, :]
    np.maximum(d2, 0.0, out=d2)
    return d2


def _nearest_centers(X: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centre of every row and the squared distance to it.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    centers : ndarray of shape (n_clusters, n_features)

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int64
        Nearest centre, found from :func:`_squared_distances` chunk by chunk.
    min_sq_dist : ndarray of shape (n_samples,), dtype float64
        ``||x - c_label||^2`` computed directly from the difference (no
        cancellation), so that sums of it are accurate inertias.
    """
    centers64 = np.asarray(centers, dtype=np.float64)
    centers_sq = np.einsum("ij,ij->i", centers64, centers64)
    labels = np.empty(len(X), dtype=np.int64)
    min_sq = np.empty(len(X), dtype=np.float64)
    for rows in _chunks(len(X), _chunk_rows(max(len(centers64), X.shape[1]))):
        chunk = np.asarray(X[rows], dtype=np.float64)
        labels[rows] = _squared_distances(chunk, centers64, centers_sq).argmin(axis=1)
        diff = chunk - centers64[labels[rows]]
        min_sq[rows] = np.einsum("ij,ij->i", diff, diff)
    return labels, min_sq


def _faiss_kmeans(
    X32: np.ndarray,
    n_clusters: int,
    max_iter: int,
    seed: int,
    verbose: bool,
    init_centers: np.ndarray | None = None,
    tol: float = 0.0,
) -> tuple[np.ndarray, int]:
    """One run of faiss's Lloyd k-means on every row of ``X32``.

    Starts from ``init_centers`` (float32, shape ``(n_clusters, n_features)``)
    when given, else from ``n_clusters`` distinct random rows drawn with
    ``seed``. ``max_points_per_centroid`` is raised to ``n_samples`` so faiss
    trains on every row it is given (callers subsample beforehand), and
    ``min_points_per_centroid=1`` keeps it from printing warnings for small
    data. faiss stops after ``max_iter`` iterations, or earlier once an
    iteration lowers its objective by less than ``tol`` times the objective
    (``early_stop_threshold``; 0 stops only at a fixed point). Returns the
    centroids (float32) and the number of iterations run.
    """
    import faiss

    n_samples, n_features = X32.shape
    params = faiss.ClusteringParameters()
    params.niter = int(max_iter)
    params.nredo = 1
    params.seed = int(seed)
    params.verbose = bool(verbose)
    params.spherical = False
    params.int_centroids = False
    params.update_index = False
    params.frozen_centroids = False
    params.min_points_per_centroid = 1
    params.max_points_per_centroid = min(n_samples, _INT32_MAX)
    if hasattr(params, "init_method"):
        params.init_method = faiss.ClusteringInitMethod_RANDOM
    if hasattr(params, "early_stop_threshold"):
        params.early_stop_threshold = float(tol)
    elif tol > 0:  # pragma: no cover - faiss before 1.9 has no early stop
        raise ValueError(
            f"tol={tol} needs faiss >= 1.9 (early_stop_threshold); use tol=0 with faiss {faiss.__version__}."
        )
    if hasattr(params, "check_input_data_for_NaNs"):
        params.check_input_data_for_NaNs = False  # validated already; saves a pass over X
    clus = faiss.Clustering(n_features, n_clusters, params)
    if init_centers is not None:
        # faiss starts from centroids already present in clus.centroids
        faiss.copy_array_to_vector(np.ascontiguousarray(init_centers, dtype=np.float32).ravel(), clus.centroids)
    index = faiss.IndexFlatL2(n_features)
    try:
        clus.train(X32, index)
    except (RuntimeError, AssertionError) as exc:
        raise ValueError(f"faiss k-means failed on X of shape {X32.shape} with n_clusters={n_clusters}: {exc}") from exc
    centers = faiss.vector_to_array(clus.centroids).reshape(n_clusters, n_features)
    return centers, int(clus.iteration_stats.size())


def _kmeans_plusplus(X32: np.ndarray, n_clusters: int, rng: np.random.RandomState, n_local_trials: int) -> np.ndarray:
    """Greedy k-means++ seeding (Arthur & Vassilvitskii, 2007), in float32.

    The algorithm of :func:`sklearn.cluster.kmeans_plusplus`: the first
    centre is a uniformly drawn row; each next one is the best, by the
    potential (sum of squared distances to the nearest centre) it leaves, of
    ``n_local_trials`` rows drawn with probability proportional to their
    squared distance to the nearest centre so far. Distances are computed in
    float32 through one ``(n_samples, n_features) @ (n_features,
    n_local_trials)`` product per centre, on rows centred on their mean
    (less cancellation); the potentials and sampling weights are summed in
    float64. scikit-learn computes these distances in float64 chunks of a
    few rows for float32 input, about 9x slower here (100,000 x 256 rows,
    k = 100: 21 s against 2.4 s for a float64 copy, both single runs on a
    shared 2-core machine).

    Parameters
    ----------
    X32 : ndarray of shape (n_samples, n_features), dtype float32
        Rows to choose the centres from (``n_samples >= n_clusters``).
    n_clusters : int
    rng : RandomState
        Draws the first centre and the candidates.
    n_local_trials : int
        Candidates per centre after the first.

    Returns
    -------
    centers : ndarray of shape (n_clusters, n_features), dtype float32
        Rows of ``X32``.
    """
    n_samples = X32.shape[0]
    mean = X32.mean(axis=0, dtype=np.float64).astype(np.float32)
    centred = X32 - mean
    sq_norms = np.einsum("ij,ij->i", centred, centred)

    def sq_distances(ids: np.ndarray) -> np.ndarray:  # (len(ids), n_samples), float32, one row per candidate
        d2 = (centred[ids] * np.float32(-2.0)) @ centred.T
        d2 += sq_norms[None, :]
        d2 += sq_norms[ids][:, None]
        return np.maximum(d2, 0.0, out=d2)

    chosen = np.empty(n_clusters, dtype=np.int64)
    chosen[0] = rng.randint(n_samples)
    closest = sq_distances(chosen[:1])[0]
    potential = closest.sum(dtype=np.float64)
    for c in range(1, n_clusters):
        targets = rng.uniform(size=n_local_trials) * potential
        candidates = np.searchsorted(np.cumsum(closest, dtype=np.float64), targets)
        np.clip(candidates, None, n_samples - 1, out=candidates)
        d2 = sq_distances(candidates)
        np.minimum(d2, closest[None, :], out=d2)
        potentials = d2.sum(axis=1, dtype=np.float64)
        best = int(np.argmin(potentials))
        potential = potentials[best]
        closest = d2[best].copy()
        chosen[c] = candidates[best]
    return X32[chosen]


def _subsample(n_samples: int, size: int, rng: np.random.RandomState) -> np.ndarray | None:
    """Sorted indices of ``size`` distinct rows drawn with ``rng``, or None for all of them."""
    if size >= n_samples:
        return None
    return np.sort(rng.permutation(n_samples)[:size])


class FaissKMeans(ClassNamePrefixFeaturesOutMixin, ClusterMixin, TransformerMixin, BaseEstimator):
    """K-means clustering with faiss, as a scikit-learn estimator.

    A drop-in for :class:`sklearn.cluster.KMeans` on large data: Lloyd's
    algorithm as implemented in faiss (Johnson, Douze & Jégou, 2019),
    exhaustive nearest-centre search with :class:`faiss.IndexFlatL2` in
    float32, empty clusters re-seeded by splitting large ones. Each run
    (``n_init`` of them) goes:

    1. **Subsample.** Draw ``max_points_per_centroid * n_clusters`` rows at
       random (all of them when there are fewer, or when
       ``max_points_per_centroid=None``).
    2. **Seed.** Greedy k-means++ (Arthur & Vassilvitskii, 2007), the
       seeding :class:`~sklearn.cluster.KMeans` uses, on 32 of those rows
       per centre, with 32 candidates per centre (one BLAS thread); or
       ``n_clusters`` random rows with ``init="random"``. Its cost grows as
       ``n_clusters`` squared, so for thousands of clusters prefer
       ``init="random"`` (timings: ``benchmarks/README.md``).
    3. **Lloyd on the subsample** until an iteration lowers the objective
       by less than ``tol`` (relative), at most ``max_iter`` iterations.
    4. **Lloyd on every row** from those centres, with the same stopping
       rule (only when step 1 subsampled): centres fitted on a sample sit
       above the full-data optimum on real features, and a few full
       iterations remove that (measured: ``benchmarks/README.md``).
    5. **Assign** every row to its nearest final centre in float64, as
       :class:`~sklearn.cluster.KMeans` reports them, so ``labels_ ==
       predict(X)``; the run with the lowest inertia is kept.

    This is also the clustering step DeepCluster (Caron et al., 2018) runs
    on the features of the whole training set every epoch;
    :class:`DeepClusterEstimator` passes the authors' setting (random
    initialisation, every row trains, fixed iterations, no tolerance).

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters (centres). Default as in scikit-learn's KMeans.
    init : {"k-means++", "random"}, default="k-means++"
        ``"k-means++"``: greedy k-means++ on a subsample (step 2), the
        default because it is what KMeans() does: from random rows the
        other defaults ended 6-7 times above KMeans()'s inertia on 100,000
        x 256 blobs with 100 centres (seeds 0-2), as merged blobs stay
        merged. ``"random"``: ``n_clusters`` distinct random training rows
        (faiss's own initialisation, DeepCluster's setting).
    n_init : int, default=1
        Number of runs; the one with the lowest inertia on all of ``X`` is
        kept. Run ``i`` uses the ``i``-th seed drawn from ``random_state``
        (subsample, seeding and faiss), so adding runs never increases
        ``inertia_`` for a fixed integer ``random_state``. Default 1, as
        KMeans() with k-means++: with 32 candidates per centre one run
        rarely leaves clusters merged (measured: ``docs/experiments.md``).
    max_iter : int, default=300
        Most Lloyd iterations in each of steps 3 and 4. Default as in
        KMeans: a cap that ``tol`` normally makes irrelevant.
    tol : float, default=1e-4
        Steps 3 and 4 stop once an iteration lowers the objective (sum of
        squared distances, faiss's float32 value) by less than ``tol`` times
        its value; 0 stops only at a fixed point (unchanged objective).
        Unlike KMeans' ``tol`` (a centre shift relative to the data's
        variance), this is relative to the objective. Default 1e-4: of the
        values tried (1e-4, 3e-4, 1e-3) it ended closest to KMeans()'
        inertia on real features (measured: ``docs/experiments.md``).
    max_points_per_centroid : int or None, default=256
        Steps 1-3 use at most ``max_points_per_centroid * n_clusters``
        rows. Default 256, faiss's own: the sample makes steps 1-3 cheap and
        step 4's passes over all rows recover the lost inertia (measured:
        ``benchmarks/README.md``). ``None`` trains on
        every row from the start (no step 4), as DeepCluster's authors do.
    random_state : int, RandomState instance or None, default=None
        Draws the integer seed of each run; the run's subsample, seeding and
        faiss use generators made from it, nothing global is touched. An int
        gives identical results on every fit on the same machine.
    verbose : int, default=0
        Above 0, faiss prints the objective of every iteration (to the C
        standard output).

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Centres, float32 for float32 input and float64 otherwise.
    labels_ : ndarray of shape (n_samples,), dtype int64
        Index of the nearest final centre of every training sample.
    inertia_ : float
        Sum of squared Euclidean distances of the training samples to their
        nearest final centre.
    n_iter_ : int
        Lloyd iterations run by the kept run: on the subsample (step 3) plus
        on every row (step 4).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    PCAWhitenL2 : DeepCluster's preprocessing before this clustering.
    DeepClusterEstimator : Runs this k-means on learned features every epoch.
    sklearn.cluster.KMeans : scikit-learn's k-means, with k-means++ and a tolerance.
    sklearn.cluster.kmeans_plusplus : The seeding of step 2, in float64.

    Notes
    -----
    ``transform`` returns Euclidean (not squared) distances to the centres,
    as :meth:`sklearn.cluster.KMeans.transform` does. ``predict`` and
    ``transform`` work in chunks of rows, so their memory is their output
    plus one chunk. faiss uses all OpenMP threads; use
    ``faiss.omp_set_num_threads`` to limit them. On cores shared with other
    busy processes spinning OpenMP threads can make it many times slower;
    set ``OMP_WAIT_POLICY=PASSIVE`` in the environment before Python starts
    (faiss's troubleshooting advice; measured: ``benchmarks/README.md``).

    Memory: float32 C-contiguous ``X`` is used as it is; other input is
    converted once to a float32 copy (never a float64 one). On top of that,
    a run holds the subsample (``max_points_per_centroid * n_clusters``
    rows), the seeding rows and 12 bytes per row of faiss assignments.

    References
    ----------
    D. Arthur and S. Vassilvitskii. "k-means++: The Advantages of Careful
    Seeding." SODA 2007.

    M. Caron, P. Bojanowski, A. Joulin and M. Douze. "Deep Clustering for
    Unsupervised Learning of Visual Features." ECCV 2018.

    J. Johnson, M. Douze and H. Jégou. "Billion-scale similarity search with
    GPUs." IEEE Transactions on Big Data, 2019. arXiv:1702.08734.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from deepclust_sklearn import FaissKMeans
    >>> X, _ = make_blobs(n_samples=300, centers=3, random_state=0)
    >>> km = FaissKMeans(n_clusters=3, random_state=0).fit(X)
    >>> km.cluster_centers_.shape, km.labels_.shape, km.transform(X[:2]).shape
    ((3, 2), (300,), (2, 3))
    >>> bool((km.predict(X) == km.labels_).all())
    True

    float32 input stays float32, and ``score`` is minus the inertia:

    >>> km32 = FaissKMeans(n_clusters=3, random_state=0).fit(X.astype("float32"))
    >>> km32.cluster_centers_.dtype, km32.transform(X[:2].astype("float32")).dtype
    (dtype('float32'), dtype('float32'))
    >>> bool(abs(km.score(X) + km.inertia_) <= 1e-9 * km.inertia_)
    True
    """

    _parameter_constraints: dict = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"})],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, _INT32_MAX, closed="both")],  # faiss stores it as a C int
        "tol": [Interval(Real, 0, 1, closed="left")],
        "max_points_per_centroid": [Interval(Integral, 1, _INT32_MAX, closed="both"), None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: str = "k-means++",
        n_init: int = 1,
        max_iter: int = 300,
        tol: float = 1e-4,
        max_points_per_centroid: int | None = 256,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.max_points_per_centroid = max_points_per_centroid
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None) -> FaissKMeans:
        """Compute the k-means clustering of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training vectors; never modified. Converted to a C-contiguous
            float32 copy for faiss unless it already is one.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X = validate_numbers(self, X, dtype=[np.float64, np.float32], accept_sparse=False, copy=False)
        n_samples = X.shape[0]
        if n_samples < self.n_clusters:
            raise ValueError(f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}.")
        check_float32_range(X, "; faiss computes in float32, rescale X.")
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        rng = check_random_state(self.random_state)
        seeds = [int(rng.randint(_INT32_MAX)) for _ in range(self.n_init)]
        best = None
        for seed in seeds:
            centers, n_iter = self._run(X32, seed)
            labels, min_sq = _nearest_centers(X, centers)
            inertia = float(min_sq.sum())
            if best is None or inertia < best[0]:
                best = (inertia, centers, labels, n_iter)
        inertia, centers, labels, n_iter = best
        self.cluster_centers_ = centers.astype(_output_dtype(X), copy=False)
        self.labels_ = labels
        self.inertia_ = inertia
        self.n_iter_ = n_iter
        return self

    def _run(self, X32: np.ndarray, seed: int) -> tuple[np.ndarray, int]:
        """Steps 1-4 of one run (see the class docstring): float32 centres and iterations run."""
        rng = np.random.RandomState(seed)
        k = self.n_clusters
        n_samples = X32.shape[0]
        per_centre = self.max_points_per_centroid
        train = _subsample(n_samples, n_samples if per_centre is None else k * per_centre, rng)
        X_train = X32 if train is None else X32[train]
        init_centers = None
        if self.init == "k-means++":
            rows = _subsample(len(X_train), k * _SEED_POINTS_PER_CENTROID, rng)
            X_seed = X_train if rows is None else X_train[rows]
            # one BLAS thread, as KMeans' Lloyd loop: each product is small and memory bound, and on this
            # project's shared 2-core machine 2 threads made the seeding 20-50x slower (k=50, 1,600 rows)
            with threadpool_limits(limits=1, user_api="blas"):
                init_centers = _kmeans_plusplus(X_seed, k, rng, _N_LOCAL_TRIALS)
        centers, n_iter = _faiss_kmeans(X_train, k, self.max_iter, seed, self.verbose, init_centers, self.tol)
        if train is not None:
            del X_train
            centers, n_full = _faiss_kmeans(X32, k, self.max_iter, seed, self.verbose, centers, self.tol)
            n_iter += n_full
        return centers, n_iter

    def _check_test_data(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_numbers(self, X, dtype=[np.float64, np.float32], accept_sparse=False, reset=False, copy=False)
        check_float32_range(X, ", the precision the centres were fitted in; rescale X.")
        return X

    def predict(self, X) -> np.ndarray:
        """Index of the nearest centre of every sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Never modified.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int64
        """
        X = self._check_test_data(X)
        return _nearest_centers(X, self.cluster_centers_)[0]

    def fit_predict(self, X, y=None) -> np.ndarray:
        """Fit and return ``labels_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int64
        """
        return self.fit(X).labels_

    def transform(self, X) -> np.ndarray:
        """Euclidean distance of every sample to every centre.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Never modified.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
            Not squared, as in :meth:`sklearn.cluster.KMeans.transform`.
            float32 for float32 input, float64 otherwise; computed in float64.
        """
        X = self._check_test_data(X)
        centers = np.asarray(self.cluster_centers_, dtype=np.float64)
        centers_sq = np.einsum("ij,ij->i", centers, centers)
        out = np.empty((len(X), len(centers)), dtype=_output_dtype(X))
        for rows in _chunks(len(X), _chunk_rows(max(len(centers), X.shape[1]))):
            out[rows] = np.sqrt(_squared_distances(X[rows], centers, centers_sq))
        return out

    def fit_transform(self, X, y=None) -> np.ndarray:
        """Fit and return the distances of ``X`` to the centres.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        distances : ndarray of shape (n_samples, n_clusters)
        """
        return self.fit(X).transform(X)

    def score(self, X, y=None) -> float:
        """Opposite of the inertia of ``X`` for the fitted centres.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
            Minus the sum of squared distances to the nearest centre
            (higher is better), as in :meth:`sklearn.cluster.KMeans.score`.
        """
        X = self._check_test_data(X)
        return -float(_nearest_centers(X, self.cluster_centers_)[1].sum())

    @property
    def _n_features_out(self) -> int:
        """Number of transformed output features (one per centre)."""
        return self.cluster_centers_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
