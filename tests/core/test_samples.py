"""The bundled sample photos are package data, found through importlib.resources."""

from dip_gui.core.imaging import load_image
from dip_gui.core.samples import START_SAMPLE, sample_photo, sample_photos


def test_the_samples_ship_with_the_package_and_load():
    names = [path.name for path in sample_photos()]
    assert START_SAMPLE in names and "coffee.png" in names
    assert load_image(sample_photo()).size == (300, 451)


def test_a_missing_sample_is_none_not_an_error():
    assert sample_photo("no-such-photo.png") is None
