"""DIP Studio: interactive Deep Image Prior photo restoration."""

__version__ = "0.1.0"
