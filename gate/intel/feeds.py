"""The two threat-intelligence feeds, parsed: the CISA KEV catalog (JSON) and FIRST EPSS scores (CSV or CSV.gz).

Parsing is pure: bytes in, a frozen value out, InputError with one line when the bytes are not the feed.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gate.errors import InputError, short_value
from gate.words import quantity

__all__ = [
    "MAX_EPSS_LINES",
    "MAX_UNPACKED",
    "EpssData",
    "EpssScore",
    "KevCatalog",
    "KevEntry",
    "gunzip",
    "parse_epss",
    "parse_kev",
]

_CVE = re.compile(r"CVE-[0-9]{4}-[0-9]{4,}")
# How FIRST writes a score: 0.00043, 0.99960; a mirror re-written by a CSV library may use an exponent (4.3e-05).
# float() also reads "1_0", " 0.1 ", "nan" and the digits of other scripts, none of which such a file holds.
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
MAX_UNPACKED = 128 * 1024 * 1024
"""Bytes gzip data may unpack to: FIRST's EPSS CSV is about 15 MB, the KEV catalog about 1.5 MB."""
MAX_EPSS_LINES = 3_000_000
"""Lines an EPSS CSV may have, blank ones included: about 300,000 CVEs are scored today."""


@dataclass(frozen=True)
class KevEntry:
    """One entry of the KEV catalog."""

    cve: str
    date_added: date | None = None
    due_date: date | None = None
    ransomware: bool = False
    """`knownRansomwareCampaignUse` is "Known"."""
    name: str = ""
    """`vulnerabilityName`."""


@dataclass(frozen=True)
class KevCatalog:
    """The CISA Known Exploited Vulnerabilities catalog."""

    source: str
    version: str = ""
    """`catalogVersion`."""
    released: str = ""
    """`dateReleased` as the catalog gives it."""
    entries: dict[str, KevEntry] = field(default_factory=dict)
    """CVE ID (upper case) -> entry."""

    @property
    def dated(self) -> date | None:
        """The day the catalog was released (`dateReleased`); None when it gives no readable date."""
        return _date(self.released)

    def describe(self) -> str:
        """One line for the log: which catalog, how many entries."""
        version = f" {self.version}" if self.version else ""
        released = f", released {self.released[:10]}" if self.released else ""
        return f"KEV catalog{version} ({quantity(len(self.entries), 'entry', 'entries')}{released})"


@dataclass(frozen=True)
class EpssScore:
    """The EPSS probability and percentile of one CVE."""

    epss: float
    percentile: float


@dataclass(frozen=True)
class EpssData:
    """EPSS scores for many CVEs, from one FIRST CSV file."""

    source: str
    model_version: str = ""
    score_date: str = ""
    scores: dict[str, EpssScore] = field(default_factory=dict)
    """CVE ID (upper case) -> score."""

    @property
    def dated(self) -> date | None:
        """The day the scores are of (`score_date`); None when the file gives no readable date."""
        return _date(self.score_date)

    def describe(self) -> str:
        """One line for the log: which scores, of when, how many."""
        when = f" of {self.score_date[:10]}" if self.score_date else ""
        model = f", model {self.model_version}" if self.model_version else ""
        return f"EPSS scores{when} ({quantity(len(self.scores), 'CVE')}{model})"


def parse_kev(data: bytes, source: str) -> KevCatalog:
    """Parse the KEV catalog JSON (`known_exploited_vulnerabilities.json`). Raises InputError."""
    text = _text(data, source, "the KEV catalog (JSON)")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}: not the KEV catalog: invalid JSON ({exc.msg} at line {exc.lineno}); download it again"
        ) from None
    except RecursionError:
        raise InputError(
            f"{source}: not the KEV catalog: invalid JSON (nested too deeply); download it again"
        ) from None
    except ValueError:  # a number of more than 4,300 digits: int() refuses to read it
        raise InputError(
            f"{source}: not the KEV catalog: invalid JSON (a number too long to read); download it again"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("vulnerabilities"), list):
        raise InputError(
            f"{source}: not the KEV catalog (no `vulnerabilities` list); give "
            "known_exploited_vulnerabilities.json from CISA"
        )
    if not document["vulnerabilities"]:  # CISA's catalog is never empty: an empty list marks another file
        raise InputError(
            f"{source}: the KEV catalog lists no vulnerabilities; give known_exploited_vulnerabilities.json "
            "from CISA (download it again)"
        )
    count = document.get("count")
    if "count" in document and (not isinstance(count, int) or isinstance(count, bool)):
        # CISA writes a whole number; one of another type would not be compared, and a cut catalog would pass.
        raise InputError(
            f"{source}: the KEV catalog's count is not a whole number (got {short_value(count)}); the file is "
            "damaged (download it again)"
        )
    # CISA states the entry count: a catalog cut short (at an entry boundary) still parses, but disagrees with it.
    if isinstance(count, int) and not isinstance(count, bool) and count != len(document["vulnerabilities"]):
        raise InputError(
            f"{source}: the KEV catalog says count {count} but lists {len(document['vulnerabilities'])} "
            "vulnerabilities; it is truncated or damaged (download it again)"
        )
    entries: dict[str, KevEntry] = {}
    for index, item in enumerate(document["vulnerabilities"]):
        cve = item.get("cveID") if isinstance(item, dict) else None
        if not isinstance(cve, str) or not _CVE.fullmatch(cve.strip().upper()):
            raise InputError(
                f"{source}: vulnerabilities[{index}].cveID is missing or not a CVE ID; the file is damaged"
            )
        key = cve.strip().upper()
        entries[key] = KevEntry(
            cve=key,
            date_added=_date(item.get("dateAdded")),
            due_date=_date(item.get("dueDate")),
            ransomware=str(item.get("knownRansomwareCampaignUse", "")).strip().lower() == "known",
            name=str(item.get("vulnerabilityName") or ""),
        )
    return KevCatalog(
        source=source,
        version=_str(document.get("catalogVersion")),
        released=_str(document.get("dateReleased")),
        entries=entries,
    )


