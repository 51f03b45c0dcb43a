"""The one reading of a time as a day that the policy's dates and ages use: its day in UTC, the calendar the gate's
`today` is in."""

from __future__ import annotations

from datetime import date, datetime, timezone

__all__ = ["utc_day"]


def utc_day(when: datetime) -> date:
    """The UTC day of `when` (`2027-03-01T01:00:00+05:00` is 28 February); a time without an offset is taken as
    UTC, as the scanners write it. At the ends of the calendar (0001-01-01 east of UTC, 9999-12-31 west of it)
    the day as written, the nearest there is."""
    if when.tzinfo is None:
        return when.date()
    try:
        return when.astimezone(timezone.utc).date()
    except OverflowError:
        return when.date()
