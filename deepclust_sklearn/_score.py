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
from sklearn.metrics import mutual_info_score

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


def normalized_score_scorer(estimator, X, y=None) -> float:
    r"""Label-free scorer for choosing ``n_clusters``: ``score(X)`` as a fraction of its maximum, ``log(n_clusters)``.

    .. math:: \frac{I(P)}{\log k}

    with :math:`I(P)` what :meth:`score` returns (the mutual information of
    ``predict`` on ``X`` and on one transformed copy of ``X``) and ``k`` the
    fitted number of clusters. ``score`` itself grows with ``k``; this ratio
    lies in ``[0, 1]`` and is 1 only when the ``k`` clusters are used
    equally and every copy keeps its cluster. An extra cluster that splits
    a real group adds a boundary that transformed copies cross, so the
    mutual information grows by less than ``log k`` does; a cluster that
    merges two groups is held together by less than the network could, or
    leaves the information of the split unused. Use it as ``scoring`` in a
    search over ``n_clusters``; ``y`` is ignored. It favours clusters of
    equal size (an unused or small cluster lowers the entropy of the labels
    below ``log k``). How often it finds the number of classes on the dev
    sets, and where it does not: ``docs/usage.md`` and
    ``benchmarks/results/n_clusters.md``.

    Parameters
    ----------
    estimator : fitted IICEstimator, DACEstimator or DeepClusterEstimator
        Fitted with ``n_clusters >= 2``.
    X : array-like of the same kind as in ``fit``
    y : None
        Ignored; labels are never used.

    Returns
    -------
    ratio : float
        In ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn.model_selection import GridSearchCV
    >>> from deepclust_sklearn import DeepClusterEstimator, normalized_score_scorer
    >>> X, _ = make_blobs(n_samples=120, centers=3, cluster_std=0.5, random_state=0)
    >>> est = DeepClusterEstimator(max_epochs=4, batch_size=32, module_kwargs={"hidden": (32,)}, random_state=0)
    >>> everything = [(np.arange(len(X)), np.arange(len(X)))]
    >>> search = GridSearchCV(est, {"n_clusters": [2, 3, 4]}, scoring=normalized_score_scorer, cv=everything)
    >>> ratios = search.fit(X).cv_results_["mean_test_score"]  # one per n_clusters
    >>> bool(all(0 <= ratio <= 1 for ratio in ratios)), sorted(search.best_params_)
    (True, ['n_clusters'])
    """
    n_outputs = estimator._n_features_out
    if n_outputs < 2:
        raise ValueError(
            f"normalized_score_scorer needs an estimator fitted with n_clusters >= 2; got {n_outputs}: "
            "with one cluster there is nothing to choose (log 1 = 0)."
        )
    return float(estimator.score(X) / np.log(n_outputs))
