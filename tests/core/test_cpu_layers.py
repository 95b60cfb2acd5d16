"""The CPU replacements for batch norm, bilinear x2 upsampling and reflection padding against the
PyTorch modules they replace: same outputs, gradients and running statistics."""

import pytest
import torch
from torch import nn

from dip_gui.core.networks.cpu_layers import (
    FastBatchNorm2d,
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
