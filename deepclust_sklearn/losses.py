"""Clustering losses as standalone ``torch.nn.Module`` objects."""

from __future__ import annotations

import sys

import torch
from torch import nn

__all__ = ["IICLoss", "DACLoss"]


class IICLoss(nn.Module):
    r"""Invariant Information Clustering loss (Ji, Henriques, Vedaldi, ICCV 2019).

    For cluster probabilities :math:`z_i = \Phi(x_i)` and :math:`z'_i = \Phi(x'_i)`
    of ``n`` paired samples, the joint distribution is

    .. math::

        P = \frac{1}{n} \sum_i z_i {z'_i}^\top, \qquad
        P \leftarrow \frac{P + P^\top}{2}, \qquad P \leftarrow P / \textstyle\sum P

    with marginals :math:`P_c = \sum_{c'} P_{cc'}` and :math:`P_{c'} = \sum_c P_{cc'}`,
    and the loss is the negative (generalised) mutual information

    .. math::

        L = -\sum_{c, c'} P_{cc'} \left[\ln P_{cc'} - \lambda \ln P_c - \lambda \ln P_{c'}\right].

    With :math:`\lambda = 1` its minimum, :math:`-\ln C`, is reached by
    confident, consistent assignments spread evenly over all :math:`C`
    clusters, so collapsing to one cluster is never optimal. Entries of
    :math:`P` below ``eps`` are clamped to ``eps`` before taking logs.

    Parameters
    ----------
    entropy_weight : float, default=1.0
        Weight :math:`\lambda` of the marginal entropy terms.
    eps : float, default=sys.float_info.epsilon
        Clamp for probabilities before the logarithm.

    See Also
    --------
    deepclust_sklearn.IICEstimator : Trains a clustering network with this loss.
    DACLoss : Pairwise binary cross-entropy of Deep Adaptive Clustering.

    Notes
    -----
    Called as ``loss(z, z_prime)``.

    Shapes: ``z``, ``z_prime``: ``(..., n, C)`` probabilities (rows sum to
    1); leading dimensions (e.g. sub-heads) are batched. Output: ``(...)``,
    one loss per leading index (a scalar for 2-D inputs).

    References
    ----------
    X. Ji, J. F. Henriques and A. Vedaldi. "Invariant Information Clustering
    for Unsupervised Image Classification and Segmentation." ICCV 2019,
    pp. 9865-9874. arXiv:1807.06653.

    Examples
    --------
    >>> import torch
    >>> z = torch.eye(4)               # four samples, perfectly confident,
    >>> round(float(IICLoss()(z, z)), 4)  # balanced and consistent: -ln 4
    -1.3863

    All samples in one cluster carry no information (with ``entropy_weight=1``):

    >>> one = torch.tensor([[1.0, 0.0]] * 4)
    >>> round(abs(float(IICLoss()(one, one))), 4)
    0.0

    Leading dimensions are batched: one loss per sub-head.

    >>> z = torch.softmax(torch.zeros(5, 32, 10), dim=-1)  # 5 sub-heads, 32 samples, 10 clusters
    >>> IICLoss(entropy_weight=1.5)(z, z).shape
    torch.Size([5])
    """

    def __init__(self, entropy_weight: float = 1.0, eps: float = sys.float_info.epsilon) -> None:
        super().__init__()
        self.entropy_weight = entropy_weight
        self.eps = eps

    def joint(self, z: torch.Tensor, z_prime: torch.Tensor) -> torch.Tensor:
        """Symmetrised, normalised joint distribution ``(..., C, C)``."""
        p = torch.einsum("...nc,...nd->...cd", z, z_prime) / z.shape[-2]
        p = (p + p.transpose(-1, -2)) / 2
        return p / p.sum(dim=(-1, -2), keepdim=True)

    def forward(self, z: torch.Tensor, z_prime: torch.Tensor) -> torch.Tensor:
        if z.shape != z_prime.shape:
            raise ValueError(
                f"IICLoss needs paired outputs of one shape; got {tuple(z.shape)} and {tuple(z_prime.shape)}."
            )
        p = self.joint(z, z_prime)
        p_row = p.sum(dim=-1, keepdim=True)
        p_col = p.sum(dim=-2, keepdim=True)
        p, p_row, p_col = (t.clamp_min(self.eps) for t in (p, p_row, p_col))
        weight = self.entropy_weight
        return -(p * (p.log() - weight * p_row.log() - weight * p_col.log())).sum(dim=(-1, -2))


