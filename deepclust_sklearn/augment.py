"""Batched, on-device augmentations for standardised images and vectors.

Every augmenter is a parameter-free ``torch.nn.Module`` that maps a batch to a
batch of the same shape, drawing an independent transform for every sample
from torch's random number generator on the batch's device (the estimators
seed it from ``random_state``). Nothing runs per sample in Python and nothing
goes through PIL, so augmentation costs a few tensor operations per batch.

Inputs are expected *standardised* (zero mean, unit variance per channel or
feature), which is how the estimators call them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ImageAugmenter", "VectorAugmenter", "Identity", "sobel", "default_augmenter"]


def _uniform(n: int, low: float, high: float, like: torch.Tensor) -> torch.Tensor:
    return torch.rand(n, device=like.device, dtype=like.dtype) * (high - low) + low


_LUMA = (0.299, 0.587, 0.114)  # ITU-R 601 luminance weights (torchvision's rgb_to_grayscale); they sum to 1


def _grey(x: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W) -> (N, 1, H, W)``: the luminance-weighted channel average."""
    weights = torch.tensor(_LUMA, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * weights).sum(dim=1, keepdim=True)


class ImageAugmenter(nn.Module):
    """Random affine warp, brightness/contrast jitter and, on colour images, optional
    saturation jitter and random greyscale; one draw per image.

    The geometric part is a single ``affine_grid`` + ``grid_sample`` call:
    rotation by an angle in ``[-rotation, rotation]`` degrees (applied with
    probability ``p_rotation``), zoom by a factor in ``scale`` (a factor above
    1 shows a smaller crop of the image, resized to the full size, like
    IIC's random crop-and-resize), translation by up to ``translate`` of the
    image size, and an optional horizontal flip. Pixels that come from
    outside the image take the value ``fill`` (per channel), e.g. the
    standardised background.

    The photometric part scales each image's contrast around its own mean by
    a factor in ``[1 - contrast, 1 + contrast]`` and shifts its brightness by
    up to ``brightness`` standard deviations.

    The colour part (3-channel images only) then blends each image with its
    own grey version by a factor in ``[1 - saturation, 1 + saturation]``
    (torchvision's ``ColorJitter`` saturation: 0 gives the grey image, 1 the
    image, above 1 more saturated colours; no clipping, as standardised
    values have no bounds) and, with probability ``p_grey``, replaces it by
    its grey version on every channel (SimCLR's and IIC's
    ``RandomGrayscale``). The grey version is the channel average with the
    luminance weights 0.299, 0.587, 0.114 (ITU-R 601, which torchvision's
    ``rgb_to_grayscale`` uses; they sum to 1, so an image with equal channels
    is left as it is). On images with another number of channels the colour
    options do nothing and draw no random numbers, so they leave grey
    images, and with both at 0 every image, bit-identical to an augmenter
    without them.

    Like everything here the colour ops act on *standardised* images
    (``(x - mean_c) / std_c`` per channel), not on raw RGB. There "grey"
    means equal standardised channels, i.e. no deviation from the data set's
    mean colour, and the blend weights apply to ``(x_c - mean_c) / std_c``
    instead of ``x_c``. With channel standard deviations close to each other,
    as on CIFAR-10 (about 0.25, 0.24, 0.26 of the 0-1 range), this is raw
    RGB's greyscale and saturation up to per-channel offsets and a few per
    cent in the weights and per-channel scales: the ops still take an
    image's colour away in part or in full, which is what they are for
    (making colour a weaker shortcut for clustering).

    There is no hue jitter: rotating the hue needs an RGB -> HSV -> RGB
    round trip in raw pixel space (undoing the standardisation first), and
    a hue angle applied to standardised channels does not correspond to a
    hue change of the image; the cost and the extra parameters are not worth
    it until a measurement asks for it.

    Parameters
    ----------
    rotation : float, default=25.0
        Largest rotation in degrees.
    p_rotation : float, default=0.5
        Probability that an image is rotated at all (IIC uses 0.5).
    scale : tuple of float, default=(1.0, 1.4)
        Range of the zoom factor.
    translate : float, default=0.1
        Largest shift as a fraction of the image size.
    brightness, contrast : float, default=0.4
        Jitter strengths (0 disables).
    flip : bool, default=False
        Random horizontal flips (off for digits, on for natural images).
    fill : float or sequence of float, default=0.0
        Value of pixels warped in from outside the image, per channel.
    saturation : float, default=0.0
        Saturation jitter strength for 3-channel images (0 disables).
    p_grey : float, default=0.0
        Probability that a 3-channel image is replaced by its grey version
        (0 disables).

    Examples
    --------
    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> x = torch.randn(8, 1, 28, 28)
    >>> ImageAugmenter()(x).shape
    torch.Size([8, 1, 28, 28])
    """

    def __init__(
        self,
        rotation: float = 25.0,
        p_rotation: float = 0.5,
        scale: tuple[float, float] = (1.0, 1.4),
        translate: float = 0.1,
        brightness: float = 0.4,
        contrast: float = 0.4,
        flip: bool = False,
        fill: float | Sequence[float] = 0.0,
        saturation: float = 0.0,
        p_grey: float = 0.0,
    ) -> None:
        super().__init__()
        self.rotation = rotation
        self.p_rotation = p_rotation
        self.scale = scale
        self.translate = translate
        self.brightness = brightness
        self.contrast = contrast
        self.flip = flip
        self.saturation = saturation
        self.p_grey = p_grey
        self.register_buffer("fill", torch.as_tensor(fill, dtype=torch.float32).reshape(1, -1, 1, 1))

    def extra_repr(self) -> str:
        """The settings, so that printing an estimator (or a benchmark's record of it) says what it augments."""
        names = ("rotation", "p_rotation", "scale", "translate", "brightness", "contrast", "flip")
        names += ("saturation", "p_grey")
        fill = self.fill.flatten().tolist()
        return (
            ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
            + f", fill={fill if len(fill) > 1 else fill[0]!r}"
        )

    def affine_matrices(self, n: int, like: torch.Tensor) -> torch.Tensor:
        """``(n, 2, 3)`` matrices mapping output to input coordinates in [-1, 1]."""
        angle = _uniform(n, -self.rotation, self.rotation, like) * (math.pi / 180)
        angle = angle * (torch.rand(n, device=like.device) < self.p_rotation).to(like.dtype)
        zoom = _uniform(n, self.scale[0], self.scale[1], like)
        cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
        mirror = torch.ones(n, device=like.device, dtype=like.dtype)
        if self.flip:
            mirror = torch.where(torch.rand(n, device=like.device) < 0.5, -mirror, mirror)
        shift = _uniform(2 * n, -2 * self.translate, 2 * self.translate, like).view(n, 2)
        return torch.stack(
            [
                torch.stack([cos * mirror, -sin, shift[:, 0]], dim=1),
                torch.stack([sin * mirror, cos, shift[:, 1]], dim=1),
            ],
            dim=1,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        grid = F.affine_grid(self.affine_matrices(n, x), list(x.shape), align_corners=False)
        out = F.grid_sample(x - self.fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + self.fill
        if self.contrast > 0:
            mean = out.mean(dim=(1, 2, 3), keepdim=True)
            factor = _uniform(n, 1 - self.contrast, 1 + self.contrast, x).view(n, 1, 1, 1)
            out = (out - mean) * factor + mean
        if self.brightness > 0:
            out = out + _uniform(n, -self.brightness, self.brightness, x).view(n, 1, 1, 1)
        if x.shape[1] == 3:  # colour ops: after the draws above, so those keep their order and number
            if self.saturation > 0:
                factor = _uniform(n, 1 - self.saturation, 1 + self.saturation, x).view(n, 1, 1, 1)
                grey = _grey(out)
                out = (out - grey) * factor + grey
            if self.p_grey > 0:
                greyed = (torch.rand(n, device=x.device) < self.p_grey).view(n, 1, 1, 1)
                out = torch.where(greyed, _grey(out).expand_as(out), out)
        return out


class VectorAugmenter(nn.Module):
    """Neighbour interpolation, Gaussian noise and random feature masking for standardised vectors.

    ``x' = m * (x + a * (x_nn - x) + noise * eps)``: ``x_nn`` is the sample
    nearest to ``x`` in the batch (other copies of ``x`` itself excluded),
    ``a ~ U(0, neighbour)``, ``eps ~ N(0, 1)``, ``m_j ~ Bernoulli(1 - mask)``,
    so a masked feature takes its mean (0 after standardisation).

    The interpolation moves a sample along the data, towards what it
    resembles, rather than in a random direction; it needs no scale of its
    own, where noise is in units of the standardised input.

    Parameters
    ----------
    noise : float, default=0.2
        Noise standard deviation in standardised units.
    mask : float, default=0.1
        Probability of masking each feature.
    neighbour : float, default=0.0
        Largest step towards the nearest other sample of the batch, as a
        fraction of the way there (0: off; above 1 the step can pass the
        neighbour; the default augmenter for vectors uses 1.0 for IIC, 2.0
        for DeepCluster and 3.0 for DAC, see :func:`default_augmenter`).

    Examples
    --------
    >>> import torch
    >>> VectorAugmenter(noise=0.0, mask=0.0)(torch.ones(2, 3))
    tensor([[1., 1., 1.],
            [1., 1., 1.]])

    With ``neighbour=1`` a sample lands on the segment to its nearest neighbour:

    >>> x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [10.0, 0.0]])
    >>> out = VectorAugmenter(noise=0.0, mask=0.0, neighbour=1.0)(x)
    >>> bool(0.0 <= out[0, 0] <= 1.0 and 0.0 <= out[1, 0] <= 1.0 and 1.0 <= out[2, 0] <= 10.0)
    True
    """

    def __init__(self, noise: float = 0.2, mask: float = 0.1, neighbour: float = 0.0) -> None:
        super().__init__()
        self.noise = noise
        self.mask = mask
        self.neighbour = neighbour

    def extra_repr(self) -> str:
        return f"noise={self.noise}, mask={self.mask}, neighbour={self.neighbour}"

    def nearest_other(self, x: torch.Tensor) -> torch.Tensor:
        """Index of each row's nearest row in the batch that is not an exact copy of it (itself if none)."""
        # exact distances: the matrix-product shortcut leaves copies ~1e-2 apart instead of 0
        distances = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")
        distances[distances == 0] = float("inf")
        nearest = distances.argmin(dim=1)
        alone = torch.isinf(distances.gather(1, nearest[:, None])).squeeze(1)
        return torch.where(alone, torch.arange(len(x), device=x.device), nearest)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.neighbour > 0 and len(x) > 1:
            step = self.neighbour * torch.rand(len(x), 1, device=x.device, dtype=x.dtype)
            out = out + step * (x[self.nearest_other(x)] - x)
        if self.noise > 0:
            out = out + self.noise * torch.randn_like(x)
        if self.mask > 0:
            out = out * (torch.rand_like(x) >= self.mask).to(x.dtype)
        return out


class Identity(nn.Module):
    """No augmentation (returns its input); the baseline for cost measurements."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def sobel(x: torch.Tensor) -> torch.Tensor:
    """Grey-scale then the two 3x3 Sobel filters: ``(N, C, H, W) -> (N, 2, H, W)``.

    DeepCluster and IIC use this on colour images to take colour away as a
    shortcut for clustering.
    """
    grey = x.mean(dim=1, keepdim=True)
    kx = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]], device=x.device, dtype=x.dtype)
    kernels = torch.stack([kx, kx.t()]).unsqueeze(1)
    return F.conv2d(grey, kernels, padding=1)


def default_augmenter(
    input_shape: Sequence[int], fill: Sequence[float] | float = 0.0, neighbour: float = 1.0
) -> nn.Module:
    """Augmentations that fit one sample's shape.

    Colour images (3 channels, any size) get the natural-image transforms of
    the papers, as one :class:`ImageAugmenter` padding with ``fill``: random
    crop-and-resize (zoom in ``(1.0, 1.5)``) with shifts up to 0.1 of the
    size, horizontal flips, no rotation, brightness and contrast jitter 0.4,
    saturation jitter 0.4 and random greyscale with probability 0.2. IIC's
    CIFAR pipeline is random crop, horizontal flip, colour jitter and random
    greyscale; DeepCluster's (ImageNet) is a random resized crop and a flip;
    DAC's paper uses none (:class:`~deepclust_sklearn.DACEstimator` keeps a
    light affine warp of its own for grey images and uses this function for
    colour ones, so all three methods share the colour path). These
    values are a starting point, to be measured on CIFAR-10-test, not tuned
    ones.

    Other images (grey digits) get :class:`ImageAugmenter`'s defaults from 16
    pixels a side up, and milder geometry below (rotation 15 deg, zoom up to
    1.15), since a 1.4x zoom of an 8x8 digit keeps under 6 pixels of it.
    Vectors get :class:`VectorAugmenter` with a step of up to ``neighbour``
    times the way to the nearest other sample of the batch, noise 0.2 and no
    masking (measured on digits-PCA-50 and MNIST-PCA-50: ``docs/experiments.md``).
    ``neighbour`` concerns vectors only. IIC keeps 1.0, the whole way (it
    augments both views of a pair, so the two already differ by two draws);
    DeepCluster passes 2.0 (a uniform point on the segment from the sample
    to its mirror image through the neighbour) and DAC 3.0: each matches one
    augmented view to a target taken from the clean sample. Measured on four
    vector sets, seeds 0-4 (``docs/experiments.md``, "Vectors").
    """
    if len(input_shape) == 3:
        if input_shape[0] == 3:
            return ImageAugmenter(
                rotation=0.0,
                scale=(1.0, 1.5),
                translate=0.1,
                brightness=0.4,
                contrast=0.4,
                flip=True,
                fill=fill,
                saturation=0.4,
                p_grey=0.2,
            )
        if min(input_shape[1:]) < 16:
            return ImageAugmenter(rotation=15.0, scale=(1.0, 1.15), fill=fill)
        return ImageAugmenter(fill=fill)
    return VectorAugmenter(noise=0.2, mask=0.0, neighbour=neighbour)
