"""Tests for deepclust_sklearn.networks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from deepclust_sklearn.networks import (
    ClusteringNet,
    ConvBackbone,
    DACHead,
    EmbeddingNet,
    MLPBackbone,
    Standardize,
    SubHeads,
    default_backbone,
)

SHAPES = [(5,), (17,), (1, 8, 8), (1, 28, 28), (3, 32, 32), (1, 5, 5)]
IMAGE_SHAPES = [s for s in SHAPES if len(s) == 3]


@pytest.mark.parametrize("input_shape", SHAPES)
@pytest.mark.parametrize("hidden", [(16,), (8, 4)])
def test_mlp_backbone_output_shape(input_shape, hidden):
    net = MLPBackbone(input_shape, hidden=hidden).eval()
    out = net(torch.randn(3, *input_shape))
    assert net.out_features == hidden[-1]
    assert out.shape == (3, net.out_features)


@pytest.mark.parametrize("input_shape", IMAGE_SHAPES + [(2, 1, 1), (1, 3, 7)])
@pytest.mark.parametrize("channels", [(4,), (4, 8), (4, 8, 8)])
def test_conv_backbone_output_shape(input_shape, channels):
    net = ConvBackbone(input_shape, channels=channels).eval()
    out = net(torch.randn(2, *input_shape))
    assert out.dim() == 2
    assert out.shape == (2, net.out_features)
    assert isinstance(net.out_features, int)


@pytest.mark.parametrize("input_shape", [(64,), (8, 8)])
def test_conv_backbone_rejects_non_image_shape(input_shape):
    with pytest.raises(ValueError, match=r"ConvBackbone needs an image shape \(C, H, W\)"):
        ConvBackbone(input_shape)


@pytest.mark.parametrize("n_subheads, n_clusters", [(1, 2), (3, 5)])
def test_subheads_output_is_probabilities(n_subheads, n_clusters):
    torch.manual_seed(0)
    heads = SubHeads(7, n_clusters, n_subheads)
    out = heads(torch.randn(4, 7))
    assert out.shape == (n_subheads, 4, n_clusters)
    assert (out >= 0).all()
    torch.testing.assert_close(out.sum(dim=-1), torch.ones(n_subheads, 4))


def test_subheads_are_independent_of_each_other():
    torch.manual_seed(0)
    heads = SubHeads(7, 3, 2)
    x = torch.randn(4, 7)
    out = heads(x)
    # The second sub-head uses rows 3..5 of the shared linear layer.
    expected = torch.softmax(x @ heads.linear.weight[3:6].T + heads.linear.bias[3:6], dim=-1)
    torch.testing.assert_close(out[1], expected)


@pytest.mark.parametrize("n_layers", [1, 3])
def test_dac_head_output_is_probabilities_with_one_head(n_layers):
    torch.manual_seed(0)
    head = DACHead(7, 4, n_layers=n_layers)
    out = head(torch.randn(5, 7))
    assert out.shape == (1, 5, 4)
    assert (out >= 0).all()
    torch.testing.assert_close(out.sum(dim=-1), torch.ones(1, 5))
    assert sum(isinstance(m, torch.nn.Linear) for m in head.modules()) == n_layers


def test_dac_head_later_blocks_start_as_identity_and_end_in_relu():
    torch.manual_seed(0)
    head = DACHead(7, 4, n_layers=3).eval()
    linears = [m for m in head.modules() if isinstance(m, torch.nn.Linear)]
    for linear in linears[1:]:
        torch.testing.assert_close(linear.weight, torch.eye(4))
        torch.testing.assert_close(linear.bias, torch.zeros(4))
    features = torch.randn(5, 7)
    logits = head.blocks(features)
    assert (logits >= 0).all()
    torch.testing.assert_close(head(features)[0], torch.softmax(logits, dim=-1))


def test_dac_head_rejects_several_subheads():
    with pytest.raises(ValueError, match=r"DACHead has one head; got n_subheads=2"):
        DACHead(7, 4, n_subheads=2)


def test_dac_head_needs_at_least_one_block():
    with pytest.raises(ValueError, match=r"DACHead needs n_layers >= 1 .*got 0"):
        DACHead(7, 4, n_layers=0)


def _clustering_net(input_shape, backbone=MLPBackbone, backbone_kwargs=None, mean=None, scale=None, sobel=False):
    if mean is None:
        mean = torch.zeros(input_shape[:1] + (1, 1) if len(input_shape) == 3 else input_shape)
    if scale is None:
        scale = torch.ones_like(mean)
    return ClusteringNet(
        input_shape=input_shape,
        backbone=backbone,
        backbone_kwargs=backbone_kwargs if backbone_kwargs is not None else {"hidden": (8,)},
        heads={"cluster": 3, "overcluster": 7},
        n_subheads=2,
        mean=mean,
        scale=scale,
        sobel=sobel,
    )


@pytest.mark.parametrize(
    "input_shape, backbone, kwargs",
    [
        ((6,), MLPBackbone, {"hidden": (8,)}),
        ((1, 8, 8), ConvBackbone, {"channels": (4, 8)}),
        ((3, 5, 5), ConvBackbone, {"channels": (4,)}),
    ],
)
def test_clustering_net_forward(input_shape, backbone, kwargs):
    torch.manual_seed(0)
    net = _clustering_net(input_shape, backbone, kwargs).eval()
    out = net(torch.randn(5, *input_shape))
    assert isinstance(out, dict)
    assert set(out) == {"cluster", "overcluster"}
    assert out["cluster"].shape == (2, 5, 3)
    assert out["overcluster"].shape == (2, 5, 7)
    for probs in out.values():
        torch.testing.assert_close(probs.sum(-1), torch.ones(probs.shape[:2]))
    assert net.features(torch.randn(5, *input_shape)).shape == (5, net.backbone.out_features)


def test_clustering_net_standardize_vectors():
    mean = torch.tensor([1.0, -2.0, 3.0, 0.5])
    scale = torch.tensor([2.0, 0.5, 1.0, 4.0])
    net = _clustering_net((4,), mean=mean, scale=scale)
    x = mean.expand(3, 4).clone()
    torch.testing.assert_close(net.standardize(x), torch.zeros(3, 4))
    x = torch.randn(3, 4)
    torch.testing.assert_close(net.standardize(x), (x - mean) / scale)


def test_clustering_net_standardize_images_per_channel():
    mean = torch.tensor([0.5, -1.0]).reshape(2, 1, 1)
    scale = torch.tensor([2.0, 3.0]).reshape(2, 1, 1)
    net = _clustering_net((2, 4, 4), ConvBackbone, {"channels": (4,)}, mean=mean, scale=scale)
    x = mean.expand(3, 2, 4, 4).clone()
    out = net.standardize(x)
    assert out.shape == (3, 2, 4, 4)
    torch.testing.assert_close(out, torch.zeros(3, 2, 4, 4))
    # buffers, so they follow the net into its state_dict (and pickle)
    state = net.state_dict()
    assert "standardize.mean" in state and "standardize.scale" in state


def test_standardize_module():
    s = Standardize(torch.tensor([1.0]), torch.tensor([2.0]))
    torch.testing.assert_close(s(torch.tensor([[3.0], [1.0]])), torch.tensor([[1.0], [0.0]]))


@pytest.mark.parametrize("shape", [(5,), (64,), (17,)])
def test_default_backbone_vectors_get_mlp(shape):
    cls, kwargs = default_backbone(shape)
    assert cls is MLPBackbone
    assert isinstance(kwargs, dict)
    net = cls(shape, **kwargs)
    assert net.out_features > 0


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (1, 5, 5)])
def test_default_backbone_images_get_conv(shape):
    cls, kwargs = default_backbone(shape)
    assert cls is ConvBackbone
    net = cls(shape, **kwargs).eval()
    assert net(torch.zeros(2, *shape)).shape == (2, net.out_features)


def test_default_backbone_returns_fresh_kwargs():
    _, a = default_backbone((1, 8, 8))
    a["channels"] = (1,)
    _, b = default_backbone((1, 8, 8))
    assert b["channels"] != (1,)


class _NoOutFeatures(nn.Module):
    def __init__(self, input_shape):
        super().__init__()
        self.linear = nn.Linear(int(torch.tensor(input_shape).prod()), 4)

    def forward(self, x):
        return self.linear(x.flatten(1))


class _FloatOutFeatures(_NoOutFeatures):
    def __init__(self, input_shape):
        super().__init__(input_shape)
        self.out_features = 4.0


@pytest.mark.parametrize("backbone", [_NoOutFeatures, _FloatOutFeatures])
def test_backbone_without_int_out_features_raises(backbone):
    with pytest.raises(TypeError, match=rf"backbone {backbone.__name__} must set an int attribute 'out_features'"):
        _clustering_net((6,), backbone=backbone, backbone_kwargs={})


def _embedding_net(input_shape, backbone=MLPBackbone, backbone_kwargs=None, sobel=False):
    return EmbeddingNet(
        input_shape, backbone, backbone_kwargs, mean=torch.zeros(1), scale=torch.ones(1), embedding_dim=8, sobel=sobel
    )


@pytest.mark.parametrize("backbone", [_NoOutFeatures, _FloatOutFeatures])
def test_embedding_net_checks_out_features_too(backbone):
    with pytest.raises(TypeError, match=rf"backbone {backbone.__name__} must set an int attribute 'out_features'"):
        _embedding_net((6,), backbone=backbone, backbone_kwargs={})


def test_embedding_net_features_and_sobel():
    net = _embedding_net((3, 8, 8), backbone=ConvBackbone, backbone_kwargs={"channels": (4,)}, sobel=True).eval()
    assert net.backbone.layers[0].in_channels == 2
    assert net(torch.randn(5, 3, 8, 8)).shape == (5, 8)
    with pytest.raises(ValueError, match=r"sobel=True needs images \(C, H, W\); got samples of shape \(6,\)"):
        _embedding_net((6,), sobel=True)


def test_clustering_net_sobel_sees_two_gradient_channels_and_no_colour():
    torch.manual_seed(0)
    net = _clustering_net((3, 8, 8), ConvBackbone, {"channels": (4,)}, sobel=True).eval()
    assert net.backbone.layers[0].in_channels == 2
    x = torch.rand(5, 3, 8, 8)
    out = net(x)
    # the grey-scale mean of the channels is all it sees: permuting the colours changes nothing
    torch.testing.assert_close(net(x[:, [2, 0, 1]])["cluster"], out["cluster"])
    plain = _clustering_net((3, 8, 8), ConvBackbone, {"channels": (4,)}).eval()
    assert plain.backbone.layers[0].in_channels == 3
    assert not torch.allclose(plain(x[:, [2, 0, 1]])["cluster"], plain(x)["cluster"])
    # no parameters or buffers added: sobel=False state dicts (and old pickles) keep their keys
    assert set(net.state_dict()) == set(plain.state_dict())
    with pytest.raises(ValueError, match=r"sobel=True needs images \(C, H, W\); got samples of shape \(6,\)"):
        _clustering_net((6,), sobel=True)


@pytest.mark.parametrize(
    "shape, expected",
    [
        # from 24 px, grey or colour: pooled so that the trunk sees 12-23 px (max(2, round(side / 16)))
        ((3, 24, 24), {"channels": (32, 64, 128), "input_pool": 2}),
        ((3, 32, 32), {"channels": (32, 64, 128), "input_pool": 2}),
        ((3, 47, 40), {"channels": (32, 64, 128), "input_pool": 2}),
        ((3, 64, 64), {"channels": (32, 64, 128), "input_pool": 4}),
        ((3, 96, 96), {"channels": (32, 64, 128), "input_pool": 6}),
        ((1, 28, 28), {"channels": (32, 64, 128), "input_pool": 2}),
        ((1, 32, 32), {"channels": (32, 64, 128), "input_pool": 2}),
        ((1, 96, 96), {"channels": (32, 64, 128), "input_pool": 6}),
        ((2, 32, 32), {"channels": (32, 64, 128), "input_pool": 2}),
        ((1, 16, 16), {"channels": (32, 64, 128)}),
        ((3, 16, 16), {"channels": (32, 64, 128)}),
        ((1, 8, 8), {"channels": (64, 128)}),
        ((3, 8, 8), {"channels": (64, 128)}),
    ],
)
def test_default_backbone_rules(shape, expected):
    cls, kwargs = default_backbone(shape)
    assert cls is ConvBackbone
    assert kwargs == expected


@pytest.mark.parametrize(
    "shape, trunk_side", [((3, 32, 32), 16), ((3, 64, 64), 16), ((3, 96, 96), 16), ((1, 28, 28), 14)]
)
def test_default_backbone_trunk_runs_and_sees_12_to_23_pixels(shape, trunk_side):
    torch.manual_seed(0)
    cls, kwargs = default_backbone(shape)
    net = cls(shape, **kwargs)
    # three 2x max-pools from the trunk's side, 128 channels
    assert shape[1] // kwargs["input_pool"] == trunk_side
    assert net.out_features == 128 * (trunk_side // 8) ** 2
    x = torch.randn(4, *shape)
    for mode in (net.train, net.eval):
        mode()
        out = net(x)
        assert out.shape == (4, net.out_features)
        assert torch.isfinite(out).all()


@pytest.mark.parametrize("affine", [False, True])
def test_dac_head_affine_switch_adds_a_trained_scale_and_shift(affine):
    head = DACHead(7, 4, n_layers=3, affine=affine)
    norms = [m for m in head.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(norms) == 3 and all(norm.affine is affine for norm in norms)
    # the batch norms' parameters are 2 * 4 per block with affine, none without
    linear_params = 7 * 4 + 4 + 2 * (4 * 4 + 4)
    assert sum(p.numel() for p in head.parameters()) == linear_params + (3 * 2 * 4 if affine else 0)


def test_conv_backbone_relu_after_pool_equals_relu_before_pool():
    """The trunk pools before its ReLU; values and gradients equal the textbook order's."""
    torch.manual_seed(0)
    trunk = ConvBackbone((1, 16, 16), channels=(4, 8))
    textbook = []
    for layer in trunk.layers:  # move each ReLU back in front of the pool before it
        if isinstance(layer, nn.ReLU) and textbook and isinstance(textbook[-1], nn.MaxPool2d):
            textbook.insert(len(textbook) - 1, nn.ReLU())
        else:
            textbook.append(layer)
    textbook = nn.Sequential(*textbook)
    assert [type(m) for m in textbook] != [type(m) for m in trunk.layers]
    x = torch.randn(6, 1, 16, 16, requires_grad=True)
    ours = trunk(x)
    grad_ours = torch.autograd.grad(ours.pow(2).sum(), x)[0]
    theirs = textbook(x.contiguous(memory_format=torch.channels_last)).reshape(len(x), -1)
    grad_theirs = torch.autograd.grad(theirs.pow(2).sum(), x)[0]
    assert torch.equal(ours, theirs)
    assert torch.allclose(grad_ours, grad_theirs, rtol=0, atol=1e-6)
