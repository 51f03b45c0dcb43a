"""The two threat-intelligence feeds, parsed: the CISA KEV catalog (JSON) and FIRST EPSS scores (CSV or CSV.gz).

Parsing is pure: bytes in, a frozen value out, InputError with one line when the bytes are not the feed.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from gate.errors import InputError

__all__ = ["EpssData", "EpssScore", "KevCatalog", "KevEntry", "parse_epss", "parse_kev"]

_CVE = re.compile(r"CVE-[0-9]{4}-[0-9]{4,}")
_MAX_UNZIPPED = 512 * 1024 * 1024


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

    def describe(self) -> str:
        """One line for the log: which catalog, how many entries."""
        version = f" {self.version}" if self.version else ""
        released = f", released {self.released[:10]}" if self.released else ""
        return f"KEV catalog{version} ({len(self.entries)} entries{released})"


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

    def describe(self) -> str:
        """One line for the log: which scores, of when, how many."""
        when = f" of {self.score_date[:10]}" if self.score_date else ""
        model = f", model {self.model_version}" if self.model_version else ""
        return f"EPSS scores{when} ({len(self.scores)} CVEs{model})"


def parse_kev(data: bytes, source: str) -> KevCatalog:
    """Parse the KEV catalog JSON (`known_exploited_vulnerabilities.json`). Raises InputError."""
    text = _text(data, source, "the KEV catalog (JSON)")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}: not the KEV catalog: invalid JSON ({exc.msg} at line {exc.lineno})"
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
            data = _gunzip(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(
                f"{source}: the gzip data is damaged or truncated ({exc}); download it again"
            ) from None
    text = _text(data, source, "EPSS scores (CSV)")
    lines = text.splitlines()
    model_version = score_date = ""
    start = 0
    while start < len(lines) and lines[start].startswith("#"):
        for part in lines[start].lstrip("#").split(","):
            key, _, value = part.partition(":")
            if key.strip() == "model_version":
                model_version = value.strip()
            elif key.strip() == "score_date":
                score_date = value.strip()
        start += 1
    reader = csv.reader(lines[start:])
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:3] != ["cve", "epss", "percentile"]:
        raise InputError(
            f"{source}: not an EPSS CSV (expected the header cve,epss,percentile); give epss_scores-current.csv.gz"
        )
    scores: dict[str, EpssScore] = {}
    for offset, row in enumerate(reader):
        line = start + 2 + offset
        if not row:
            continue
        if len(row) < 3:
            raise InputError(
                f"{source}: line {line}: expected cve,epss,percentile; the file is truncated or damaged"
            )
        cve = row[0].strip().upper()
        try:
            epss, percentile = float(row[1]), float(row[2])
        except ValueError:
            raise InputError(
                f"{source}: line {line}: {row[1]!r}/{row[2]!r} are not numbers; the file is damaged"
            ) from None
        if not _CVE.fullmatch(cve) or not (0.0 <= epss <= 1.0 and 0.0 <= percentile <= 1.0):
            raise InputError(
                f"{source}: line {line}: not a CVE with scores between 0 and 1; the file is damaged"
            )
        scores[cve] = EpssScore(epss=epss, percentile=percentile)
    if not scores:
        raise InputError(f"{source}: the EPSS CSV has no scores; download it again")
    return EpssData(source=source, model_version=model_version, score_date=score_date, scores=scores)


def _gunzip(data: bytes) -> bytes:
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
        out = stream.read(_MAX_UNZIPPED + 1)
    if len(out) > _MAX_UNZIPPED:
        raise OSError("more than 512 MiB unpacked")
    return out


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
