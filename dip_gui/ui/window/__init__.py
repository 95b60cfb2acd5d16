"""The main window and the controllers it is composed of."""
