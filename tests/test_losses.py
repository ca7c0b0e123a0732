"""Tests for deepclust_sklearn.losses (IICLoss).

The loss is checked against a slow, literal numpy transcription of the
formula in Ji, Henriques & Vedaldi (ICCV 2019) and at analytic values.
"""

from __future__ import annotations

import doctest
import sys

import numpy as np
import pytest
import torch

import deepclust_sklearn.losses as losses_module
from deepclust_sklearn.losses import IICLoss

EPS = sys.float_info.epsilon


def reference_iic_loss(z, z_prime, lamb=1.0, eps=EPS):
    """The paper's formula, written out with explicit loops in float64."""
    z = np.asarray(z, dtype=np.float64)
    z_prime = np.asarray(z_prime, dtype=np.float64)
    n, c = z.shape
    # P = 1/n sum_i z_i z'_i^T
    P = np.zeros((c, c))
    for i in range(n):
        for a in range(c):
            for b in range(c):
                P[a, b] += z[i, a] * z_prime[i, b]
    P /= n
    # symmetrise and normalise
    P = (P + P.T) / 2
    P = P / P.sum()
    # marginals
    P_row = np.array([sum(P[a, b] for b in range(c)) for a in range(c)])
    P_col = np.array([sum(P[a, b] for a in range(c)) for b in range(c)])
    loss = 0.0
    for a in range(c):
        for b in range(c):
            p = max(P[a, b], eps)
            pa = max(P_row[a], eps)
            pb = max(P_col[b], eps)
            loss -= p * (np.log(p) - lamb * np.log(pa) - lamb * np.log(pb))
    return loss


def random_probs(rng, *shape, temperature=1.0):
    logits = torch.from_numpy(rng.standard_normal(shape) / temperature)
    return torch.softmax(logits, dim=-1)


@pytest.mark.parametrize("lamb", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("n_clusters", [2, 3, 7])
@pytest.mark.parametrize("temperature", [1.0, 0.2])
def test_matches_literal_reference(lamb, n_clusters, temperature):
    rng = np.random.RandomState(n_clusters * 100 + int(10 * lamb))
    z = random_probs(rng, 13, n_clusters, temperature=temperature)
    z_prime = random_probs(rng, 13, n_clusters, temperature=temperature)
    loss = IICLoss(lamb=lamb)(z, z_prime)
    assert loss.shape == ()
    expected = reference_iic_loss(z.numpy(), z_prime.numpy(), lamb=lamb)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("lamb", [0.5, 1.0, 2.0])
def test_matches_reference_float32(lamb):
    rng = np.random.RandomState(0)
    z = random_probs(rng, 20, 5).float()
    z_prime = random_probs(rng, 20, 5).float()
    loss = IICLoss(lamb=lamb)(z, z_prime)
    assert loss.dtype == torch.float32
    expected = reference_iic_loss(z.numpy(), z_prime.numpy(), lamb=lamb)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("lamb", [0.5, 1.0, 2.0])
def test_batched_leading_dims_equal_per_subhead_calls(lamb):
    rng = np.random.RandomState(1)
    z = random_probs(rng, 2, 3, 11, 4)
    z_prime = random_probs(rng, 2, 3, 11, 4)
    criterion = IICLoss(lamb=lamb)
    batched = criterion(z, z_prime)
    assert batched.shape == (2, 3)
    for a in range(2):
        for b in range(3):
            single = criterion(z[a, b], z_prime[a, b])
            torch.testing.assert_close(batched[a, b], single, rtol=1e-12, atol=1e-12)
            expected = reference_iic_loss(z[a, b].numpy(), z_prime[a, b].numpy(), lamb=lamb)
            np.testing.assert_allclose(float(batched[a, b]), expected, rtol=1e-10)


def test_symmetric_in_its_arguments():
    rng = np.random.RandomState(2)
    z, z_prime = random_probs(rng, 9, 4), random_probs(rng, 9, 4)
    torch.testing.assert_close(IICLoss()(z, z_prime), IICLoss()(z_prime, z))


@pytest.mark.parametrize("n_clusters", [2, 3, 5, 10])
def test_confident_consistent_balanced_gives_minus_ln_c(n_clusters):
    # Each cluster gets the same number of samples, one-hot and identical pairs.
    z = torch.eye(n_clusters, dtype=torch.float64).repeat(3, 1)
    loss = IICLoss()(z, z.clone())
    np.testing.assert_allclose(float(loss), -np.log(n_clusters), rtol=1e-12)


@pytest.mark.parametrize("n_clusters", [2, 4, 10])
def test_everything_in_one_cluster_gives_zero(n_clusters):
    z = torch.zeros(12, n_clusters, dtype=torch.float64)
    z[:, 1] = 1.0
    loss = IICLoss(lamb=1.0)(z, z.clone())
    assert abs(float(loss)) < 1e-12


@pytest.mark.parametrize("n_clusters", [2, 4, 10])
def test_uniform_outputs_give_zero(n_clusters):
    z = torch.full((12, n_clusters), 1.0 / n_clusters, dtype=torch.float64)
    loss = IICLoss()(z, z.clone())
    assert abs(float(loss)) < 1e-12


@pytest.mark.parametrize("n_clusters", [2, 3, 6, 10])
def test_bounded_below_by_minus_ln_c(n_clusters):
    rng = np.random.RandomState(n_clusters)
    criterion = IICLoss()
    for temperature in (2.0, 1.0, 0.3, 0.05):
        z = random_probs(rng, 8, 25, n_clusters, temperature=temperature)
        z_prime = random_probs(rng, 8, 25, n_clusters, temperature=temperature)
        losses = criterion(z, z_prime)
        assert losses.shape == (8,)
        assert torch.all(losses >= -np.log(n_clusters) - 1e-10)
        # mutual information is non-negative, so the loss is <= 0 (lamb=1)
        assert torch.all(losses <= 1e-10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradient_finite_with_exact_zeros(dtype):
    # One-hot assignments leave exact zeros both in the inputs and in P.
    z = torch.zeros(6, 4, dtype=dtype)
    z[torch.arange(6), torch.tensor([0, 0, 1, 1, 2, 2])] = 1.0
    z.requires_grad_(True)
    z_prime = z.detach().clone().requires_grad_(True)
    loss = IICLoss()(z, z_prime)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(z.grad).all()
    assert torch.isfinite(z_prime.grad).all()


def test_gradient_finite_through_softmax_with_saturated_logits():
    logits = torch.tensor([[200.0, -200.0, 0.0], [-200.0, 200.0, 0.0]] * 3, requires_grad=True)
    z = torch.softmax(logits, dim=-1)
    assert (z == 0).any()
    loss = IICLoss()(z, z)
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_shape_mismatch_raises():
    z = torch.full((4, 3), 1 / 3)
    z_prime = torch.full((5, 3), 1 / 3)
    with pytest.raises(ValueError, match=r"paired outputs of one shape; got \(4, 3\) and \(5, 3\)"):
        IICLoss()(z, z_prime)
    with pytest.raises(ValueError, match="paired outputs of one shape"):
        IICLoss()(torch.full((4, 3), 1 / 3), torch.full((4, 2), 1 / 2))


def test_module_doctest():
    result = doctest.testmod(losses_module, raise_on_error=False, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0
