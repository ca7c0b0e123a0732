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


def test_vector_augmenter_neighbour_step_lies_on_the_segment_to_the_nearest_other_sample():
    # three points on a line: 0 and 1 are each other's nearest, 10's nearest is 1
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]])
    aug = VectorAugmenter(noise=0.0, mask=0.0, neighbour=1.0)
    assert aug.nearest_other(x).tolist() == [1, 0, 1]
    torch.manual_seed(0)
    outs = torch.stack([aug(x) for _ in range(200)])
    torch.testing.assert_close(outs[..., 1], torch.zeros(200, 3))  # stays on the line
    assert 0.0 <= float(outs[:, 0, 0].min()) and float(outs[:, 0, 0].max()) <= 1.0
    assert 1.0 <= float(outs[:, 2, 0].min()) and float(outs[:, 2, 0].max()) <= 10.0
    # the step is uniform in (0, neighbour): it reaches past half the way and not only there
    assert float(outs[:, 2, 0].min()) < 3.0 and float(outs[:, 2, 0].max()) > 8.0
    half = VectorAugmenter(noise=0.0, mask=0.0, neighbour=0.5)
    assert float(torch.stack([half(x) for _ in range(200)])[:, 2, 0].min()) >= 5.5 - 1e-5


def test_vector_augmenter_neighbour_skips_copies_of_the_sample_itself():
    # IIC augments repeats of each batch: a copy must not serve as the sample's neighbour
    x = torch.randn(16, 5, generator=torch.Generator().manual_seed(0)).repeat(4, 1)
    nearest = VectorAugmenter(neighbour=1.0).nearest_other(x)
    assert not torch.equal(x[nearest], x)
    assert ((torch.arange(64) % 16) != (nearest % 16)).all()
    # a batch of one distinct row has no neighbour: it stays where it is
    same = torch.ones(4, 3)
    assert VectorAugmenter(neighbour=1.0).nearest_other(same).tolist() == [0, 1, 2, 3]
    out = VectorAugmenter(noise=0.0, mask=0.0, neighbour=1.0)(same)
    assert torch.equal(out, same)


def test_vector_augmenter_neighbour_leaves_the_input_alone():
    x = torch.randn(8, 3, generator=torch.Generator().manual_seed(1))
    before = x.clone()
    VectorAugmenter(neighbour=1.0)(x)
    assert torch.equal(x, before)
    assert "neighbour=1.0" in repr(VectorAugmenter(neighbour=1.0))


def test_sobel_detects_vertical_edge():
    x = torch.zeros(1, 1, 6, 6)
    x[..., 3:] = 1.0
    out = sobel(x)
    assert out[0, 0, 2:4, 2:4].abs().sum() > 0  # horizontal gradient at the edge
    torch.testing.assert_close(out[0, 1, 1:-1, 1:-1], torch.zeros(4, 4))  # no vertical gradient inside


def test_default_augmenter():
    assert isinstance(default_augmenter((1, 8, 8)), ImageAugmenter)
    vectors = default_augmenter((10,))
    assert isinstance(vectors, VectorAugmenter)
    assert (vectors.neighbour, vectors.noise, vectors.mask) == (1.0, 0.2, 0.0)
    aug = default_augmenter((2, 8, 8), fill=[-1.0, 1.0])
    assert aug.fill.reshape(-1).tolist() == [-1.0, 1.0]
    # neighbour reaches the vector branch only: images are built the same with or without it
    assert default_augmenter((10,), neighbour=2.0).neighbour == 2.0
    assert repr(default_augmenter((1, 8, 8), neighbour=2.0)) == repr(default_augmenter((1, 8, 8)))


@pytest.mark.parametrize(
    ("name", "step"), [("IICEstimator", 1.0), ("DACEstimator", 3.0), ("DeepClusterEstimator", 2.0)]
)
def test_vector_neighbour_step_per_method(name, step):
    # IIC augments both views of a pair; DAC and DeepCluster match one augmented view to the clean
    # sample's target and step past the neighbour (docs/experiments.md, "Vectors")
    import deepclust_sklearn

    est = getattr(deepclust_sklearn, name)(n_clusters=3, random_state=0)
    vectors = est._augmenter_factory((10,), mean=0.0, scale=1.0)()
    assert isinstance(vectors, VectorAugmenter)
    assert (vectors.neighbour, vectors.noise, vectors.mask) == (step, 0.2, 0.0)