def parse_epss(data: bytes, source: str) -> EpssData:
    """Parse FIRST's EPSS CSV (`epss_scores-YYYY-MM-DD.csv`, gzipped or not). Raises InputError."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = gunzip(data, MAX_UNPACKED)
        except ValueError as exc:
            raise InputError(f"{source}: {exc}; download it again") from None
    text = _text(data, source, "EPSS scores (CSV)")
    try:
        return _epss(text, source)
    except csv.Error as exc:  # a field over csv's limit, a bare carriage return inside a line, ...
        reason = str(exc).split(" - ", 1)[0]  # not csv's advice on how to open a file
        raise InputError(f"{source}: not an EPSS CSV ({reason}); the file is damaged") from None


def _epss(text: str, source: str) -> EpssData:
    # Lines are read one at a time: a list of them is what a file of blank lines blows up into.
    lines = _counted(io.StringIO(text), source)
    model_version = score_date = ""
    number = 0
    header: list[str] = []
    for line in lines:
        number += 1
        if not line.startswith("#"):
            header = [h.strip().lower() for h in next(csv.reader([line]), [])]
            break
        for part in line.lstrip("#").split(","):
            key, _, value = part.partition(":")
            if key.strip() == "model_version":
                model_version = value.strip()
            elif key.strip() == "score_date":
                score_date = value.strip()
    if header[:3] != ["cve", "epss", "percentile"]:
        raise InputError(
            f"{source}: not an EPSS CSV (expected the header cve,epss,percentile); give epss_scores-current.csv.gz"
        )
    scores: dict[str, EpssScore] = {}
    reader = csv.reader(lines)
    taken = 0  # lines the reader has read
    for row in reader:
        at = number + 1 + taken
        if reader.line_num != taken + 1:
            # The lines reach csv without their ends: a quote left open joins the rows after it into one field,
            # which in a column after the three nothing reads, and those rows were lost.
            raise InputError(
                f"{source}: line {at}: a quoted field runs on into the next line; the file is damaged"
            )
        taken = reader.line_num
        if not row:
            continue
        if len(row) < 3:
            raise InputError(
                f"{source}: line {at}: expected cve,epss,percentile; the file is truncated or damaged"
            )
        cve = row[0].strip().upper()
        if not (_DECIMAL.fullmatch(row[1]) and _DECIMAL.fullmatch(row[2])):
            name, number_text = ("epss", row[1]) if not _DECIMAL.fullmatch(row[1]) else ("percentile", row[2])
            raise InputError(
                f"{source}: line {at}: the {name} {short_value(number_text)} is not a decimal number (like "
                "0.00043); the file is damaged"
            )
        epss, percentile = float(row[1]), float(row[2])
        if not _CVE.fullmatch(cve) or not (0.0 <= epss <= 1.0 and 0.0 <= percentile <= 1.0):
            raise InputError(
                f"{source}: line {at}: not a CVE with scores between 0 and 1; the file is damaged"
            )
        if cve in scores:
            # FIRST scores each CVE once. Two rows (two files run together, a bad merge) would leave the later
            # score, lower or higher depending on the order of the rows.
            raise InputError(f"{source}: line {at}: {cve} is scored a second time; the file is damaged")
        scores[cve] = EpssScore(epss=epss, percentile=percentile)
    if not scores:
        raise InputError(f"{source}: the EPSS CSV has no scores; download it again")
    return EpssData(source=source, model_version=model_version, score_date=score_date, scores=scores)


def gunzip(data: bytes, limit: int) -> bytes:
    """`data` unpacked (one or more gzip members). Raises ValueError when it is damaged, cut short or over `limit`.

    zlib is used rather than gzip.GzipFile to check each member's end marker and to stop at `limit` bytes.
    """
    parts: list[bytes] = []
    size = 0
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            part = inflater.decompress(rest, limit + 1 - size)
        except zlib.error as exc:
            raise ValueError(f"the gzip data is damaged ({exc})") from None
        size += len(part)
        if size > limit:
            raise ValueError(f"the gzip data unpacks to more than {limit // (1024 * 1024)} MiB")
        if not inflater.eof:
            raise ValueError("the gzip data is truncated (it ends before its end marker)")
        parts.append(part)
        rest = inflater.unused_data.lstrip(b"\0")  # gzip(1) tolerates zero padding after a member
    # One member (the usual case) is returned as it is: no second copy of up to `limit` bytes.
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _counted(lines: Iterator[str], source: str) -> Iterator[str]:
    for number, line in enumerate(lines, start=1):
        if number > MAX_EPSS_LINES:
            raise InputError(
                f"{source}: more than {MAX_EPSS_LINES:,} lines; this is not FIRST's EPSS CSV (or it is damaged)"
            )
        yield line.rstrip("\r\n")


def _text(data: bytes, source: str, what: str) -> str:
    if not data.strip():
        raise InputError(f"{source}: empty; expected {what}")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8 text; expected {what}") from None
    if text.lstrip()[:1] == "<":
        raise InputError(f"{source}: this is HTML or XML, not {what} (a login or error page?)")
    return text


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None
