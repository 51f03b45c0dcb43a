"""GitLab's container-scanning report (`--gitlab-report`, `artifacts:reports:container_scanning`).

Validates against GitLab's security-report schema and declares version 15.0.7 by default (an instance rejects
versions it does not know: PLATFORMS.md C.1). One vulnerability per (image, package, version, ID), active and
waived alike (GitLab keeps its own dismissals), except where GitLab would keep only the first of several: those
are folded into it (`_folded`); secrets, misconfigurations and image checks go to the
code-quality report instead. Times come from the evaluation date, in GitLab's format (no zone, no fraction).
Descriptions and solutions are GitLab-flavoured Markdown, so report text is Markdown-escaped.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from typing import Any

from gate import __version__
from gate.errors import OutputError
from gate.model import FindingKind, Severity
from gate.policy.decision import Decision, ImageDecision
from gate.report import _text
from gate.report._common import Results, advisory_url, image_keys, image_titles, joined, json_bytes, to_json

__all__ = ["DEFAULT_SCHEMA_VERSION", "encode", "render"]

DEFAULT_SCHEMA_VERSION = "15.0.7"
_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
_NAMESPACE = uuid.UUID("6f1c1a5e-5b8f-4c1e-9d3b-6a1f0c2d7e41")
_NOT_TYPE = re.compile(r"[^a-z0-9_]")
_SEVERITY = {
    Severity.CRITICAL: "Critical",
    Severity.HIGH: "High",
    Severity.MEDIUM: "Medium",
    Severity.LOW: "Low",
    Severity.NEGLIGIBLE: "Info",
    Severity.UNKNOWN: "Unknown",
}
_MAX_NAME = 255
_MAX_DESCRIPTION = 20_000
_MAX_SOLUTION = 2_000
_MAX_FOLDED = 10_000
"""Characters of the lines an entry gets for the entries folded into it; the rest are counted."""
_RANK = ("Info", "Unknown", "Low", "Medium", "High", "Critical")
"""Severities in the order of GitLab's Enums::Vulnerability.severity_levels (unknown above info)."""
_SEMVER_TAG = re.compile(
    r"[ \t\r\n\f\v]*([0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?[ \t\r\n\f\v]*"
)
"""Ruby's `Gem::Version.correct?` (its ANCHORED_VERSION_PATTERN; the empty string is correct)."""
_HASH_TAG = re.compile(r"[0-9a-fA-F]{8,128}")


def render(
    decision: Decision, *, schema_version: str = DEFAULT_SCHEMA_VERSION, results: Results | None = None
) -> str:
    """The report as JSON text; `results` holds the images' results when other renderers of the run share them.

    Raises OutputError when `schema_version` is not X.Y.Z.
    """
    return to_json(_report(decision, schema_version, results))


def encode(
    decision: Decision, *, schema_version: str = DEFAULT_SCHEMA_VERSION, results: Results | None = None
) -> list[bytes]:
    """What `render` writes, as UTF-8 bytes in pieces (`json_bytes`): for writing a large report to a file."""
    return json_bytes(_report(decision, schema_version, results))


def _report(decision: Decision, schema_version: str, results: Results | None) -> dict[str, Any]:
    if not _VERSION.fullmatch(schema_version):
        raise OutputError(f"--gitlab-schema-version {schema_version!r} is not a version like 15.0.7")
    stamp = f"{decision.today.isoformat()}T00:00:00"
    results = Results() if results is None else results
    entries: list[tuple[dict[str, Any], _Where]] = []
    titles = image_titles(decision.images)
    for image, key, title in zip(decision.images, image_keys(decision), titles, strict=True):
        entries.extend(_vulnerabilities(image, key, title, results))
    vulnerabilities = _folded(entries)
    scanners = sorted({s for image in decision.images for s in image.scanners})
    versions = sorted({v for image in decision.images for v in (image.scanner_version,) if v})
    scanner_id = "-".join(scanners) or "unknown"
    return {
        "version": schema_version,
        "scan": {
            "analyzer": {
                "id": "container-gate",
                "name": "container-gate",
                "version": __version__,
                "vendor": {"name": "container-gate"},
            },
            "scanner": {
                "id": scanner_id,
                "name": " and ".join(s.capitalize() for s in scanners) or "unknown",
                "version": _text.one_line(", ".join(versions), 100) or "unknown",
                "vendor": {
                    "name": "Aqua Security"
                    if scanners == ["trivy"]
                    else "Anchore"
                    if scanners == ["grype"]
                    else "Aqua Security and Anchore"
                },
            },
            "type": "container_scanning",
            "start_time": stamp,
            "end_time": stamp,
            "status": "success",
        },
        "vulnerabilities": vulnerabilities,
        "remediations": [],
    }