class DACLoss(nn.Module):
    r"""Deep Adaptive Clustering loss (Chang, Wang, Meng, Xiang, Pan, ICCV 2017).

    Every sample has a *label feature* :math:`l_i`, its softmax output
    normalised to unit length, so the similarity of two samples
    :math:`s_{ij} = l_i \cdot l_j` lies in :math:`[0, 1]` and equals 1 exactly
    when both put all their mass on the same cluster. Pairs are selected by
    two thresholds :math:`u > l` (DAC's :math:`u(\lambda)` and :math:`l(\lambda)`):

    .. math::

        r_{ij} = 1 \text{ if } t_{ij} \ge u, \qquad
        r_{ij} = 0 \text{ if } t_{ij} < l, \qquad
        \text{left out otherwise,}

    where :math:`t_{ij}` is the similarity of the *targets* (by default the
    label features themselves, detached, as in the paper). The loss is the
    binary cross-entropy between :math:`r_{ij}` and :math:`s_{ij}` averaged
    over the selected positive pairs :math:`P` and negative pairs :math:`N`:

    .. math::

        L = -\frac{1}{|P| + |N|} \Big[\sum_{(i,j) \in P} \ln s_{ij}
            + \sum_{(i,j) \in N} \ln (1 - s_{ij})\Big],

    or, with ``balance=True``, each set averaged on its own:
    :math:`-\frac{1}{|P|} \sum_P \ln s_{ij} - \frac{1}{|N|} \sum_N \ln (1 - s_{ij})`.
    A set that is empty contributes 0. The diagonal (:math:`s_{ii} = 1`
    always) is left out. Similarities are clamped to ``[eps, 1 - eps]``
    before the logarithms.

    Parameters
    ----------
    balance : bool, default=False
        Average positives and negatives separately.
    eps : float, default=1e-7
        Clamp for similarities before the logarithm.

    See Also
    --------
    deepclust_sklearn.DACEstimator : Trains a clustering network with this
        loss and DAC's threshold schedule.
    IICLoss : Mutual information between the clusterings of paired views.

    Notes
    -----
    Called as ``loss(label_features, targets=None, *, upper, lower)``.

    Shapes: ``label_features``: ``(n, k)`` rows of unit length;
    ``targets``: the same shape or ``None``; ``upper``, ``lower``: floats.
    Output: a scalar.

    References
    ----------
    J. Chang, L. Wang, G. Meng, S. Xiang and C. Pan. "Deep Adaptive Image
    Clustering." ICCV 2017, pp. 5879-5887.

    Examples
    --------
    >>> import torch
    >>> l = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]), dim=1)
    >>> round(float(DACLoss()(l, upper=0.95, lower=0.455)), 4)  # 1 positive pair, 2 negatives
    0.0411

    The selected pairs, as boolean ``(n, n)`` masks (ordered pairs, so each
    unordered pair counts twice):

    >>> positive, negative = DACLoss.select_pairs(DACLoss.similarity(l), upper=0.95, lower=0.455)
    >>> int(positive.sum()), int(negative.sum())
    (2, 4)
    """

    def __init__(self, balance: bool = False, eps: float = 1e-7) -> None:
        super().__init__()
        self.balance = balance
        self.eps = eps

    @staticmethod
    def similarity(label_features: torch.Tensor) -> torch.Tensor:
        """Pairwise dot products ``(n, n)`` of the label features."""
        return label_features @ label_features.T

    @staticmethod
    def select_pairs(target_similarity: torch.Tensor, upper: float, lower: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Boolean masks of positive (``>= upper``) and negative (``< lower``) off-diagonal pairs."""
        off_diagonal = ~torch.eye(len(target_similarity), dtype=torch.bool, device=target_similarity.device)
        positive = (target_similarity >= upper) & off_diagonal
        negative = (target_similarity < lower) & off_diagonal
        return positive, negative

    def forward(
        self,
        label_features: torch.Tensor,
        targets: torch.Tensor | None = None,
        *,
        upper: float,
        lower: float,
    ) -> torch.Tensor:
        if label_features.dim() != 2:
            raise ValueError(f"DACLoss needs label features of shape (n, k); got {tuple(label_features.shape)}.")
        if targets is not None and targets.shape != label_features.shape:
            raise ValueError(
                f"DACLoss needs targets shaped like the label features {tuple(label_features.shape)}; "
                f"got {tuple(targets.shape)}."
            )
        target_similarity = self.similarity((label_features if targets is None else targets).detach())
        positive, negative = self.select_pairs(target_similarity, upper, lower)
        return self.pair_loss(label_features, positive, negative)

    def pair_loss(self, label_features: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
        """The cross-entropy for pairs already selected (boolean ``(n, n)`` masks)."""
        similarity = self.similarity(label_features).clamp(self.eps, 1 - self.eps)
        positive_terms = -similarity[positive].log()
        negative_terms = -(1 - similarity[negative]).log()
        loss = similarity.sum() * 0.0  # keeps the graph when no pair is selected
        if self.balance:
            for terms in (positive_terms, negative_terms):
                if len(terms):
                    loss = loss + terms.mean()
        elif len(positive_terms) + len(negative_terms):
            loss = loss + (positive_terms.sum() + negative_terms.sum()) / (len(positive_terms) + len(negative_terms))
        return loss
