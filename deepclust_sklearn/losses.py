"""Clustering losses as standalone ``torch.nn.Module`` objects."""

from __future__ import annotations

import sys

import torch
from torch import nn

__all__ = ["IICLoss"]


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
    lamb : float, default=1.0
        Weight :math:`\lambda` of the marginal entropy terms.
    eps : float, default=sys.float_info.epsilon
        Clamp for probabilities before the logarithm.

    Shapes
    ------
    ``z``, ``z_prime``: ``(..., n, C)`` probabilities (rows sum to 1); leading
    dimensions (e.g. sub-heads) are batched. Output: ``(...)``, one loss per
    leading index (a scalar for 2-D inputs).

    Examples
    --------
    >>> import torch
    >>> z = torch.eye(4)               # four samples, perfectly confident,
    >>> round(float(IICLoss()(z, z)), 4)  # balanced and consistent: -ln 4
    -1.3863
    """

    def __init__(self, lamb: float = 1.0, eps: float = sys.float_info.epsilon) -> None:
        super().__init__()
        self.lamb = lamb
        self.eps = eps

    def joint(self, z: torch.Tensor, z_prime: torch.Tensor) -> torch.Tensor:
        """Symmetrised, normalised joint distribution ``(..., C, C)``."""
        p = torch.einsum("...nc,...nd->...cd", z, z_prime) / z.shape[-2]
        p = (p + p.transpose(-1, -2)) / 2
        return p / p.sum(dim=(-1, -2), keepdim=True)

    def forward(self, z: torch.Tensor, z_prime: torch.Tensor) -> torch.Tensor:
        if z.shape != z_prime.shape:
            raise ValueError(f"IICLoss needs paired outputs of one shape; got {tuple(z.shape)} and {tuple(z_prime.shape)}.")
        p = self.joint(z, z_prime)
        p_row = p.sum(dim=-1, keepdim=True)
        p_col = p.sum(dim=-2, keepdim=True)
        p, p_row, p_col = (t.clamp_min(self.eps) for t in (p, p_row, p_col))
        return -(p * (p.log() - self.lamb * p_row.log() - self.lamb * p_col.log())).sum(dim=(-1, -2))
