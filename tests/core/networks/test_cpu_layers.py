"""The CPU replacements for batch norm (alone and fused with LeakyReLU), bilinear x2 upsampling and
reflection padding against the PyTorch modules they replace: same outputs, gradients and running
statistics."""

import pytest
import torch
from torch import nn

from dip_gui.core.networks.batch_norm import (
    MIN_RECOVERABLE_SCALE,
    FastBatchNorm2d,
    FastBatchNormLeakyReLU,
    FastBatchNormReflectionPad,
)
from dip_gui.core.networks.cpu_layers import (
    FastReflectionPad2d,
    FastUpsample,
    bilinear_x2_adjoint,
    reflection_pad_adjoint,
)


def _forward_backward(module: nn.Module, x: torch.Tensor, grad: torch.Tensor) -> list[torch.Tensor]:
    x = x.detach().clone().requires_grad_(True)
    y = module(x)
    y.backward(grad)
    return [y.detach(), x.grad, *(p.grad for p in module.parameters())]


def _assert_close(ours: list[torch.Tensor], theirs: list[torch.Tensor], tolerance: float) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        assert float((a - b).abs().max()) <= tolerance * max(1.0, float(b.abs().max()))


@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_matches_pytorch_in_training_and_evaluation(affine):
    torch.manual_seed(0)
    ours, theirs = FastBatchNorm2d(6, affine=affine), nn.BatchNorm2d(6, affine=affine)
    if affine:
        with torch.no_grad():
            ours.weight.uniform_(0.5, 2)
            ours.bias.normal_()
        theirs.load_state_dict(ours.state_dict())
    # channel 0 has a mean 50x its spread: the variance must not lose its digits to cancellation
    scale = torch.tensor([0.02, 1, 3, 0.5, 1, 10]).view(1, 6, 1, 1)
    shift = torch.tensor([1.0, 0, -2, 0.1, 5, 0]).view(1, 6, 1, 1)
    for _ in range(3):  # running statistics accumulate alike
        x = torch.randn(1, 6, 11, 9) * scale + shift
        grad = torch.randn(1, 6, 11, 9)
        _assert_close(_forward_backward(ours, x, grad), _forward_backward(theirs, x, grad), 2e-5)
        ours.zero_grad()
        theirs.zero_grad()
    assert torch.allclose(ours.running_mean, theirs.running_mean, atol=1e-6)
    assert torch.allclose(ours.running_var, theirs.running_var, rtol=1e-5)
    assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == 3
    ours.eval()
    theirs.eval()
    x = torch.randn(1, 6, 5, 5)
    assert torch.allclose(ours(x), theirs(x), atol=1e-6)


def test_batch_norm_output_can_be_changed_in_place_by_the_activation():
    """The network's LeakyReLU runs in place on batch norm's output; gradients must stay right."""
    torch.manual_seed(0)
    ours = nn.Sequential(FastBatchNorm2d(4), nn.LeakyReLU(0.2, inplace=True))
    theirs = nn.Sequential(nn.BatchNorm2d(4), nn.LeakyReLU(0.2, inplace=True))
    x, grad = torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)
    _assert_close(_forward_backward(ours, x, grad), _forward_backward(theirs, x, grad), 2e-5)


def _with_parameters(fused: nn.Module, pair: nn.Sequential, weight: torch.Tensor,
                     bias: torch.Tensor) -> tuple[nn.Module, nn.Sequential]:
    """A fused batch norm and the pair of layers it replaces, with the same batch norm parameters."""
    with torch.no_grad():
        fused.weight.copy_(weight)
        fused.bias.copy_(bias)
    pair[0].load_state_dict(fused.state_dict())
    return fused, pair


def _fused_and_pair(weight: torch.Tensor, bias: torch.Tensor) -> tuple[nn.Module, nn.Sequential]:
    channels = weight.numel()
    return _with_parameters(FastBatchNormLeakyReLU(channels, 0.2),
                            nn.Sequential(nn.BatchNorm2d(channels), nn.LeakyReLU(0.2, inplace=True)), weight, bias)


