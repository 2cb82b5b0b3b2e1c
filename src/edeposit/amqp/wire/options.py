"""What the caller of the codec decides: defaults for left-out fields, the output form.

The wire layer reads no settings: whoever owns them (the contract's module-level
functions use the process settings, a daemon its own) builds a :class:`WireOptions`
and passes it to every ``encode`` and ``decode``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["GENERATIONS", "WireOptions"]

#: Output forms the codec writes (docs/messages.md), by the year of the clients that read them.
GENERATIONS = ("2014", "2015", "2016")


def _no_defaults() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclasses.dataclass(frozen=True, slots=True)
class WireOptions:
    """How one caller reads and writes the wire format.

    Attributes:
        defaults: values for fields a message may leave out whose default belongs to
            the caller, by the name the field declares (``WireField.default_from``:
            a query's ``"base"``, a document's ``"library"``). Looked up only when a
            message leaves such a field out; a name missing here makes that an error.
        generation: the output form to write, one of :data:`GENERATIONS`.
    """

    defaults: Mapping[str, str] = dataclasses.field(default_factory=_no_defaults)
    generation: str = "2014"

    def __post_init__(self) -> None:
        if self.generation not in GENERATIONS:
            raise ValueError(
                f"wire generation {self.generation!r} is not supported"
                f" (supported: {', '.join(GENERATIONS)})"
            )
