from dataclasses import replace

import pytest
import torch
from torch import nn

from dip_gui.core.networks import SkipNet, SkipSpec, count_parameters, make_input
from dip_gui.core.problem.presets import BALANCED_NET, PRESETS, get_preset, scaled_for

# The authors' parameter counts (their code, printed by their notebooks).
PAPER_COUNTS = [
    ("denoise", "paper", 32, 3, 2_217_831),
    ("sr", "paper", 32, 3, 2_217_831),
    ("jpeg", "paper", 3, 3, 572_827),
    ("inpaint", "paper", 32, 3, 3_002_627),
    ("inpaint", "paper-large-holes", 2, 3, 2_157_955),
    ("inpaint", "paper-library", 1, 3, 2_996_467),
    ("restore", "paper", 32, 1, 2_217_573),
]


@pytest.mark.parametrize(("task", "name", "depth", "out", "expected"), PAPER_COUNTS)
def test_paper_presets_have_the_authors_parameter_counts(task, name, depth, out, expected):
    preset = get_preset(task, name)
    assert preset.input_depth == depth
    assert count_parameters(SkipNet(preset.net, depth, out)) == expected


@pytest.mark.parametrize("task", sorted({p.task for p in PRESETS if p.name == "balanced"}))
@pytest.mark.parametrize("scale", [None, 2, 4, 8])
def test_balanced_is_the_paper_recipe_on_the_narrower_network(task, scale):
    """Its evidence (docs/presets.md) is that per iteration it follows the paper network's curve: any
    other difference from the paper preset (jitter, learning rate, iterations, x8 settings) breaks that."""
    paper, balanced = (scaled_for(get_preset(task, name), scale) for name in ("paper", "balanced"))
    assert balanced.net == BALANCED_NET
    assert replace(balanced, name="paper", description=paper.description, net=paper.net) == paper


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: f"{p.task}-{p.name}")
def test_every_preset_network_maps_canvas_to_same_size(preset):
    depth = preset.network_input_depth()
    net = SkipNet(preset.net, depth, 3)
    side = preset.net.multiple * preset.net.min_cells
    with torch.no_grad():
        out = net(torch.rand(1, depth, side, side + preset.net.multiple))
    assert out.shape == (1, 3, side, side + preset.net.multiple)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0  # sigmoid output


def test_hourglass_has_no_skip_branches():
    net = SkipNet(SkipSpec(channels_down=(8, 8), channels_up=(8, 8), channels_skip=(0, 0)), 2, 3)
    assert all(level.skip is None for level in net.modules() if hasattr(level, "skip"))


@pytest.mark.parametrize("mode", ["avg", "max", "lanczos2", "lanczos3"])
def test_downsample_modes_halve_each_level(mode):
    spec = SkipSpec(channels_down=(4, 4), channels_up=(4, 4), channels_skip=(1, 1), downsample=mode, pad="zero")
    out = SkipNet(spec, 2, 3)(torch.rand(1, 2, 16, 16))
    assert out.shape == (1, 3, 16, 16)


def test_invalid_spec_is_rejected():
    with pytest.raises(ValueError, match="upsample"):
        SkipNet(SkipSpec(channels_down=(4,), channels_up=(4,), channels_skip=(1,), upsample="cubic"), 2, 3)


def test_meshgrid_input_spans_zero_to_one():
    grid = make_input("meshgrid", 2, 5, 7)
    assert grid.shape == (1, 2, 5, 7)
    assert float(grid[0, 0, 0, -1]) == 1.0 and float(grid[0, 1, -1, 0]) == 1.0 and float(grid.min()) == 0.0


def test_noise_input_is_uniform_scaled():
    z = make_input("noise", 3, 20, 20, scale=0.1, generator=torch.Generator().manual_seed(0))
    assert float(z.min()) >= 0.0 and float(z.max()) <= 0.1


def test_pointwise_convolution_as_matrix_product_matches_conv2d(monkeypatch):
    from dip_gui.core.networks import skip
    from dip_gui.core.networks.skip import PointwiseConv2d

    monkeypatch.setattr(skip, "keeping_freed_memory", lambda: False)  # the matrix-product path

    torch.manual_seed(0)
    fast, plain = PointwiseConv2d(6, 5, 1), nn.Conv2d(6, 5, 1)
    plain.load_state_dict(fast.state_dict())
    x = torch.randn(1, 6, 9, 7, requires_grad=True)
    x_plain = x.detach().clone().requires_grad_(True)
    fast(x).square().sum().backward()
    plain(x_plain).square().sum().backward()
    assert torch.allclose(fast(x), plain(x_plain), atol=1e-5)
    assert torch.allclose(x.grad, x_plain.grad, atol=1e-4)
    assert torch.allclose(fast.weight.grad, plain.weight.grad, atol=1e-4)
    assert torch.allclose(fast.bias.grad, plain.bias.grad, atol=1e-4)
    batch = torch.randn(2, 6, 4, 4)  # batches and non-contiguous input take the convolution
    assert torch.allclose(fast(batch), plain(batch), atol=1e-5)
    assert torch.allclose(fast(batch.transpose(2, 3)), plain(batch.transpose(2, 3)), atol=1e-5)


