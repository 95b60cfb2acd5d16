"""The weight gradient of a 3x3 stride-1 convolution by Winograd's F(4x4, 3x3) (CPU).

For output tiles of 4x4 pixels (input tiles of 6x6, overlapping by 2) the gradient of the 3x3
weights is ``G^T [sum over tiles of (A^T-adjoint of the output-gradient tile) * (B^T d B)] G``
(Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): 36 matrix products of
(out x tiles) by (tiles x in) instead of 9 of (out x pixels) by (pixels x in), 4x fewer
multiplications. Both tile transforms are fixed strided convolutions with one input channel, which
oneDNN runs near memory speed. Measured on the 2-core development CPU (``MALLOC_MMAP_MAX_=0``,
median of 5), 132->128 channels at 256 px: oneDNN's weight gradient 204 ms, this one 91 ms (input
transform 33, output-gradient transform 18, the 36 products 42). Results differ from oneDNN's by
~1e-5 of their largest value.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Output sides must be multiples of the tile; below this side or channel count the transforms' cost wins.
TILE = 4
MIN_SIDE = 32
MIN_CHANNELS = 64
#: Transformed tiles held at once (both operands), bytes.
BAND_BYTES = 64 * 2**20


def _transforms() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The F(4x4, 3x3) matrices (interpolation points 0, +-1, +-2, infinity), as convolution weights."""
    bt = torch.tensor([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0],
                       [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=torch.float64)
    g = torch.tensor([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6],
                      [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], dtype=torch.float64)
    at = torch.tensor([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
                      dtype=torch.float64)
    input_tiles = torch.kron(bt, bt).float().view(36, 1, 6, 6)  # vec(B^T d B) for a 6x6 input tile d
    grad_tiles = torch.kron(at, at).t().float().contiguous().view(36, 1, TILE, TILE)  # adjoint of A^T m A
    to_weights = torch.kron(g, g).t().float().contiguous()  # (9, 36): vec(G^T m G)
    return input_tiles, grad_tiles, to_weights


_MATRICES = _transforms()


def usable(x: torch.Tensor, grad: torch.Tensor, kernel: int) -> bool:
    """Whether ``weight_gradient`` applies: one float32 image, 3x3 kernel, sides multiples of 4."""
    height, width = grad.shape[2], grad.shape[3]
    return (kernel == 3 and x.shape[0] == 1 and min(x.shape[1], grad.shape[1]) >= MIN_CHANNELS
            and x.dtype == grad.dtype == torch.float32
            and height % TILE == 0 and width % TILE == 0 and min(height, width) >= MIN_SIDE)


def weight_gradient(x: torch.Tensor, grad: torch.Tensor, padding: int) -> torch.Tensor:
    """Gradient of ``conv2d(x, w, padding=padding)`` (3x3, stride 1) with respect to ``w``.

    The image is taken in bands of tile rows so that the transformed tiles stay within
    ``BAND_BYTES`` (at 512 px they would be ~600 MB for the paper network's largest layer).
    """
    if padding:
        x = F.pad(x, (padding,) * 4)
    channels_in, channels_out = x.shape[1], grad.shape[1]
    tile_rows, tile_cols = grad.shape[2] // TILE, grad.shape[3] // TILE
    band = max(1, BAND_BYTES // (36 * 4 * tile_cols * (channels_in + channels_out)))
    products = torch.zeros(36, channels_out, channels_in)
    for top in range(0, tile_rows, band):
        rows = min(band, tile_rows - top)
        x_band = x[:, :, top * TILE: (top + rows) * TILE + 2]
        grad_band = grad[:, :, top * TILE: (top + rows) * TILE]
        products.baddbmm_(*_transformed_tiles(x_band, grad_band))
    to_weights = _MATRICES[2]
    weights = to_weights @ products.view(36, -1)
    return weights.view(3, 3, channels_out, channels_in).permute(2, 3, 0, 1).contiguous()


def _transformed_tiles(x: torch.Tensor, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(36, out, tiles) and (36, tiles, in) views whose batched product is this band's share."""
    input_tiles, grad_tiles, _ = _MATRICES
    channels_in, channels_out = x.shape[1], grad.shape[1]
    x_planes = x.reshape(channels_in, 1, x.shape[2], x.shape[3])
    grad_planes = grad.reshape(channels_out, 1, grad.shape[2], grad.shape[3])
    v = F.conv2d(x_planes, input_tiles, stride=TILE).reshape(channels_in, 36, -1).transpose(0, 1)
    u = F.conv2d(grad_planes, grad_tiles, stride=TILE).reshape(channels_out, 36, -1).transpose(0, 1)
    return u, v.transpose(1, 2)
