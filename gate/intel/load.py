"""Load the KEV catalog or EPSS scores from a file path or a URL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

from gate.errors import InputError
from gate.files import read_capped
from gate.intel.feeds import MAX_UNPACKED, EpssData, KevCatalog, parse_epss, parse_kev
from gate.intel.fetch import Fetched, Fetcher
from gate.words import quantity

__all__ = ["EPSS_TYPES", "KEV_TYPES", "file_age_note", "is_url", "load_epss", "load_kev"]

_T = TypeVar("_T")

KEV_TYPES = ("application/json", "text/json", "text/plain", "application/octet-stream", "binary/octet-stream")
"""Content types the KEV catalog may be served as."""
EPSS_TYPES = (
    "application/gzip",
    "application/x-gzip",
    "application/octet-stream",
    "binary/octet-stream",
    "text/csv",
    "application/csv",
    "text/plain",
)
"""Content types EPSS CSV (gzipped or not) may be served as."""


def is_url(spec: str) -> bool:
    """True when `spec` is an http(s) URL rather than a file path."""
    return spec.startswith(("https://", "http://"))


def load_kev(
    spec: str, *, fetcher: Fetcher | None, read: Callable[[Path], bytes] | None = None
) -> Fetched[KevCatalog]:
    """The KEV catalog from a file or URL. Raises InputError (bad file) or IntelUnavailable (URL, no cache)."""
    return _load(spec, parse_kev, KEV_TYPES, fetcher, read)


def load_epss(
    spec: str, *, fetcher: Fetcher | None, read: Callable[[Path], bytes] | None = None
) -> Fetched[EpssData]:
    """EPSS scores from a CSV/CSV.gz file or URL. Raises InputError (bad file) or IntelUnavailable (URL, no cache)."""
    return _load(spec, parse_epss, EPSS_TYPES, fetcher, read)


def _load(
    spec: str,
    parse: Callable[[bytes, str], _T],
    accept: tuple[str, ...],
    fetcher: Fetcher | None,
    read: Callable[[Path], bytes] | None,
) -> Fetched[_T]:
    if is_url(spec):
        if fetcher is None:
            raise InputError(f"{spec}: a URL needs the network; give a file instead")
        return fetcher.get(spec, parse, accept=accept)
    try:
        data = (read or _read_feed_file)(Path(spec))
    except IsADirectoryError:
        raise InputError(f"{spec}: is a directory; give the feed file") from None
    except FileNotFoundError:
        raise InputError(f"{spec}: no such file; check the path (or give an https:// URL)") from None
    except OSError as exc:
        raise InputError(f"{spec}: cannot read ({exc.strerror or exc})") from None
    return Fetched(parse(data, spec), "file")


_MAX_FILE_BYTES = MAX_UNPACKED
"""Bytes a feed file may have: FIRST's EPSS CSV is about 15 MB unpacked; a bigger file (a device that never
ends, /dev/zero) is not a feed."""


def _read_feed_file(path: Path) -> bytes:
    return read_capped(path, _MAX_FILE_BYTES, "a feed")


def file_age_note(feed: KevCatalog | EpssData, *, today: date, max_days: int) -> str:
    """What the log should say about the date a feed file gives itself: "" when it is within `max_days` of
    `today`, else that it is older (and what to do), dated after `today`, or undated.

    The file is used whatever its date: the user chose it, perhaps for an offline run that must give the same
    answer again, and old data still marks what it knows (CISA seldom drops a KEV entry). A day's grace after
    `today` allows for clocks, as for report dates.
    """
    if isinstance(feed, KevCatalog):
        key, flag, lacks = "dateReleased", "--kev", "it lacks what CISA added since"
    else:
        key, flag, lacks = "score_date", "--epss", "its scores are out of date"
    day = feed.dated
    if day is None:
        return f"{feed.source} does not say when it was made (no readable {key}), so its age is not checked"
    age = (today - day).days
    if age < -1:
        return (
            f"{feed.source} is dated {day} ({key}), after the evaluation date {today}; a feed cannot come from "
            "the future: check the file and the clock (or --today)"
        )
    if age > max_days:
        return (
            f"{feed.source} is dated {day} ({key}), {age} days before {today}, over --intel-max-age "
            f"({quantity(max_days, 'day')}): {lacks}; download a current copy, or give {flag} the feed's URL to "
            "have it downloaded and cached"
        )
    return ""
