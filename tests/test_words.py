"""How counts read in messages, and how whole numbers are read from text (gate/words.py)."""

from __future__ import annotations

import pytest

from gate.words import quantity, whole_number


def test_one_is_singular_and_every_other_count_plural() -> None:
    assert quantity(1, "day") == "1 day"
    assert [quantity(n, "day") for n in (0, 2, -3)] == ["0 days", "2 days", "-3 days"]
    assert quantity(1, "entry", "entries") == "1 entry"
    assert quantity(21, "entry", "entries") == "21 entries"


def test_a_whole_number_is_ascii_digits_and_nothing_else() -> None:
    assert [whole_number(t) for t in ("0", "7", "0042", "65535")] == [0, 7, 42, 65535]
    assert whole_number("0" * 5000 + "18446744073709551616") == 2**64  # leading zeros are not digits of it


def test_a_number_of_more_than_twenty_digits_is_none_not_an_error() -> None:
    """int() refuses more than 4,300 digits with a ValueError; nothing the gate counts has over 20."""
    assert whole_number("1" * 21) is None
    assert whole_number("1" * 5000) is None


@pytest.mark.parametrize("text", ["", " 7", "7 ", "-1", "+1", "1.0", "1e3", "²", "\u0661", "7\u00b2"])
def test_anything_else_is_not_a_whole_number(text: str) -> None:
    assert whole_number(text) is None