# --------------------------------------------------------------- colour path (issue 17)
def _old_forward(aug, x):
    """ImageAugmenter's forward before the colour options, copied verbatim (affine matrices included)."""
    import math

    import torch.nn.functional as F

    def uniform(n, low, high, like):
        return torch.rand(n, device=like.device, dtype=like.dtype) * (high - low) + low

    n = x.shape[0]
    angle = uniform(n, -aug.rotation, aug.rotation, x) * (math.pi / 180)
    angle = angle * (torch.rand(n, device=x.device) < aug.p_rotation).to(x.dtype)
    zoom = uniform(n, aug.scale[0], aug.scale[1], x)
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    mirror = torch.ones(n, device=x.device, dtype=x.dtype)
    if aug.flip:
        mirror = torch.where(torch.rand(n, device=x.device) < 0.5, -mirror, mirror)
    shift = uniform(2 * n, -2 * aug.translate, 2 * aug.translate, x).view(n, 2)
    theta = torch.stack(
        [torch.stack([cos * mirror, -sin, shift[:, 0]], dim=1), torch.stack([sin * mirror, cos, shift[:, 1]], dim=1)],
        dim=1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x - aug.fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + aug.fill
    if aug.contrast > 0:
        mean = out.mean(dim=(1, 2, 3), keepdim=True)
        factor = uniform(n, 1 - aug.contrast, 1 + aug.contrast, x).view(n, 1, 1, 1)
        out = (out - mean) * factor + mean
    if aug.brightness > 0:
        out = out + uniform(n, -aug.brightness, aug.brightness, x).view(n, 1, 1, 1)
    return out


def _luma(x):
    return 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({}, (6, 1, 28, 28)),
        ({}, (6, 3, 32, 32)),
        ({"flip": True, "fill": [-1.0, 0.5, 2.0]}, (6, 3, 16, 12)),
        ({"rotation": 15.0, "scale": (1.0, 1.15), "fill": -0.4}, (5, 1, 8, 8)),
        ({"brightness": 0.0, "contrast": 0.0, "p_rotation": 1.0}, (4, 2, 9, 7)),
        # colour options on, but not 3 channels: still the old augmenter, draw for draw
        ({"saturation": 0.8, "p_grey": 1.0}, (6, 1, 28, 28)),
        ({"saturation": 0.8, "p_grey": 0.5, "flip": True}, (4, 2, 9, 7)),
    ],
)
def test_image_augmenter_without_colour_matches_old_formula_bit_for_bit(kwargs, shape):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(3))
    aug = ImageAugmenter(**kwargs)
    torch.manual_seed(11)
    new = aug(x)
    after_new = torch.rand(4)  # the same number of draws leaves the generator in the same state
    torch.manual_seed(11)
    old = _old_forward(aug, x)
    after_old = torch.rand(4)
    assert torch.equal(new, old)
    assert torch.equal(after_new, after_old)


@pytest.mark.parametrize("shape", [(5, 1, 12, 12), (5, 2, 12, 12), (5, 4, 12, 12)])
def test_colour_ops_are_a_no_op_unless_three_channels(shape):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(5)
    plain = ImageAugmenter(flip=True)(x)
    torch.manual_seed(5)
    coloured = ImageAugmenter(flip=True, saturation=0.9, p_grey=1.0)(x)
    assert torch.equal(plain, coloured)


def test_grey_probability_one_gives_identical_channels_of_the_luminance():
    torch.manual_seed(0)
    x = torch.randn(6, 3, 10, 10)
    out = ImageAugmenter(**NO_OP, p_grey=1.0)(x)
    assert out.shape == x.shape
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])
    torch.testing.assert_close(out, _luma(x).expand_as(x), atol=1e-5, rtol=0)
    assert not torch.allclose(x[:, 0], x[:, 1])  # the input's channels differed


def test_colour_off_leaves_colour_alone():
    torch.manual_seed(0)
    x = torch.randn(6, 3, 10, 10)
    torch.testing.assert_close(ImageAugmenter(**NO_OP, saturation=0.0, p_grey=0.0)(x), x, atol=1e-5, rtol=0)
    # with only photometric jitter, the colour (each pixel's deviation from its grey) is kept up to the contrast factor
    torch.manual_seed(1)
    out = ImageAugmenter(**{**NO_OP, "brightness": 0.4})(x)
    torch.testing.assert_close(out - _luma(out), x - _luma(x), atol=1e-5, rtol=0)


