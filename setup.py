"""The one thing pyproject.toml cannot say: the top-level ``resources/`` folder ships inside the
package as ``dip_gui.resources`` (``packages.find`` only finds packages under ``dip_gui/``)."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["dip_gui", "dip_gui.*"]), "dip_gui.resources"],
    package_dir={"dip_gui.resources": "resources"},
    package_data={"dip_gui": ["py.typed"], "dip_gui.resources": ["samples/*.png", "samples/*.md", "icons/*.svg"]},
)
