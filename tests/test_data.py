"""Tests for deepclust_sklearn._data: the input standardisation's statistics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import pdist

from deepclust_sklearn._data import channel_stats


def _anisotropic_vectors(n=500, seed=0):
    """Features with standard deviations 10, 1 and 0.01 (a PCA embedding's falling spectrum) and offsets."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)) * np.array([10.0, 1.0, 0.01]) + np.array([5.0, -3.0, 100.0])


def test_vectors_share_one_scale_so_distances_keep_their_proportions():
    X = _anisotropic_vectors()
    mean, scale = channel_stats(X, (3,))
    assert mean.shape == scale.shape == (3,)
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-5)
    assert np.all(scale == scale[0])  # one scale for all features
    centred = X - X.mean(axis=0)
    np.testing.assert_allclose(scale[0], np.sqrt((centred**2).mean()), rtol=1e-5)
    Z = (X - mean) / scale
    np.testing.assert_allclose((Z**2).mean(), 1.0, rtol=1e-4)  # unit RMS overall
    ratio = pdist(Z[:50]) / pdist(X[:50])
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4)  # every distance scaled alike
    # the low-variance feature stays small instead of being blown up to unit variance
    assert Z[:, 2].std() < 0.01 < 1.0 < Z[:, 0].std()


def test_images_are_standardised_per_channel():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 2, 4, 4)) * np.array([3.0, 0.5]).reshape(1, 2, 1, 1)
    mean, scale = channel_stats(X.reshape(200, -1), (2, 4, 4))
    assert mean.shape == scale.shape == (2, 1, 1)
    np.testing.assert_allclose(scale.ravel(), X.std(axis=(0, 2, 3)), rtol=1e-4)


@pytest.mark.parametrize("shape", [(3,), (1, 2, 2)])
def test_constant_input_gets_scale_one(shape):
    X = np.full((10, int(np.prod(shape))), 4.0)
    mean, scale = channel_stats(X, shape)
    np.testing.assert_allclose(mean.ravel(), 4.0)
    np.testing.assert_allclose(scale.ravel(), 1.0)


def test_vector_statistics_do_not_modify_the_input():
    X = _anisotropic_vectors()
    before = X.copy()
    channel_stats(X, (3,))
    np.testing.assert_array_equal(X, before)
