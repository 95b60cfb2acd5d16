"""The base of the project's closed sets of named choices (task, start, input, precision, ...).

A ``NamedChoice`` is a ``str`` whose value is its name as users and files write it
(``Task.DENOISE == "denoise"``), so command-line choices, JSON, saved sessions and messages read
the same as plain strings, while the code names each choice and a type checker knows the set.
Saved sessions store ``.value`` (a plain string): their loader refuses every class it does not know.
"""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from dip_gui.core.errors import InvalidParameterError

C = TypeVar("C", bound="NamedChoice")


class NamedChoice(str, Enum):
    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """Every choice's value, in order (for argparse ``choices`` and messages)."""
        return tuple(str(member.value) for member in cls)

    @classmethod
    def parse(cls: type[C], value: str | C, what: str) -> C:
        """The member named ``value``; InvalidParameterError naming ``what`` and the choices otherwise."""
        try:
            return cls(value)
        except ValueError:
            raise InvalidParameterError(f"unknown {what} {value!r}; choose one of {', '.join(cls.values())}") from None
