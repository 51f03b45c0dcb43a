"""Turn the raw bytes of a report into the bytes of one JSON document.

Handles what real pipelines produce: UTF-8 with or without BOM, UTF-16 with BOM (PowerShell redirects,
sometimes with a stray odd byte at the end) and log lines printed before the JSON document.
"""

from __future__ import annotations

import codecs
import re
from datetime import datetime

from gate.errors import InputError
from gate.words import quantity

__all__ = [
    "first_byte",
    "json_document",
    "parse_timestamp",
    "shorten",
]

# A JSON report starts with `{`, or with `[` followed by `{`, `]` or the end of the line (the legacy
# Trivy list form). `[0000]  WARN ...` is a log line, not JSON.
_DOCUMENT_START = re.compile(rb"^[ \t]*(\{|\[[ \t]*(\{|\]|\r?$))", re.MULTILINE)
_MAX_SKIPPED_SHOWN = 3


def json_document(data: bytes, source: str) -> tuple[bytes, list[str]]:
    """Return the UTF-8 bytes of the JSON document in `data` and warnings about what was skipped.

    Raises InputError for empty or blank content, undecodable text, or text without a JSON document.
    """
    data = _to_utf8(data, source)
    if not data or data.isspace():
        raise InputError(f"{source}: the file is empty; the scanner produced no report (check the scan step)")
    match = _DOCUMENT_START.search(data)
    if match is None or not data[: match.start()].strip():
        # No log prefix: the parser gives the precise error for whatever this is.
        return data, []
    skipped = [line.strip() for line in data[: match.start()].decode("utf-8", "replace").splitlines()]
    skipped = [line for line in skipped if line]
    shown = "; ".join(repr(shorten(line)) for line in skipped[:_MAX_SKIPPED_SHOWN])
    more = f" and {len(skipped) - _MAX_SKIPPED_SHOWN} more" if len(skipped) > _MAX_SKIPPED_SHOWN else ""
    warning = (
        f"{source}: skipped {quantity(len(skipped), 'line')} before the JSON document: {shown}{more} "
        "(send the scanner's log to stderr)"
    )
    return data[match.start() :], [warning]


def first_byte(data: bytes) -> bytes:
    """The first non-whitespace byte of `data` (empty when there is none), without copying `data`."""
    found = _FIRST.search(data)
    return found.group(0) if found else b""


_FIRST = re.compile(rb"[^ \t\r\n]")


_TIMESTAMP = re.compile(
    r"(?P<base>\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2})?)(?:\.(?P<fraction>\d+))?(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?"
)


def parse_timestamp(text: str) -> datetime | None:
    """An RFC 3339 timestamp as scanners and image tools write it (nanoseconds, `Z`), or None if it is not one.

    Python 3.10's `fromisoformat` takes neither `Z` nor more than six fractional digits, so normalise first.
    """
    found = _TIMESTAMP.fullmatch(text.strip())
    if found is None:
        return None
    fraction = (found.group("fraction") or "")[:6]
    zone = found.group("zone") or ""
    zone = "+00:00" if zone in ("Z", "z") else zone
    if zone and ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        return datetime.fromisoformat(
            found.group("base") + (f".{fraction.ljust(6, '0')}" if fraction else "") + zone
        )
    except ValueError:
        return None


def _to_utf8(data: bytes, source: str) -> bytes:
    if data.startswith(codecs.BOM_UTF8):  # twice when a tool that adds one copied a file that had one
        while data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        return data
    # Before UTF-16: FF FE starts both little-endian marks.
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise InputError(
            f"{source}: the text is UTF-32, which no scanner writes; write the report as UTF-8 (the scanner's "
            "-o/--file option), or convert it (iconv -f UTF-32 -t UTF-8)"
        )
    for bom, encoding in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            body = data[len(bom) :]
            # A stray single trailing byte (a newline appended by a shell) cannot be UTF-16.
            if len(body) % 2 and body[-1:].isspace():
                body = body[:-1]
            try:
                return body.decode(encoding).encode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{source}: not valid {encoding.upper()} text ({exc.reason} at byte {exc.start + len(bom):,}); "
                    "the file is truncated or damaged, write the report again (as UTF-8: the scanner's -o/--file "
                    "option, not a shell redirect)"
                ) from None
    if b"\x00" in data[:2] and data[:2].strip(b"\x00") in (b"{", b"["):  # `{` or `[` as UTF-16 LE or BE
        raise InputError(
            f"{source}: the text is UTF-16 without a byte-order mark; write the report as UTF-8 (the scanner's "
            "-o/--file option, not a shell redirect)"
        )
    return data


def shorten(text: str, limit: int = 80) -> str:
    """`text` printable (other characters as `?`) and at most `limit` characters, ending in `…` when cut."""
    printable = "".join(ch if ch.isprintable() else "?" for ch in text)
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"