def _through_a_convolution(module: nn.Module, conv: nn.Module, x: torch.Tensor, grad: torch.Tensor) -> list[torch.Tensor]:
    """As in the network: a convolution keeps the activation's output for its own backward."""
    x = x.detach().clone().requires_grad_(True)
    y = module(x)
    output = y.detach().clone()  # the fused layer's backward undoes the activation on y in place
    conv(y).backward(grad)
    return [output, x.grad, *(p.grad for p in module.parameters())]


def test_fused_batch_norm_and_activation_match_the_two_layers():
    """Negative scales, large shifts and a channel with a mean far from zero: gradients recovered
    from the output alone agree with PyTorch's layers, and so do the running statistics."""
    torch.manual_seed(0)
    weight = torch.tensor([1.5, -0.7, 0.05, 2.0, -3.0, 0.3])
    bias = torch.tensor([0.2, -1.0, 0.5, 4.0, 0.0, -0.3])
    fused, pair = _fused_and_pair(weight, bias)
    conv = nn.Conv2d(6, 5, 3)
    scale = torch.tensor([0.02, 1, 3, 0.5, 1, 10]).view(1, 6, 1, 1)
    shift = torch.tensor([1.0, 0, -2, 0.1, 5, 0]).view(1, 6, 1, 1)
    for _ in range(2):
        x = torch.randn(1, 6, 12, 10) * scale + shift
        grad = torch.randn(1, 5, 10, 8)
        _assert_close(_through_a_convolution(fused, conv, x, grad), _through_a_convolution(pair, conv, x, grad), 2e-5)
        fused.zero_grad()
        pair.zero_grad()
    assert torch.allclose(fused.running_mean, pair[0].running_mean, atol=1e-6)
    assert torch.allclose(fused.running_var, pair[0].running_var, rtol=1e-5)
    fused.eval()
    pair.eval()
    x = torch.randn(1, 6, 5, 5)
    assert torch.allclose(fused(x), pair(x), atol=1e-6)


def _kept_for_backward(module: nn.Module, x: torch.Tensor) -> set[int]:
    """Storages the module keeps for its backward, its own output's apart."""
    kept: set[int] = set()

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        kept.add(tensor.untyped_storage().data_ptr())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = module(x)
    return kept - {y.untyped_storage().data_ptr()}


def test_fused_layer_keeps_its_output_only():
    """What the fusion is for: the batch norm's input is not kept, so it is freed once the output
    exists; the two layers keep it."""
    torch.manual_seed(0)
    fused, pair = _fused_and_pair(torch.ones(8), torch.zeros(8))
    x = torch.randn(1, 8, 16, 16, requires_grad=True)
    conv_output = nn.Conv2d(8, 8, 1)(x)
    assert conv_output.untyped_storage().data_ptr() not in _kept_for_backward(fused, conv_output)
    assert conv_output.untyped_storage().data_ptr() in _kept_for_backward(pair, conv_output)


def test_fused_layer_with_a_scale_near_zero_keeps_its_input_and_stays_exact():
    """Where the affine step cannot be undone without losing digits (a scale of 0 cannot be undone
    at all) the layer keeps its input as the two layers do; a second backward through a fused layer
    stops with autograd's error instead of giving wrong gradients."""
    torch.manual_seed(0)
    weight = torch.tensor([1.0, 0.0, MIN_RECOVERABLE_SCALE * 0.5, 1.0])
    fused, pair = _fused_and_pair(weight, torch.tensor([0.0, 0.5, 1.0, 0.0]))
    conv = nn.Conv2d(4, 3, 3)
    x, grad = torch.randn(1, 4, 9, 9), torch.randn(1, 3, 7, 7)
    x_in = x.clone().requires_grad_(True)
    assert x_in.untyped_storage().data_ptr() in _kept_for_backward(fused, x_in)
    _assert_close(_through_a_convolution(fused, conv, x, grad), _through_a_convolution(pair, conv, x, grad), 2e-5)
    fused_ok, _ = _fused_and_pair(torch.ones(4), torch.zeros(4))
    loss = conv(fused_ok(x.clone().requires_grad_(True))).sum()
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="inplace"):
        loss.backward()


