"""The base of the wire types: the parts of scanner reports and image metadata the gate reads.

A wrong type is an error (strict); an unknown key is not (ignored). The types a report holds thousands of
are pydantic dataclasses with slots (`@dataclass(config=WIRE, slots=True, kw_only=True)`): a third of the
memory of models at the same speed. The few top-level types are models (`Wire`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["WIRE", "Wire"]

WIRE = ConfigDict(extra="ignore", strict=True)
"""The configuration of every wire type."""


class Wire(BaseModel):
    """A top-level wire type."""

    model_config = WIRE
