"""PCA, whitening and L2 normalisation: DeepCluster's feature preprocessing.

DeepCluster (Caron et al., 2018) re-clusters the features of the whole
training set once per epoch: PCA to 256 dimensions, whitening, L2
normalisation (:class:`PCAWhitenL2`, here), then k-means with faiss
(:class:`~deepclust_sklearn.FaissKMeans`). Both are plain scikit-learn
estimators and work on their own, e.g.
``make_pipeline(PCAWhitenL2(), FaissKMeans(n_clusters=100))``.

The covariance is accumulated in float64 over chunks of rows, and
``transform`` runs chunk by chunk, so memory stays at the output plus one
chunk whatever the number of samples.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from scipy import linalg
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._chunking import _chunk_rows, _chunks, _output_dtype
from ._validation import validate_numbers

__all__ = ["PCAWhitenL2"]


def _column_mean(X: np.ndarray) -> np.ndarray:
    total = np.zeros(X.shape[1])
    for rows in _chunks(len(X), _chunk_rows(X.shape[1])):
        total += np.asarray(X[rows], dtype=np.float64).sum(axis=0)
    return total / len(X)


def _covariance(X: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Sample covariance (ddof=1) in float64, accumulated over centred chunks."""
    scatter = np.zeros((X.shape[1], X.shape[1]))
    for rows in _chunks(len(X), _chunk_rows(X.shape[1])):
        centred = np.asarray(X[rows], dtype=np.float64) - mean
        scatter += centred.T @ centred
    return scatter / (len(X) - 1)


_AT_MEAN_RTOL = 1e-10  # relative distance to the mean below which a row is the mean (float64 rounding)


def _principal_axes_few_samples(X: np.ndarray, mean: np.ndarray, n_components: int):
    """Leading variances, axes (rows) and total variance from the SVD of the centred rows.

    With fewer samples than features the covariance is rank-deficient, and
    LAPACK's eigensolvers slow down on its cluster of zero eigenvalues
    (measured: 0.2-0.5 s for a 256 x 256 covariance of 20 samples, 10x a
    full-rank one); the SVD of the ``n x d`` centred data costs ``O(n^2 d)``
    and gives the same axes.
    """
    centred = np.asarray(X, dtype=np.float64) - mean
    if not np.isfinite(centred).all() or not np.isfinite(np.square(centred).sum()):
        raise ValueError("X has values too large: its covariance overflows float64 (inf); rescale X.")
    _, singular, axes = linalg.svd(centred, full_matrices=False)
    eigvals = singular**2 / (len(X) - 1)
    return eigvals[:n_components], axes[:n_components], float(eigvals.sum())