@pytest.mark.parametrize("pad", [1, 2])
def test_batch_norm_writing_a_padded_output_matches_the_two_layers(pad):
    """The merge's batch norm writes the reflection-padded input of the next convolution and keeps
    only that: same output (borders and corners), gradients and statistics as batch norm then
    ``nn.ReflectionPad2d``; outside training it is the two steps."""
    torch.manual_seed(0)
    fused, pair = _with_parameters(FastBatchNormReflectionPad(5, pad), nn.Sequential(nn.BatchNorm2d(5), nn.ReflectionPad2d(pad)),
                                   torch.tensor([1.5, -0.7, 0.2, 2.0, -3.0]), torch.tensor([0.2, -1.0, 0.5, 4.0, 0.0]))
    conv = nn.Conv2d(5, 4, 2 * pad + 1)
    x = torch.randn(1, 5, 9, 7) * torch.tensor([0.1, 1, 3, 1, 10]).view(1, 5, 1, 1) + 2
    grad = torch.randn(1, 4, 9, 7)
    _assert_close(_through_a_convolution(fused, conv, x, grad), _through_a_convolution(pair, conv, x, grad), 2e-5)
    assert torch.allclose(fused.running_var, pair[0].running_var, rtol=1e-5)
    conv_output = nn.Conv2d(5, 5, 1)(x)
    assert conv_output.untyped_storage().data_ptr() not in _kept_for_backward(FastBatchNormReflectionPad(5, pad),
                                                                              conv_output)
    fused.eval()
    pair.eval()
    assert torch.allclose(fused(x), pair(x), atol=1e-6)


def test_batch_norm_falls_back_where_its_fast_path_does_not_apply():
    torch.manual_seed(0)
    ours, theirs = FastBatchNorm2d(3), nn.BatchNorm2d(3)
    batch = torch.randn(2, 3, 4, 4)
    assert torch.allclose(ours(batch), theirs(batch), atol=1e-6)
    assert torch.allclose(ours(batch.double().float().transpose(2, 3)), theirs(batch.transpose(2, 3)), atol=1e-6)
    with pytest.raises(ValueError):  # PyTorch's own message for one value per channel
        ours(torch.randn(1, 3, 1, 1))


@pytest.mark.parametrize("shape", [(1, 5, 7, 9), (1, 2, 1, 6), (1, 3, 16, 16)])
def test_bilinear_upsampling_gradient_matches_pytorch(shape):
    torch.manual_seed(0)
    ours, theirs = FastUpsample(scale_factor=2, mode="bilinear"), nn.Upsample(scale_factor=2, mode="bilinear")
    x = torch.randn(shape)
    grad = torch.randn(1, shape[1], 2 * shape[2], 2 * shape[3])
    _assert_close(_forward_backward(ours, x, grad), _forward_backward(theirs, x, grad), 1e-6)
    strided = torch.randn(1, shape[1], 2 * shape[3], 2 * shape[2]).transpose(2, 3)  # any layout of gradient
    expected = torch.ops.aten.upsample_bilinear2d_backward(strided.contiguous(), list(strided.shape[2:]),
                                                           list(shape), False, 2.0, 2.0)
    assert torch.allclose(bilinear_x2_adjoint(strided), expected, atol=1e-6)


def test_upsampling_other_than_bilinear_x2_is_pytorch_s():
    x = torch.randn(1, 2, 4, 4, requires_grad=True)
    nearest = FastUpsample(scale_factor=2, mode="nearest")
    assert nearest(x).grad_fn.name() != "_BilinearX2Backward"
    assert FastUpsample(scale_factor=2, mode="bilinear")(x).grad_fn.name() == "_BilinearX2Backward"


@pytest.mark.parametrize(("pad", "shape"), [(1, (1, 4, 6, 5)), (2, (1, 3, 7, 8)), (1, (1, 2, 2, 2))])
def test_reflection_padding_gradient_matches_pytorch(pad, shape):
    torch.manual_seed(0)
    ours, theirs = FastReflectionPad2d(pad), nn.ReflectionPad2d(pad)
    x = torch.randn(shape)
    grad = torch.randn(1, shape[1], shape[2] + 2 * pad, shape[3] + 2 * pad)
    _assert_close(_forward_backward(ours, x, grad), _forward_backward(theirs, x, grad), 1e-6)
    x.requires_grad_(True)
    assert ours(x).grad_fn.name() == "_ReflectionPadBackward"
    assert torch.allclose(reflection_pad_adjoint(grad, pad),
                          torch.ops.aten.reflection_pad2d_backward(grad, x, [pad] * 4), atol=1e-6)
