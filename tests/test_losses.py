"""Tests for deepclust_sklearn.losses (IICLoss).

The loss is checked against a slow, literal numpy transcription of the
formula in Ji, Henriques & Vedaldi (ICCV 2019) and at analytic values.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from deepclust_sklearn.losses import DACLoss, IICLoss

EPS = sys.float_info.epsilon


def reference_iic_loss(z, z_prime, entropy_weight=1.0, eps=EPS):
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
            loss -= p * (np.log(p) - entropy_weight * np.log(pa) - entropy_weight * np.log(pb))
    return loss


def random_probs(rng, *shape, temperature=1.0):
    logits = torch.from_numpy(rng.standard_normal(shape) / temperature)
    return torch.softmax(logits, dim=-1)


@pytest.mark.parametrize("entropy_weight", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("n_clusters", [2, 3, 7])
@pytest.mark.parametrize("temperature", [1.0, 0.2])
def test_matches_literal_reference(entropy_weight, n_clusters, temperature):
    rng = np.random.RandomState(n_clusters * 100 + int(10 * entropy_weight))
    z = random_probs(rng, 13, n_clusters, temperature=temperature)
    z_prime = random_probs(rng, 13, n_clusters, temperature=temperature)
    loss = IICLoss(entropy_weight=entropy_weight)(z, z_prime)
    assert loss.shape == ()
    expected = reference_iic_loss(z.numpy(), z_prime.numpy(), entropy_weight=entropy_weight)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("entropy_weight", [0.5, 1.0, 2.0])
def test_matches_reference_float32(entropy_weight):
    rng = np.random.RandomState(0)
    z = random_probs(rng, 20, 5).float()
    z_prime = random_probs(rng, 20, 5).float()
    loss = IICLoss(entropy_weight=entropy_weight)(z, z_prime)
    assert loss.dtype == torch.float32
    expected = reference_iic_loss(z.numpy(), z_prime.numpy(), entropy_weight=entropy_weight)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("entropy_weight", [0.5, 1.0, 2.0])
def test_batched_leading_dims_equal_per_subhead_calls(entropy_weight):
    rng = np.random.RandomState(1)
    z = random_probs(rng, 2, 3, 11, 4)
    z_prime = random_probs(rng, 2, 3, 11, 4)
    criterion = IICLoss(entropy_weight=entropy_weight)
    batched = criterion(z, z_prime)
    assert batched.shape == (2, 3)
    for a in range(2):
        for b in range(3):
            single = criterion(z[a, b], z_prime[a, b])
            torch.testing.assert_close(batched[a, b], single, rtol=1e-12, atol=1e-12)
            expected = reference_iic_loss(z[a, b].numpy(), z_prime[a, b].numpy(), entropy_weight=entropy_weight)
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
    loss = IICLoss(entropy_weight=1.0)(z, z.clone())
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
        # mutual information is non-negative, so the loss is <= 0 (entropy_weight=1)
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


# --------------------------------------------------------------------------
# DACLoss
# --------------------------------------------------------------------------


def reference_dac_loss(label_features, upper, lower, targets=None, balance=False, eps=1e-7):
    """Chang et al. (ICCV 2017), written out pair by pair in float64.

    r_ij = 1 if t_ij >= u, 0 if t_ij < l, left out otherwise (t: target
    similarities); the loss is the binary cross-entropy of s_ij against r_ij,
    averaged per class of pair (balance) or over all selected pairs.
    """
    L = np.asarray(label_features, dtype=np.float64)
    T = L if targets is None else np.asarray(targets, dtype=np.float64)
    n = len(L)
    positive_terms, negative_terms = [], []
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            s = min(max(float(L[i] @ L[j]), eps), 1 - eps)
            t = float(T[i] @ T[j])
            if t >= upper:
                positive_terms.append(-np.log(s))
            elif t < lower:
                negative_terms.append(-np.log(1 - s))
    if balance:
        return sum(np.mean(terms) for terms in (positive_terms, negative_terms) if terms)
    terms = positive_terms + negative_terms
    return float(np.mean(terms)) if terms else 0.0


def label_features(rng, n, k, temperature=1.0):
    return torch.nn.functional.normalize(random_probs(rng, n, k, temperature=temperature), dim=1)


@pytest.mark.parametrize("balance", [True, False])
@pytest.mark.parametrize("upper, lower", [(0.95, 0.455), (0.8, 0.5), (0.6, 0.55)])
@pytest.mark.parametrize("temperature", [1.0, 0.1])
def test_dac_matches_literal_reference(balance, upper, lower, temperature):
    rng = np.random.RandomState(int(100 * upper))
    L = label_features(rng, 17, 4, temperature)
    expected = reference_dac_loss(L.numpy(), upper, lower, balance=balance)
    got = DACLoss(balance=balance)(L, upper=upper, lower=lower)
    assert float(got) == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_dac_targets_select_pairs_but_similarities_are_scored():
    rng = np.random.RandomState(3)
    L = label_features(rng, 12, 3)
    T = label_features(rng, 12, 3, temperature=0.1)
    expected = reference_dac_loss(L.numpy(), 0.9, 0.3, targets=T.numpy())
    assert float(DACLoss()(L, T, upper=0.9, lower=0.3)) == pytest.approx(expected, rel=1e-6)
    assert expected != pytest.approx(reference_dac_loss(L.numpy(), 0.9, 0.3))


def test_dac_all_pairs_positive():
    # identical label features: every pair has similarity 1 >= u -> positives, loss -ln(1) = 0
    L = torch.nn.functional.normalize(torch.tensor([[0.7, 0.2, 0.1]] * 5), dim=1)
    loss = DACLoss()(L, upper=0.95, lower=0.455)
    assert float(loss) == pytest.approx(0.0, abs=1e-6)
    positive, negative = DACLoss.select_pairs(DACLoss.similarity(L), 0.95, 0.455)
    assert int(positive.sum()) == 5 * 4 and int(negative.sum()) == 0


def test_dac_all_pairs_negative_hand_computed():
    # three orthogonal one-hot features, plus a fourth at 45 degrees: s = 1/sqrt(2) with two of them
    L = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [2**-0.5, 2**-0.5, 0.0]])
    # with l = 0.75 every off-diagonal pair is negative: 12 ordered pairs, 4 with s = 1/sqrt(2)
    expected = 4 * -np.log(1 - 2**-0.5) / 12
    assert float(DACLoss()(L, upper=0.95, lower=0.75)) == pytest.approx(expected, rel=1e-5)


def test_dac_no_pair_selected_gives_zero_with_a_graph():
    # all similarities 1/sqrt(2) lie between l = 0.5 and u = 0.9: nothing is selected
    L = torch.tensor([[1.0, 0.0], [2**-0.5, 2**-0.5]], requires_grad=True)
    loss = DACLoss()(L, upper=0.9, lower=0.5)
    assert float(loss) == 0.0
    loss.backward()  # still differentiable, with zero gradient
    assert torch.equal(L.grad, torch.zeros_like(L))


def test_dac_gradient_pulls_positives_and_pushes_negatives():
    L0 = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1], [0.95, 0.2], [0.1, 1.0]]), dim=1)
    L = L0.clone().requires_grad_(True)
    DACLoss()(L, upper=0.95, lower=0.455).backward()
    stepped = torch.nn.functional.normalize(L0 - 0.05 * L.grad, dim=1)
    s_before, s_after = DACLoss.similarity(L0), DACLoss.similarity(stepped)
    assert s_after[0, 1] > s_before[0, 1]  # positive pair pulled together
    assert s_after[0, 2] < s_before[0, 2]  # negative pair pushed apart


def test_dac_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"label features of shape \(n, k\)"):
        DACLoss()(torch.ones(3), upper=0.9, lower=0.5)
    with pytest.raises(ValueError, match="targets shaped like the label features"):
        DACLoss()(torch.ones(3, 2), torch.ones(4, 2), upper=0.9, lower=0.5)
