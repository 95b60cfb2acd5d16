import numpy as np
import pytest

from dip_gui.core.imaging import load_image
from dip_gui.core.problem.degradations import jpeg_compress
from dip_gui.core.problem.jpeg_quality import estimate_jpeg_quality
from dip_gui.core.samples import sample_photos


def sample(index: int = 0) -> np.ndarray:
    """A bundled photo (synthetic ones are too flat or too noisy to look like a JPEG's blocks)."""
    return load_image(sample_photos()[index]).rgb


@pytest.mark.parametrize("quality", [5, 10, 20, 35, 60])
def test_the_quality_is_read_back_from_the_pixels(quality):
    for image in (sample(0), sample(1)[:160, :200], sample(1)[:160, :200, :1]):  # whole, a corner, grey
        estimate = estimate_jpeg_quality(jpeg_compress(image, quality))
        assert estimate is not None and abs(estimate - quality) <= 1 + quality // 20, estimate


def test_photos_that_show_no_jpeg_give_no_quality():
    image = sample(0)
    assert estimate_jpeg_quality(image) is None  # never compressed
    assert estimate_jpeg_quality(jpeg_compress(image, 10)[3:, 5:]) is None  # cropped off the 8-pixel grid
    assert estimate_jpeg_quality(jpeg_compress(image, 10)[:8, :8]) is None  # too small to tell
    assert estimate_jpeg_quality(np.full((64, 64, 3), 0.5, np.float32)) is None  # flat


def test_a_large_photo_is_read_from_its_centre():
    large = np.tile(sample(1), (3, 2, 1))  # 1200 x 1200
    assert estimate_jpeg_quality(jpeg_compress(large, 15)) in (14, 15, 16)
