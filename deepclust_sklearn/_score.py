r"""The label-free score every deep estimator shares: mutual information under the training transformations.

All three methods assume the same thing of a good clustering: a sample and
a transformed copy of it (a small rotation, a crop, noise: the method's
``augment``) belong to the same cluster, and the clusters are used. IIC
trains for exactly this quantity; DAC's pairs and DeepCluster's pseudo-labels
reward it indirectly. Measured on held-out data, it needs no labels, it is
the same number for every method (so ``GridSearchCV`` may compare them),
and it is what :meth:`BaseDeepClusterer.score` returns:

.. math::

    P = \frac{1}{N} \sum_{i=1}^{N} p_i q_i^\top,
    \qquad
    I(P) = \sum_{j,k} P_{jk} \log \frac{P_{jk}}{P_{j\cdot} P_{\cdot k}}

with :math:`p_i` the one-hot cluster assignment (the label ``predict``
gives) of sample :math:`x_i` and :math:`q_i` that of one transformed copy
:math:`t(x_i)` (Ji et al., 2019, eq. 3, on hard rather than soft assignments: the score
is about the labels a user gets, and it compares across methods whose
outputs are not all probabilities, DeepCluster's being distances; not
symmetrised, as only the copy is transformed). This is
:func:`sklearn.metrics.mutual_info_score` of the two labellings. ``I`` lies in
``[0, log k]``: 0 for one cluster, for assignments independent of the input,
or for copies assigned independently of their originals; ``log k`` for
``k`` equally used clusters that every copy keeps.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import adjusted_mutual_info_score, mutual_info_score

# The copies are drawn from this seed, whatever the estimator's random_state:
# two fitted settings are compared on the same transformed copies of X.
SCORE_SEED = 0


def transformed_copies(net):
    """Raw-input batch -> a transformed copy of it, through the net's training augmenter.

    The augmenter works on standardised inputs; the copy is mapped back to
    raw units, so the network's own ``forward`` (which standardises) sees it
    as it would see any input.
    """
    standardize, augmenter = net.module_.standardize, net.augmenter_

    def prepare(x: torch.Tensor) -> torch.Tensor:
        return augmenter(standardize(x)) * standardize.scale + standardize.mean

    return prepare


def mutual_information(labels: np.ndarray, copy_labels: np.ndarray) -> float:
    """``I(P)`` of the module docstring, in nats, from the labels of the samples and of their copies.

    >>> import numpy as np
    >>> labels = np.array([0, 1, 2, 3] * 5)
    >>> bool(np.isclose(mutual_information(labels, labels), np.log(4)))  # 4 used clusters, all kept
    True
    >>> mutual_information(labels, np.zeros(20, dtype=int))  # every copy in one cluster
    0.0
    """
    return float(max(mutual_info_score(labels, copy_labels), 0.0))


def augmentation_ami_scorer(estimator, X, y=None) -> float:
    """Label-free scorer for choosing ``n_clusters``: chance-adjusted agreement of the clusters of X and of copies.

    The adjusted mutual information (:func:`sklearn.metrics.adjusted_mutual_info_score`)
    between ``predict`` on ``X`` and on one transformed copy of ``X``, the
    two labellings that ``score`` compares. ``score`` (their mutual
    information) grows with the number of clusters; the AMI subtracts what
    two random labellings with those cluster sizes would share and divides
    by the entropies, so it lies in ``[0, 1]`` (1: every copy keeps its
    cluster) whatever ``n_clusters`` is. A split of a real class into two
    puts a boundary where transformed copies cross it, and a forced merge of
    two classes leaves clusters the network cannot hold together, so both
    lower it. Use it as ``scoring`` in a search over ``n_clusters``;
    ``y`` is ignored. Its bias runs the other way from ``score``'s: fewer
    clusters have fewer boundaries to cross, so on data whose groups the
    transformations do not separate cleanly (measured: 2-D blobs with the
    vector augmenter) it prefers the smallest candidate. How often it finds
    the number of classes on the dev sets: ``benchmarks/results/n_clusters.md``.

    Parameters
    ----------
    estimator : fitted IICEstimator, DACEstimator or DeepClusterEstimator
    X : array-like of the same kind as in ``fit``
    y : None
        Ignored; labels are never used.

    Returns
    -------
    ami : float
        At most 1; about 0 when copies land in clusters unrelated to their
        sample's.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn.model_selection import GridSearchCV
    >>> from deepclust_sklearn import DeepClusterEstimator, augmentation_ami_scorer
    >>> X, _ = make_blobs(n_samples=120, centers=3, cluster_std=0.5, random_state=0)
    >>> est = DeepClusterEstimator(max_epochs=4, batch_size=32, module_kwargs={"hidden": (32,)}, random_state=0)
    >>> everything = [(np.arange(len(X)), np.arange(len(X)))]
    >>> search = GridSearchCV(est, {"n_clusters": [2, 3, 4]}, scoring=augmentation_ami_scorer, cv=everything)
    >>> scores = search.fit(X).cv_results_["mean_test_score"]  # one AMI per n_clusters
    >>> bool(all(0 <= score <= 1 for score in scores)), sorted(search.best_params_)
    (True, ['n_clusters'])
    """
    labels, copy_labels = estimator._labels_and_copy_labels(X)
    return float(adjusted_mutual_info_score(labels, copy_labels))