class PCAWhitenL2(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    r"""PCA, whitening and L2 normalisation: DeepCluster's feature preprocessing.

    Every sample is projected on the leading principal components, each
    coordinate divided by the standard deviation along it, and the result
    scaled to unit Euclidean norm:

    .. math::

        x \mapsto \operatorname{normalize}\left(
            \operatorname{diag}(\lambda + \varepsilon)^{-1/2}\,
            U^\top (x - \mu)\right)

    with :math:`\mu` the mean, :math:`U` the ``n_components_`` leading
    eigenvectors of the sample covariance (``components_.T``), :math:`\lambda`
    their eigenvalues (``explained_variance_``) and
    :math:`\operatorname{normalize}(z) = z / \|z\|_2`. DeepCluster does this
    with faiss's ``PCAMatrix(d, 256, eigen_power=-0.5)`` before k-means on
    the network's features; ``eps`` keeps directions of (near) zero variance
    from being blown up.

    Parameters
    ----------
    n_components : int, default=256
        Number of principal components kept (DeepCluster: 256). Capped at
        ``min(n_samples, n_features)``; the number used is ``n_components_``.
    whiten : bool, default=True
        Divide each component by :math:`\sqrt{\lambda + \varepsilon}`
        (DeepCluster's eigen power -0.5). ``False`` keeps the plain PCA scores.
    l2_normalize : bool, default=True
        Scale every output row to unit L2 norm. Rows at the mean up to
        float64 rounding (within ``1e-10`` of the row's and the mean's
        norms, e.g. every row of identical samples) stay zero instead of
        becoming a unit vector in the direction of their rounding error.
    eps : float, default=1e-5
        Added to every eigenvalue before whitening. It is absolute, so it
        assumes features of order 1 or larger: variances well below ``eps``
        are damped rather than amplified.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,), dtype float64
        Per-feature mean of the training data.
    components_ : ndarray of shape (n_components_, n_features), dtype float64
        Principal axes, by decreasing variance; each row has unit norm and
        its largest-magnitude entry positive (a deterministic sign).
    explained_variance_ : ndarray of shape (n_components_,), dtype float64
        Variance along each component (covariance eigenvalues, ``ddof=1``).
    explained_variance_ratio_ : ndarray of shape (n_components_,), dtype float64
        Share of the total variance along each component.
    n_components_ : int
        Number of components used: ``min(n_components, n_samples, n_features)``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    FaissKMeans : The k-means DeepCluster runs on these features.
    DeepClusterEstimator : Applies this preprocessing to learned features every epoch.
    sklearn.decomposition.PCA : PCA with optional whitening, without normalisation.
    sklearn.preprocessing.Normalizer : Row-wise L2 normalisation on its own.

    Notes
    -----
    The covariance is accumulated in float64 over chunks of rows (two passes
    over ``X``, memory ``n_features**2``), and ``transform`` works in chunks,
    so neither ever holds a float64 copy of the whole data. Output dtype
    follows the input: float32 stays float32, anything else gives float64.

    References
    ----------
    M. Caron, P. Bojanowski, A. Joulin and M. Douze. "Deep Clustering for
    Unsupervised Learning of Visual Features." ECCV 2018.

    J. Johnson, M. Douze and H. Jégou. "Billion-scale similarity search with
    GPUs." IEEE Transactions on Big Data, 2019. arXiv:1702.08734.

    Examples
    --------
    >>> import numpy as np
    >>> from deepclust_sklearn import PCAWhitenL2
    >>> X = np.random.RandomState(0).normal(size=(100, 10))
    >>> Z = PCAWhitenL2(n_components=4).fit_transform(X)
    >>> Z.shape, bool(np.allclose(np.linalg.norm(Z, axis=1), 1.0))
    ((100, 4), True)
    >>> PCAWhitenL2().fit(X).n_components_
    10
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "whiten": ["boolean"],
        "l2_normalize": ["boolean"],
        "eps": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components: int = 256,
        *,
        whiten: bool = True,
        l2_normalize: bool = True,
        eps: float = 1e-5,
    ) -> None:
        self.n_components = n_components
        self.whiten = whiten
        self.l2_normalize = l2_normalize
        self.eps = eps

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None) -> PCAWhitenL2:
        """Learn the mean, principal axes and variances of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training vectors (at least 2); never modified.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        X = validate_numbers(
            self, X, dtype=[np.float64, np.float32], accept_sparse=False, ensure_min_samples=2, copy=False
        )
        n_samples, n_features = X.shape
        n_components = min(self.n_components, n_samples, n_features)
        mean = _column_mean(X)
        if n_samples < n_features:
            eigvals, eigvecs, total = _principal_axes_few_samples(X, mean, n_components)
        else:
            cov = _covariance(X, mean)
            if not np.isfinite(cov).all():
                raise ValueError("X has values too large: its covariance overflows float64 (inf); rescale X.")
            eigvals, eigvecs = linalg.eigh(cov, subset_by_index=[n_features - n_components, n_features - 1])
            eigvals, eigvecs = np.maximum(eigvals[::-1], 0.0), eigvecs[:, ::-1].T
            total = float(np.trace(cov))
        signs = np.sign(eigvecs[np.arange(n_components), np.abs(eigvecs).argmax(axis=1)])
        signs[signs == 0] = 1.0
        self.mean_ = mean
        self.components_ = np.ascontiguousarray(eigvecs * signs[:, None])
        self.explained_variance_ = eigvals
        self.explained_variance_ratio_ = eigvals / total if total > 0 else np.zeros_like(eigvals)
        self.n_components_ = int(n_components)
        return self

    def transform(self, X) -> np.ndarray:
        """Project, whiten and normalise ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Never modified.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components_)
            float32 for float32 input, float64 otherwise; computed in float64.
        """
        check_is_fitted(self)
        X = validate_numbers(self, X, dtype=[np.float64, np.float32], accept_sparse=False, reset=False, copy=False)
        projection = self._projection()
        out = np.empty((len(X), self.n_components_), dtype=_output_dtype(X))
        for rows in _chunks(len(X), _chunk_rows(max(X.shape[1], self.n_components_))):
            chunk = np.asarray(X[rows], dtype=np.float64)
            centred = chunk - self.mean_
            Z = centred @ projection
            norms = np.sqrt(np.einsum("ij,ij->i", Z, Z))  # not finite when a row overflows float64
            if not np.isfinite(norms).all():
                raise ValueError("X has values too large: its projection overflows float64 (inf); rescale X.")
            if self.l2_normalize:
                # a row at the mean up to float64 rounding (e.g. identical samples) stays at 0: its
                # rounding residue would otherwise be scaled up to an arbitrary unit direction
                scale = np.linalg.norm(chunk, axis=1) + np.linalg.norm(self.mean_)
                at_mean = np.linalg.norm(centred, axis=1) <= _AT_MEAN_RTOL * scale
                Z[at_mean] = 0.0
                norms[at_mean] = 0.0
                Z /= np.where(norms > 0, norms, 1.0)[:, None]
            out[rows] = Z
        return out

    def _projection(self) -> np.ndarray:
        """The ``(n_features, n_components_)`` matrix ``transform`` applies to centred rows (whitening included)."""
        projection = self.components_.T
        if self.whiten:
            projection = projection / np.sqrt(self.explained_variance_ + self.eps)
        return projection

    @property
    def _n_features_out(self) -> int:
        """Number of transformed output features."""
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
