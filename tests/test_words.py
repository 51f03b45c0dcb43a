"""How counts read in messages (gate/words.py)."""

from __future__ import annotations

from gate.words import quantity


def test_one_is_singular_and_every_other_count_plural() -> None:
    assert quantity(1, "day") == "1 day"
    assert [quantity(n, "day") for n in (0, 2, -3)] == ["0 days", "2 days", "-3 days"]
    assert quantity(1, "entry", "entries") == "1 entry"
    assert quantity(21, "entry", "entries") == "21 entries"
