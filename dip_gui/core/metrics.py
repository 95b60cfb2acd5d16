"""Image quality metrics on float images in [0, 1]: PSNR (RGB and luma) and SSIM."""

from __future__ import annotations

import numpy as np
import torch


def psnr(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB for images in [0, 1] (inf for identical images)."""
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        mse = float(torch.mean((a.float() - b.float()) ** 2))
    else:
        mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return psnr_from_mse(mse)


def psnr_from_mse(mse: float) -> float:
    """A mean squared error of values in [0, 1] in dB (inf for 0)."""
    return float("inf") if mse == 0 else 10.0 * float(np.log10(1.0 / mse))


def rgb_to_y(image: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma in [16/255, 235/255], as SR papers measure it."""
    weights = np.array([65.481, 128.553, 24.966], dtype=np.float64) / 255.0
    return image.astype(np.float64) @ weights + 16.0 / 255.0


def psnr_y(a: np.ndarray, b: np.ndarray, border: int = 0) -> float:
    """PSNR on the luma channel, optionally ignoring ``border`` pixels on each side."""
    ya, yb = rgb_to_y(a), rgb_to_y(b)
    if border:
        ya, yb = ya[border:-border, border:-border], yb[border:-border, border:-border]
    return psnr(ya, yb)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Gaussian window 11, sigma 1.5) over channels of HxW or HxWxC images in [0, 1]."""
    import cv2

    a64, b64 = np.atleast_3d(a).astype(np.float64), np.atleast_3d(b).astype(np.float64)
    c1, c2 = 0.01**2, 0.03**2
    scores = []
    for ch in range(a64.shape[2]):
        x, y = a64[:, :, ch], b64[:, :, ch]

        def blur(img: np.ndarray) -> np.ndarray:
            return cv2.GaussianBlur(img, (11, 11), 1.5)

        mx, my = blur(x), blur(y)
        vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
        ssim_map = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
        scores.append(float(ssim_map.mean()))
    return float(np.mean(scores))
