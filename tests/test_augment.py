"""Tests for deepclust_sklearn.augment."""

from __future__ import annotations

import pytest
import torch

from deepclust_sklearn.augment import (
    Identity,
    ImageAugmenter,
    VectorAugmenter,
    default_augmenter,
    sobel,
)

NO_OP = dict(rotation=0.0, scale=(1.0, 1.0), translate=0.0, brightness=0.0, contrast=0.0, flip=False)


@pytest.mark.parametrize("shape", [(4, 1, 8, 8), (3, 3, 32, 32), (2, 1, 5, 5), (2, 2, 7, 9)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_image_augmenter_keeps_shape_and_dtype(shape, dtype):
    torch.manual_seed(0)
    x = torch.randn(*shape, dtype=dtype)
    out = ImageAugmenter(flip=True)(x)
    assert out.shape == x.shape
    assert out.dtype == dtype


def test_image_augmenter_does_not_modify_input():
    torch.manual_seed(0)
    x = torch.randn(4, 1, 8, 8)
    before = x.clone()
    ImageAugmenter(flip=True, fill=-1.0)(x)
    assert torch.equal(x, before)


@pytest.mark.parametrize("shape", [(4, 1, 8, 8), (3, 3, 16, 12)])
def test_image_augmenter_all_off_is_identity(shape):
    torch.manual_seed(0)
    x = torch.randn(*shape)
    out = ImageAugmenter(**NO_OP)(x)
    torch.testing.assert_close(out, x, atol=1e-5, rtol=0)


def test_image_augmenter_rotation_probability_zero_is_identity():
    torch.manual_seed(0)
    x = torch.randn(4, 1, 8, 8)
    out = ImageAugmenter(**{**NO_OP, "rotation": 45.0}, p_rotation=0.0)(x)
    torch.testing.assert_close(out, x, atol=1e-5, rtol=0)


def test_image_augmenter_draws_independently_per_sample():
    torch.manual_seed(0)
    image = torch.randn(1, 1, 8, 8)
    x = image.repeat(2, 1, 1, 1)
    out = ImageAugmenter()(x)
    assert not torch.allclose(out[0], out[1])
    # each part on its own is drawn per sample too
    for part in (
        {**NO_OP, "brightness": 0.4},
        {**NO_OP, "contrast": 0.4},
        {**NO_OP, "translate": 0.2},
        {**NO_OP, "scale": (1.0, 1.5)},
        {**NO_OP, "rotation": 30.0, "p_rotation": 1.0},
    ):
        out = ImageAugmenter(**part)(image.repeat(4, 1, 1, 1))
        assert not torch.allclose(out[0], out[1]), part


@pytest.mark.parametrize("fill", [-1.0, [-1.0, 2.0]])
def test_image_augmenter_fill_used_outside_image(fill):
    torch.manual_seed(0)
    n_channels = 1 if isinstance(fill, float) else len(fill)
    x = torch.full((3, n_channels, 16, 16), 3.0)
    out = ImageAugmenter(**{**NO_OP, "scale": (0.5, 0.5)}, fill=fill)(x)
    expected_fill = torch.as_tensor(fill, dtype=torch.float32).reshape(1, -1)
    # zoom-out by 2: the image occupies the central half, the corners come from outside
    for corner in (out[:, :, 0, 0], out[:, :, 0, -1], out[:, :, -1, 0], out[:, :, -1, -1]):
        torch.testing.assert_close(corner, expected_fill.expand(3, n_channels), atol=1e-5, rtol=0)
    # the centre still shows the image
    torch.testing.assert_close(out[:, :, 8, 8], torch.full((3, n_channels), 3.0), atol=1e-5, rtol=0)


def test_image_augmenter_flip_only_gives_mirror_or_original():
    torch.manual_seed(0)
    x = torch.randn(32, 2, 6, 7)
    out = ImageAugmenter(**{**NO_OP, "flip": True})(x)
    mirrored = x.flip(-1)
    n_flipped = 0
    for i in range(len(x)):
        if torch.allclose(out[i], x[i], atol=1e-5):
            continue
        torch.testing.assert_close(out[i], mirrored[i], atol=1e-5, rtol=0)
        n_flipped += 1
    assert 0 < n_flipped < len(x)


def test_image_augmenter_deterministic_under_manual_seed():
    x = torch.randn(6, 3, 10, 10, generator=torch.Generator().manual_seed(1))
    aug = ImageAugmenter(flip=True)
    torch.manual_seed(123)
    a = aug(x)
    torch.manual_seed(123)
    b = aug(x)
    torch.manual_seed(124)
    c = aug(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_vector_augmenter_noise_statistics():
    torch.manual_seed(0)
    x = torch.zeros(20000, 8)
    out = VectorAugmenter(noise=0.3, mask=0.0)(x)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert abs(float(out.mean())) < 0.01
    assert abs(float(out.std()) - 0.3) < 0.01
    assert torch.equal(x, torch.zeros(20000, 8))


def test_vector_augmenter_mask_fraction():
    torch.manual_seed(0)
    x = torch.ones(20000, 8)
    out = VectorAugmenter(noise=0.0, mask=0.25)(x)
    masked = float((out == 0).float().mean())
    assert abs(masked - 0.25) < 0.01
    # unmasked entries are left alone
    assert torch.equal(out[out != 0], torch.ones(int((out != 0).sum())))


def test_vector_augmenter_off_is_identity_and_deterministic():
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    assert torch.equal(VectorAugmenter(noise=0.0, mask=0.0)(x), x)
    aug = VectorAugmenter()
    torch.manual_seed(7)
    a = aug(x)
    torch.manual_seed(7)
    b = aug(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, x)


def test_identity_returns_input():
    x = torch.randn(3, 4)
    assert Identity()(x) is x


@pytest.mark.parametrize("shape", [(2, 1, 8, 8), (3, 3, 5, 7)])
def test_sobel_shape_and_constant_image(shape):
    x = torch.randn(*shape)
    assert sobel(x).shape == (shape[0], 2, shape[2], shape[3])
    constant = torch.full(shape, 2.5)
    # zero padding makes the border respond; the interior of a constant image has no edges
    out = sobel(constant)
    torch.testing.assert_close(out[:, :, 1:-1, 1:-1], torch.zeros_like(out[:, :, 1:-1, 1:-1]))


def test_sobel_zero_on_constant_zero_image():
    out = sobel(torch.zeros(2, 3, 6, 6))
    assert torch.equal(out, torch.zeros(2, 2, 6, 6))


def test_sobel_detects_vertical_edge():
    x = torch.zeros(1, 1, 6, 6)
    x[..., 3:] = 1.0
    out = sobel(x)
    assert out[0, 0, 2:4, 2:4].abs().sum() > 0  # horizontal gradient at the edge
    torch.testing.assert_close(out[0, 1, 1:-1, 1:-1], torch.zeros(4, 4))  # no vertical gradient inside


def test_default_augmenter():
    assert isinstance(default_augmenter((1, 8, 8)), ImageAugmenter)
    assert isinstance(default_augmenter((10,)), VectorAugmenter)
    aug = default_augmenter((2, 8, 8), fill=[-1.0, 1.0])
    assert aug.fill.reshape(-1).tolist() == [-1.0, 1.0]