_Where = tuple[str, str, str, str, str]
"""What a folded line says of an entry: its ID, package, version, image title and the gate's decision."""


def _vulnerabilities(
    image: ImageDecision, key: str, image_title: str, results: Results
) -> list[tuple[dict[str, Any], _Where]]:
    out = []
    os_name = (_text.one_line(image.image.os, 255) if image.image is not None else "") or "unknown"
    name = _text.one_line(image.name, 255) or "unknown"
    # Advisories repeat across packages, and packages, versions and fixes across advisories: within one
    # image each distinct input is escaped once (caches local to this call, gone when it returns).
    advisory = functools.cache(_advisory)
    solution = functools.cache(_solution)
    decided = functools.cache(_decided)
    located = functools.cache(functools.partial(_located, os_name, name))
    for item in results.items(image):
        finding = item.finding
        if finding is None or finding.kind is not FindingKind.VULNERABILITY or finding.package is None:
            continue
        package, version, location = located(finding.package.name, finding.package.version)
        ident, title, text, identifiers = advisory(
            finding.id, finding.aliases, finding.title, finding.description
        )
        waived = item.waived
        what = decided(item.rules, waived.reason if waived else None, waived.waiver_id if waived else None)
        description = text + what
        entry = {
            "id": _uuid5(f"{key}|{package}|{version}|{ident}"),
            "name": title,
            "description": description,
            "severity": _SEVERITY[finding.severity],
            "solution": solution(package, finding.fixed_versions, finding.fixable),
            "identifiers": identifiers,
            "location": location,
        }
        out.append((entry, (ident, package, version, image_title, what)))
    return out


def _folded(entries: list[tuple[dict[str, Any], _Where]]) -> list[dict[str, Any]]:
    """The entries GitLab keeps, each holding what GitLab would drop in its favour.

    GitLab drops from a report each vulnerability that shares an identifier (CWE and WASC aside) and a location
    with an earlier one (`Security::MergeReportsService`), its location being the image without its tag and the
    package without its version (`Locations::ContainerScanning#fingerprint_data`): two versions of one package,
    or two images that differ in tag or platform only, would show one vulnerability, maybe the waived one. Such
    an entry is folded into the earlier one instead: its severity if higher, and a line saying where else the
    vulnerability is and what the gate decided there.
    """
    kept: list[dict[str, Any]] = []
    seen: dict[tuple[str, str, str], int] = {}
    folded: dict[int, list[str]] = {}
    more: dict[int, int] = {}
    for entry, (ident, package, version, title, what) in entries:
        location = entry["location"]
        place = f"{_gitlab_image(location['image'])}:{location['dependency']['package']['name']}"
        keys = [
            (place, i["type"], i["value"])
            for i in entry["identifiers"]
            if i["type"].lower() not in ("cwe", "wasc")
        ]
        first = next((seen[k] for k in keys if k in seen), None)
        if first is None:
            seen.update(dict.fromkeys(keys, len(kept)))
            kept.append(entry)
            continue
        target = kept[first]
        if _RANK.index(entry["severity"]) > _RANK.index(target["severity"]):
            target["severity"] = entry["severity"]
        md = _text.markdown
        line = (
            f"{md(ident, 100)} in {md(package, 200)} {md(version, 100)}".rstrip()
            + f" of image {md(title, 300)}: "
        )
        line += what.lstrip("\n") or "no policy rule applies"
        lines = folded.setdefault(first, [])
        if sum(map(len, lines)) + len(line) <= _MAX_FOLDED:
            lines.append(line)
        else:
            more[first] = more.get(first, 0) + 1
    for index, lines in folded.items():
        also = "".join(f"\n\nAlso {line}" for line in lines)
        if index in more:
            also += f"\n\nAnd {more[index]} more."
        kept[index]["description"] += also
    return kept