def test_plain_reference_network_has_the_same_parameters_and_outputs(monkeypatch):
    from dip_gui.core.networks import split_conv

    monkeypatch.setitem(split_conv._nnpack, "ready", False)  # oneDNN's kernels on both sides: same numbers
    spec = get_preset("denoise", "paper").net
    torch.manual_seed(0)
    ours = SkipNet(spec, 32, 3)
    plain = SkipNet(spec, 32, 3, plain=True)
    plain.load_state_dict(ours.state_dict())
    assert count_parameters(ours) == count_parameters(plain) == 2_217_831
    x = torch.rand(1, 32, 64, 64) * 0.1
    assert torch.allclose(ours(x), plain(x), atol=1e-5)


@pytest.mark.parametrize("skip_channels", [0, 4, 16])  # 0: an hourglass
def test_lean_layers_give_the_plain_network_s_gradients(monkeypatch, skip_channels):
    """The fused batch norms (with LeakyReLU; with the padding after the merge) keep only their
    outputs and recover x_hat from them: every parameter's gradient agrees with the plain network's,
    with batch norm scales of both signs and shifts away from zero as training leaves them."""
    from dip_gui.core.networks import split_conv

    monkeypatch.setitem(split_conv._nnpack, "ready", False)
    spec = SkipSpec(channels_down=(16, 16, 16), channels_up=(16, 16, 16), channels_skip=(skip_channels,) * 3)
    torch.manual_seed(0)
    ours, plain = SkipNet(spec, 8, 3, lean=True), SkipNet(spec, 8, 3, plain=True)
    with torch.no_grad():
        for module in ours.modules():
            if isinstance(module, nn.BatchNorm2d):
                sign = torch.where(torch.rand_like(module.weight) < 0.3, -1.0, 1.0)
                module.weight.copy_(sign * torch.empty_like(module.weight).uniform_(0.3, 2.0))
                module.bias.normal_(0, 1)
    plain.load_state_dict(ours.state_dict())
    x = torch.rand(1, 8, 32, 32)
    target = torch.rand(1, 3, 32, 32)
    for net in (ours, plain):
        (net(x) - target).square().mean().backward()
    for (name, p), q in zip(ours.named_parameters(), plain.parameters()):
        # + 1e-7: a convolution's bias before a batch norm has a gradient of zero, up to rounding
        assert float((p.grad - q.grad).norm()) <= 1e-4 * float(q.grad.norm()) + 1e-7, name


def test_winograd_kernels_are_as_exact_as_the_plain_network(monkeypatch):
    """With NNPACK's Winograd forward and input gradient and our Winograd weight gradient (the top two
    levels of the paper network at 64 px), output and gradients stay as close to a float64 run as
    the plain float32 network's own are (measured: output 4.9e-5 against 1.9e-5; worst relative
    gradient error 1.4% against 1.8%). On an AVX-512 CPU whose plain convolutions are more exact
    (output 6.1e-5 against 1.0e-5, gradient 2.9% against 0.3%) Winograd's own rounding is the floor:
    hence the absolute bounds, within what the plain network shows on other CPUs."""
    from dip_gui.core.networks import split_conv

    if not split_conv.nnpack_ready():
        pytest.skip("this PyTorch build or CPU has no NNPACK")
    monkeypatch.setattr(split_conv, "NNPACK_MIN_SIDE_AVX512", split_conv.NNPACK_MIN_SIDE)  # NNPACK at 64 px on any CPU
    spec = get_preset("denoise", "paper").net
    torch.manual_seed(0)
    ours, plain, exact = SkipNet(spec, 32, 3), SkipNet(spec, 32, 3, plain=True), SkipNet(spec, 32, 3, plain=True)
    plain.load_state_dict(ours.state_dict())
    exact.load_state_dict(ours.state_dict())
    exact.double()
    x = torch.rand(1, 32, 64, 64) * 0.1
    outputs = {name: net(x.to(next(net.parameters()).dtype))
               for name, net in (("ours", ours), ("plain", plain), ("exact", exact))}
    for output in outputs.values():
        output.square().mean().backward()

    def output_error(name: str) -> float:
        return float((outputs[name].detach().double() - outputs["exact"].detach()).abs().max())

    def worst_gradient_error(net: nn.Module) -> float:
        errors = [float((p.grad.double() - q.grad).norm() / q.grad.norm())
                  for p, q in zip(net.parameters(), exact.parameters()) if q.grad.norm() > 1e-6]  # skip zero gradients
        return max(errors)

    assert output_error("ours") < 10 * output_error("plain") + 1e-6
    assert output_error("ours") < 2e-4
    assert worst_gradient_error(ours) < max(5 * worst_gradient_error(plain), 0.05)


