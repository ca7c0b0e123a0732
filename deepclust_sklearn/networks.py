"""Backbones (trunks) and clustering heads.

A backbone is any ``torch.nn.Module`` class whose constructor takes
``input_shape`` (the shape of one sample, e.g. ``(1, 28, 28)`` or ``(64,)``)
plus keyword arguments, and which exposes ``out_features`` (the width of the
flat feature vector it returns). Estimators receive the class and its keyword
arguments separately (``module=ConvBackbone, module_kwargs={...}``) so that
``clone`` never shares a live network.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = [
    "MLPBackbone",
    "ConvBackbone",
    "SubHeads",
    "DACHead",
    "Standardize",
    "ClusteringNet",
    "EmbeddingNet",
    "default_backbone",
]


class Standardize(nn.Module):
    """Fixed affine input normalisation ``(x - mean) / scale``.

    ``mean`` and ``scale`` are buffers broadcast against one sample's shape
    (per channel for images, per feature for vectors, where the scale is one
    value repeated: :func:`~deepclust_sklearn._data.channel_stats`), so they travel with
    the network to its device and into its pickle.
    """

    def __init__(self, mean: torch.Tensor, scale: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.scale


class MLPBackbone(nn.Module):
    """Fully connected trunk for vectors: ``Linear -> BatchNorm -> ReLU`` per layer.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one sample; it is flattened, so images work too.
    hidden : sequence of int, default=(512, 256)
        Width of each hidden layer; the last one is ``out_features``.
    """

    def __init__(self, input_shape: Sequence[int], hidden: Sequence[int] = (512, 256)) -> None:
        super().__init__()
        n_in = int(torch.tensor(tuple(input_shape)).prod())
        layers: list[nn.Module] = [nn.Flatten()]
        for width in hidden:
            layers += [nn.Linear(n_in, width, bias=False), nn.BatchNorm1d(width), nn.ReLU(inplace=True)]
            n_in = width
        self.layers = nn.Sequential(*layers)
        self.out_features = n_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class ConvBackbone(nn.Module):
    """VGG-style trunk for small images.

    Each block is ``Conv3x3 -> BatchNorm -> ReLU -> MaxPool2`` (the pool is
    skipped once the feature map is smaller than 2 pixels), computed as
    ``Conv3x3 -> BatchNorm -> MaxPool2 -> ReLU``: ReLU is monotone, so it
    commutes with the max and gives the same values and gradients on a
    quarter of the pixels (the full-size ReLU's backward pass took 13% of a
    16x16 trunk's training step). The last map is
    flattened, keeping the coarse spatial layout that tells digits apart.
    Convolutions run in ``channels_last`` memory format, which is markedly
    faster on CPUs (measured 1.5-1.8x here).

    Parameters
    ----------
    input_shape : tuple of int
        ``(C, H, W)`` of one image.
    channels : sequence of int, default=(32, 64, 128)
        Output channels of each block.
    input_pool : int, default=1
        Average-pool the input by this factor first. 2 on 28x28 digits keeps
        what tells them apart and cuts the cost of every layer by 4.
    """

    def __init__(
        self, input_shape: Sequence[int], channels: Sequence[int] = (32, 64, 128), input_pool: int = 1
    ) -> None:
        super().__init__()
        if len(input_shape) != 3:
            raise ValueError(
                f"ConvBackbone needs an image shape (C, H, W); got input_shape={tuple(input_shape)}. "
                "Use MLPBackbone for vectors."
            )
        c, h, w = (int(s) for s in input_shape)
        layers: list[nn.Module] = []
        if input_pool > 1:
            layers.append(nn.AvgPool2d(input_pool))
            h, w = h // input_pool, w // input_pool
        for width in channels:
            layers += [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width)]
            c = width
            if min(h, w) >= 2:
                layers.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            layers.append(nn.ReLU(inplace=True))
        self.layers = nn.Sequential(*layers).to(memory_format=torch.channels_last)
        self.out_features = c * h * w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(x.contiguous(memory_format=torch.channels_last))
        return out.reshape(len(out), -1)


def default_backbone(input_shape: Sequence[int]) -> tuple[type[nn.Module], dict]:
    """Pick a backbone class and its keyword arguments from one sample's shape.

    Vectors get :class:`MLPBackbone`. Images of at least 24 pixels a side,
    grey or colour, get a three-block :class:`ConvBackbone` on the input
    average-pooled so that the trunk sees 12-23 pixels a side:
    ``input_pool = max(2, round(min_side / 16))`` (28x28 MNIST and 32x32
    CIFAR at 14-16 px, 64x64 at 16 px, 96x96 at 16 px), one scale-free rule
    whose cost per image does not grow with the input size. The unpooled
    32x32 colour trunk was measured too slow for the CPU budget (CIFAR-10-test,
    one thread: 61 s per DeepCluster epoch, 323 s per IIC epoch, so 1-3 hours
    per fit against the 10-minute target). 12-23 pixels: the same trunk at
    full size; smaller images (e.g. 8x8 digits) two wider blocks.
    """
    if len(input_shape) != 3:
        return MLPBackbone, {}
    if min(input_shape[1:]) >= 24:
        return ConvBackbone, {"channels": (32, 64, 128), "input_pool": max(2, round(min(input_shape[1:]) / 16))}
    if min(input_shape[1:]) >= 12:
        return ConvBackbone, {"channels": (32, 64, 128)}
    return ConvBackbone, {"channels": (64, 128)}


def build_backbone(backbone: type[nn.Module], input_shape: Sequence[int], backbone_kwargs: dict | None) -> nn.Module:
    """Instantiate a backbone class and check it declares an int ``out_features``."""
    try:
        module = backbone(tuple(input_shape), **(backbone_kwargs or {}))
    except TypeError as exc:
        raise TypeError(
            f"The backbone {backbone.__name__} for samples of shape {tuple(input_shape)} does not accept "
            f"module_kwargs={backbone_kwargs!r}: {exc}. Pass keyword arguments that {backbone.__name__} "
            "takes, or choose the backbone with the 'module' parameter."
        ) from exc
    if not isinstance(getattr(module, "out_features", None), int):
        raise TypeError(
            f"The backbone {backbone.__name__} must set an int attribute 'out_features' "
            "(the width of the features it returns)."
        )
    return module


class SubHeads(nn.Module):
    """``n_subheads`` independent ``Linear + softmax`` heads over shared features.

    Implemented as one ``Linear(in_features, n_subheads * n_clusters)`` whose
    output is split per sub-head, which is the same model as separate layers
    and one matrix product instead of several.

    Shapes: input ``(N, in_features)`` -> output ``(n_subheads, N, n_clusters)``
    of probabilities (each row sums to 1).
    """

    def __init__(self, in_features: int, n_clusters: int, n_subheads: int) -> None:
        super().__init__()
        self.n_clusters = n_clusters
        self.n_subheads = n_subheads
        self.linear = nn.Linear(in_features, n_subheads * n_clusters)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        logits = self.linear(features).view(-1, self.n_subheads, self.n_clusters)
        return torch.softmax(logits, dim=-1).transpose(0, 1)


class DACHead(nn.Module):
    """DAC's head: ``n_layers`` blocks of ``Linear -> BatchNorm -> ReLU`` of
    width ``n_clusters``, then a softmax.

    The paper's network ends this way: a 1x1 convolution to ``k`` channels
    (the first block here, over the backbone's features), then two dense
    ``k -> k`` layers whose weights start as the identity matrix, each with
    batch normalisation and ReLU, and a softmax over the result. The batch norms
    (without affine parameters) keep every output unit spread over a batch,
    and the final ReLU makes the softmax's input non-negative, so a sample
    gets a peaked output only by one unit standing out from the rest of the
    batch.

    Shapes: input ``(N, in_features)`` -> output ``(1, N, n_clusters)`` of
    probabilities, the layout of :class:`SubHeads` with one sub-head.

    Parameters
    ----------
    in_features : int
        Width of the backbone's features.
    n_clusters : int
        Number of clusters, the width of every block.
    n_subheads : int, default=1
        Must be 1 (DAC trains a single head).
    n_layers : int, default=3
        Blocks, at least 1; the ``Linear`` layers after the first start with
        identity weights and zero bias.
    affine : bool, default=False
        Give the batch norms a learned scale and shift (PyTorch's default for
        ``BatchNorm1d``). Off by default for the reason above; the two are
        measured against each other in ``docs/methods.md``.

    Examples
    --------
    >>> import torch
    >>> head = DACHead(in_features=32, n_clusters=4)
    >>> probs = head(torch.randn(8, 32))
    >>> probs.shape
    torch.Size([1, 8, 4])
    >>> bool(torch.allclose(probs.sum(dim=-1), torch.ones(1, 8)))
    True
    """

    def __init__(
        self, in_features: int, n_clusters: int, n_subheads: int = 1, n_layers: int = 3, affine: bool = False
    ) -> None:
        super().__init__()
        if n_subheads != 1:
            raise ValueError(f"DACHead has one head; got n_subheads={n_subheads}.")
        if n_layers < 1:
            raise ValueError(f"DACHead needs n_layers >= 1 (Linear -> BatchNorm -> ReLU blocks); got {n_layers}.")
        blocks: list[nn.Module] = []
        for index in range(n_layers):
            linear = nn.Linear(in_features if index == 0 else n_clusters, n_clusters)
            if index > 0:
                with torch.no_grad():
                    linear.weight.copy_(torch.eye(n_clusters))
                    linear.bias.zero_()
            blocks += [linear, nn.BatchNorm1d(n_clusters, affine=affine), nn.ReLU()]
        self.blocks = nn.Sequential(*blocks)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.blocks(features), dim=-1).unsqueeze(0)


class _Sobel(nn.Module):
    """Fixed grey-scale + 3x3 Sobel filters, ``(N, C, H, W) -> (N, 2, H, W)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from .augment import sobel

        return sobel(x)


def input_filter(input_shape: Sequence[int], sobel: bool) -> tuple[nn.Module, tuple[int, ...]]:
    """The fixed filter between standardisation and trunk, and the sample shape the trunk then sees.

    ``sobel=True`` (images only) replaces a ``(C, H, W)`` image by the two
    Sobel gradients of its grey-scale version, ``(2, H, W)``; otherwise the
    input passes unchanged.
    """
    input_shape = tuple(input_shape)
    if not sobel:
        return nn.Identity(), input_shape
    if len(input_shape) != 3:
        raise ValueError(f"sobel=True needs images (C, H, W); got samples of shape {input_shape}.")
    return _Sobel(), (2, *input_shape[1:])


class ClusteringNet(nn.Module):
    """Standardize -> (Sobel) -> backbone -> named heads.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one sample.
    backbone : type
        Backbone class, called as ``backbone(input_shape, **backbone_kwargs)``.
    backbone_kwargs : dict or None
        Keyword arguments for the backbone.
    heads : dict of str to int
        Head name -> number of clusters of that head.
    n_subheads : int
        Sub-heads per head.
    mean, scale : tensor
        Input standardisation, broadcastable to one sample's shape.
    head : type, default=SubHeads
        Head class, called as ``head(out_features, n_clusters, n_subheads, **head_kwargs)``
        and returning ``(n_subheads, N, n_clusters)`` probabilities
        (:class:`SubHeads` or :class:`DACHead`).
    head_kwargs : dict or None, default=None
        Further keyword arguments for ``head``.
    sobel : bool, default=False
        Replace the image by its two Sobel gradients of the grey-scale image.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        backbone: type[nn.Module],
        backbone_kwargs: dict | None,
        heads: dict[str, int],
        n_subheads: int,
        mean: torch.Tensor,
        scale: torch.Tensor,
        head: type[nn.Module] = SubHeads,
        head_kwargs: dict | None = None,
        sobel: bool = False,
    ) -> None:
        super().__init__()
        self.standardize = Standardize(mean, scale)
        self.sobel, trunk_shape = input_filter(input_shape, sobel)
        self.backbone = build_backbone(backbone, trunk_shape, backbone_kwargs)
        self.heads = nn.ModuleDict(
            {name: head(self.backbone.out_features, k, n_subheads, **(head_kwargs or {})) for name, k in heads.items()}
        )

    def features(self, x_standardized: torch.Tensor) -> torch.Tensor:
        """Backbone features of already standardised inputs, ``(N, out_features)``."""
        return self.backbone(self.sobel(x_standardized))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.features(self.standardize(x))
        return {name: head(feats) for name, head in self.heads.items()}


class EmbeddingNet(nn.Module):
    """Standardize -> (Sobel) -> backbone -> ``Linear -> BatchNorm -> ReLU -> Linear`` embedding.

    DeepCluster's network without its top layer: :meth:`forward` returns the
    penultimate features (before the last ReLU, as DeepCluster clusters
    them); training feeds ``relu(features)`` to a top layer that the
    estimator re-initialises at every re-clustering.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one sample.
    backbone : type
        Backbone class, called as ``backbone(input_shape, **backbone_kwargs)``
        (with 2 input channels when ``sobel`` is on).
    backbone_kwargs : dict or None
        Keyword arguments for the backbone.
    mean, scale : tensor
        Input standardisation, broadcastable to one sample's shape.
    embedding_dim : int, default=256
        Width of the features.
    sobel : bool, default=False
        Replace the image by its two Sobel gradients of the grey-scale image.
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        backbone: type[nn.Module],
        backbone_kwargs: dict | None,
        mean: torch.Tensor,
        scale: torch.Tensor,
        embedding_dim: int = 256,
        sobel: bool = False,
    ) -> None:
        super().__init__()
        self.standardize = Standardize(mean, scale)
        self.sobel, trunk_shape = input_filter(input_shape, sobel)
        self.backbone = build_backbone(backbone, trunk_shape, backbone_kwargs)
        self.embedding = nn.Sequential(
            nn.Linear(self.backbone.out_features, embedding_dim, bias=False),
            nn.BatchNorm1d(embedding_dim),
            nn.ReLU(inplace=True),
            nn.Linear(embedding_dim, embedding_dim),
        )
        self.out_features = embedding_dim

    def features(self, x_standardized: torch.Tensor) -> torch.Tensor:
        """Embedding of already standardised inputs, ``(N, embedding_dim)``."""
        return self.embedding(self.backbone(self.sobel(x_standardized)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.standardize(x))