def test_grey_probability_fraction_and_the_rest_untouched():
    torch.manual_seed(0)
    x = torch.randn(4000, 3, 2, 2)
    out = ImageAugmenter(**NO_OP, p_grey=0.3)(x)
    greyed = (out[:, 0] == out[:, 1]).all(dim=(1, 2)) & (out[:, 1] == out[:, 2]).all(dim=(1, 2))
    assert abs(float(greyed.float().mean()) - 0.3) < 0.03
    torch.testing.assert_close(out[~greyed], x[~greyed], atol=1e-5, rtol=0)


def test_saturation_blends_with_the_grey_by_a_per_image_factor():
    torch.manual_seed(0)
    image = torch.randn(1, 3, 8, 8)
    x = image.repeat(200, 1, 1, 1)
    out = ImageAugmenter(**NO_OP, saturation=0.4)(x)
    # the grey (luminance) is kept: the weights sum to 1
    torch.testing.assert_close(_luma(out), _luma(x), atol=1e-5, rtol=0)
    # the colour is scaled by one factor per image, in [0.6, 1.4], different between images
    colour_in, colour_out = x - _luma(x), out - _luma(out)
    factor = (colour_out * colour_in).sum(dim=(1, 2, 3)) / (colour_in**2).sum(dim=(1, 2, 3))
    torch.testing.assert_close(colour_out, factor.view(-1, 1, 1, 1) * colour_in, atol=1e-4, rtol=0)
    assert 0.6 - 1e-4 <= float(factor.min()) < 0.7 and 1.3 < float(factor.max()) <= 1.4 + 1e-4


@pytest.mark.parametrize(
    "aug, n_images",
    [
        (ImageAugmenter(flip=True), 6),
        (default_augmenter((3, 10, 10), fill=[-1.0, 0.0, 1.0]), 16),  # the colour ops too
    ],
    ids=["geometry", "colour"],
)
def test_augmenter_deterministic_under_manual_seed(aug, n_images):
    x = torch.randn(n_images, 3, 10, 10, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(123)
    a = aug(x)
    torch.manual_seed(123)
    b = aug(x)
    torch.manual_seed(124)
    c = aug(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def _settings(aug):
    return {
        "rotation": aug.rotation,
        "p_rotation": aug.p_rotation,
        "scale": tuple(aug.scale),
        "translate": aug.translate,
        "brightness": aug.brightness,
        "contrast": aug.contrast,
        "flip": aug.flip,
        "saturation": aug.saturation,
        "p_grey": aug.p_grey,
    }


NATURAL = dict(rotation=0.0, p_rotation=0.5, scale=(1.0, 1.5), translate=0.1, brightness=0.4, contrast=0.4)
NATURAL.update(flip=True, saturation=0.4, p_grey=0.2)
OLD_GREY = dict(rotation=25.0, p_rotation=0.5, scale=(1.0, 1.4), translate=0.1, brightness=0.4, contrast=0.4)
OLD_GREY.update(flip=False, saturation=0.0, p_grey=0.0)


@pytest.mark.parametrize(
    "shape, expected",
    [
        ((3, 32, 32), NATURAL),
        ((3, 96, 96), NATURAL),
        ((3, 8, 8), NATURAL),
        ((1, 28, 28), OLD_GREY),
        ((2, 16, 16), OLD_GREY),
        ((1, 8, 8), {**OLD_GREY, "rotation": 15.0, "scale": (1.0, 1.15)}),
    ],
)
def test_default_augmenter_colour_and_grey_settings(shape, expected):
    aug = default_augmenter(shape, fill=[-0.5] * shape[0])
    assert isinstance(aug, ImageAugmenter)
    assert _settings(aug) == expected
    assert aug.fill.reshape(-1).tolist() == [-0.5] * shape[0]
    torch.manual_seed(0)
    assert aug(torch.randn(2, *shape)).shape == (2, *shape)


def test_image_augmenter_repr_names_its_settings():
    text = repr(ImageAugmenter(rotation=5.0, flip=True, scale=(1.0, 2.0), fill=[0.1, 0.2, 0.3]))
    for setting in ("rotation=5.0", "flip=True", "scale=(1.0, 2.0)", "p_grey=0.0"):
        assert setting in text
    assert "fill=[0.1" in text and "0.3" in text
    assert "fill=-0.5)" in repr(ImageAugmenter(fill=-0.5))