def _gitlab_image(image: str) -> str:
    """The image as GitLab's vulnerability location takes it: without the tag after its last `:` unless that
    reads as a version (and not as a hash); a name without `:` is then "" (Locations::ContainerScanning)."""
    base, _, tag = image.rpartition(":")
    return image if _SEMVER_TAG.fullmatch(tag) and not _HASH_TAG.fullmatch(tag) else base


def _located(
    os_name: str, image_name: str, package_name: str, package_version: str
) -> tuple[str, str, dict[str, Any]]:
    """The package's name and version on one line, and the `location` of its vulnerabilities: one dict for all
    of them (the encoder writes it out at each)."""
    package = _text.one_line(package_name, 255) or "unknown"
    version = _text.one_line(package_version, 255)
    location = {
        "dependency": {"package": {"name": package}, "version": version},
        "operating_system": os_name,
        "image": image_name,
    }
    return package, version, location


# The namespace's hash state, copied for each ID rather than hashing its 16 bytes again.
_NAMESPACE_SHA1 = hashlib.sha1(_NAMESPACE.bytes, usedforsecurity=False)
_VARIANT = {digit: "89ab"[int(digit, 16) & 0x3] for digit in "0123456789abcdef"}
"""The RFC 4122 variant in a UUID's 17th hex digit: its top two bits set to 10."""


def _uuid5(name: str) -> str:
    """`str(uuid.uuid5(_NAMESPACE, name))`, the vulnerability's stable ID, without a UUID object per call (its
    integer arithmetic costs twice the hash, on tens of thousands of vulnerabilities)."""
    sha1 = _NAMESPACE_SHA1.copy()
    sha1.update(name.encode("utf-8"))
    text = sha1.hexdigest()
    # version 5 in the 13th hex digit, the variant in the 17th
    return f"{text[:8]}-{text[8:12]}-5{text[13:16]}-{_VARIANT[text[16]]}{text[17:20]}-{text[20:32]}"


def _advisory(
    finding_id: str, aliases: tuple[str, ...], title: str, description: str
) -> tuple[str, str, str, list[dict[str, str]]]:
    """What a vulnerability entry takes from the advisory alone: the ID, the name, the escaped description
    and the identifiers."""
    ident = _text.one_line(finding_id, 255) or "unknown"
    name = _text.clip(_text.one_line(title) or ident, _MAX_NAME)
    escaped = _text.markdown(description or title or finding_id, _MAX_DESCRIPTION)
    return ident, name, escaped, _identifiers((finding_id, *aliases))


def _identifiers(all_ids: tuple[str, ...]) -> list[dict[str, str]]:
    result = []
    seen: set[str] = set()
    for raw in all_ids:
        value = _text.one_line(raw, 255)
        if not value or value.upper() in seen:
            continue
        seen.add(value.upper())
        prefix = value.split("-", 1)[0].lower() if "-" in value else "vulnerability"
        entry = {"type": _NOT_TYPE.sub("", prefix) or "vulnerability", "name": value, "value": value}
        url = advisory_url(value)
        if url:
            entry["url"] = url
        result.append(entry)
    return result


def _decided(rules: tuple[str, ...], reason: str | None, waiver: str | None) -> str:
    """What the gate did with the finding, to follow its own text in the description ("" when nothing)."""
    md = _text.markdown
    if waiver is not None:
        return f"\n\nWaived by container-gate waiver {md(waiver, 100)}: {md(reason or '', 500)}"
    if rules:
        return f"\n\ncontainer-gate policy rules: {md(', '.join(rules), 500)}"
    return ""


def _solution(package: str, fixed_versions: tuple[str, ...], fixable: bool) -> str:
    if fixed_versions:
        text = f"Upgrade {_text.markdown(package, 200)} to {_text.markdown(joined(fixed_versions), 500)}"
    elif fixable:  # Trivy `Status: fixed` without a FixedVersion: a fix exists all the same
        text = f"Upgrade {_text.markdown(package, 200)} to a release with the fix (the report gives no fixed version)."
    else:
        text = "No fixed version is available yet."
    return _text.clip_escaped(text, _MAX_SOLUTION)  # escaping can lengthen the text: cut on a safe boundary
