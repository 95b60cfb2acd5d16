"""Data shipped inside the package as ``dip_gui.resources``: the sample photos (found with
``importlib.resources``, so an installed wheel opens them as a checkout does)."""