def test_a_failing_nnpack_call_falls_back_to_onednn(monkeypatch):
    from dip_gui.core.networks import split_conv

    def refuse(*args):
        raise RuntimeError("NNPACK SpatialConvolution_updateOutput failed")

    monkeypatch.setitem(split_conv._nnpack, "ready", True)
    monkeypatch.setattr(split_conv, "NNPACK_MIN_SIDE_AVX512", split_conv.NNPACK_MIN_SIDE)
    monkeypatch.setattr(torch, "_nnpack_spatial_convolution", refuse)
    x, weight = torch.randn(1, 64, 34, 34), torch.randn(64, 64, 3, 3)
    assert torch.allclose(split_conv.conv_stride1(x, weight, None, 0), nn.functional.conv2d(x, weight), atol=1e-5)
    assert split_conv._nnpack["ready"] is False


def test_winograd_weight_gradient_matches_onednn_in_bands(monkeypatch):
    """Non-square, both paddings, and bands of tile rows (forced small) summed to the whole."""
    from dip_gui.core.networks import winograd

    monkeypatch.setattr(winograd, "BAND_BYTES", 36 * 4 * 10 * (64 + 64) * 3)  # three tile rows a band
    torch.manual_seed(0)
    for padding in (0, 1):
        x = torch.randn(1, 64, 40 + 2 - 2 * padding, 32 + 2 - 2 * padding)
        grad = torch.randn(1, 64, 40, 32)
        weight = torch.randn(64, 64, 3, 3)
        assert winograd.usable(x, grad, 3)
        expected = torch.ops.aten.convolution_backward(grad, x, weight, None, [1, 1], [padding] * 2, [1, 1], False,
                                                       [0, 0], 1, [False, True, False])[1]
        ours = winograd.weight_gradient(x, grad, padding)
        assert ours.shape == expected.shape and ours.is_contiguous()
        assert float((ours - expected).abs().max()) < 1e-4 * float(expected.abs().max())
    assert not winograd.usable(torch.randn(1, 64, 36, 36), torch.randn(1, 64, 34, 34), 3)  # not whole tiles


@pytest.mark.parametrize("padding", [0, 1])
def test_split_backward_convolution_matches_the_plain_one(padding):
    """Same output and gradients (input, weight, bias) as nn.Conv2d; the input gradient is computed
    as a forward convolution."""
    from dip_gui.core.networks.split_conv import SplitBackwardConv2d

    torch.manual_seed(0)
    split, plain = SplitBackwardConv2d(5, 7, 3, padding=padding), nn.Conv2d(5, 7, 3, padding=padding)
    plain.load_state_dict(split.state_dict())
    x = torch.randn(1, 5, 12, 10, requires_grad=True)
    x_plain = x.detach().clone().requires_grad_(True)
    y, y_plain = split(x), plain(x_plain)
    grad = torch.randn_like(y)
    y.backward(grad)
    y_plain.backward(grad)
    assert torch.allclose(y, y_plain, atol=1e-6)
    assert torch.allclose(x.grad, x_plain.grad, atol=1e-5)
    assert torch.allclose(split.weight.grad, plain.weight.grad, atol=1e-5)
    assert torch.allclose(split.bias.grad, plain.bias.grad, atol=1e-5)


def test_our_network_and_the_plain_one_give_the_same_results():
    """The benchmark's reference (every convolution an nn.Conv2d) and ours: same numbers."""
    spec = SkipSpec(channels_down=(8, 8), channels_up=(8, 8), channels_skip=(2, 2))
    torch.manual_seed(0)
    ours, plain = SkipNet(spec, 4, 3), SkipNet(spec, 4, 3, plain=True)
    plain.load_state_dict(ours.state_dict())
    z = torch.rand(1, 4, 32, 32)
    ours(z).square().mean().backward()
    plain(z).square().mean().backward()
    assert torch.allclose(ours(z), plain(z), atol=1e-6)
    for (name, p), q in zip(ours.named_parameters(), plain.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-5), name
