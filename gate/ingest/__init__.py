"""Read scanner reports: detect Trivy or Grype from the content and normalize to a Scan.

The document is parsed once, by a typed decoder that keeps only the fields the gate reads. Anything
that is not a recognisable Trivy or Grype report is refused with a reason and what to do instead.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from gate.errors import InputError, field_path, problem_and_value
from gate.ingest import grype, trivy
from gate.ingest._text import first_byte, json_document, shorten
from gate.ingest._wire import misplaced_key
from gate.ingest.merge import merge_duplicates
from gate.jsontext import LONE_SURROGATE, has_lone_surrogate
from gate.model import Scan

__all__ = ["parse_report", "read_report"]


class _Envelope(trivy.TrivyReport):
    """The top level of any JSON object the gate may be given: Trivy, Grype, and known look-alikes."""

    # Unknown keys are kept (a few small ones at the top), so a misspelt `Results` can be refused.
    model_config = ConfigDict(extra="allow", populate_by_name=True, strict=True)

    # Grype
    matches: list[grype.GrypeMatch] | None = None
    ignoredMatches: list[grype.GrypeMatch] | None = None
    source: grype.GrypeSource | None = None
    distro: grype._Distro | None = None
    descriptor: grype._Descriptor | None = None
    alertsByPackage: list[grype.PackageAlerts] | None = None
    # Look-alikes, kept only to refuse them with a useful message.
    runs: Any = None
    schema_: Any = Field(default=None, alias="$schema")
    ClusterName: Any = None
    Resources: Any = None
    vulnerabilities: Any = None
    statements: Any = None
    bomFormat: Any = None
    Config: Any = None
    Id: Any = None
    # An OCI/Docker image config, manifest or index (what --image-metadata reads).
    config: Any = None
    rootfs: Any = None
    schemaVersion: Any = None
    manifests: Any = None
    layers: Any = None


class _ListItem(trivy.TrivyResult):
    """An item of a top-level JSON list: a legacy Trivy result, or a docker/podman inspect entry."""

    Target: str | None = None  # type: ignore[assignment]  # inspect entries have none: told apart later
    Id: Any = None
    Config: Any = None
    RepoTags: Any = None


_ENVELOPE = TypeAdapter(_Envelope)
_LIST = TypeAdapter(list[_ListItem])
_NUMBER = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_STRING = re.compile(rb'"(?:[^"\\\x00-\x1f]|\\.)*"')


def read_report(path: str, data: bytes) -> Scan:
    """Parse the bytes of a report read from `path` (used in messages). Raises InputError."""
    document, warnings = json_document(data, path)
    return parse_report(document, path, warnings)


def parse_report(document: bytes, source: str, warnings: list[str] | None = None) -> Scan:
    """Parse one JSON document (UTF-8 bytes) into a Scan. Raises InputError with what to do."""
    warnings = warnings or []
    first = first_byte(document)
    if first == b"{":
        scan = _from_object(_validate(_ENVELOPE, document, source), source, warnings)
    elif first == b"[":
        scan = _from_list(_validate(_LIST, document, source), source, warnings)
    else:
        what = _scalar(document)
        if what is None:
            raise InputError(f"{source}: not JSON (it starts with {_opening(document)}); {_ASK_JSON}")
        raise InputError(f"{source}: the document is {what}, not a Trivy or Grype report; {_ASK_JSON}")
    findings = merge_duplicates(scan.findings)  # a match Grype wrote twice (two matchers) is one finding
    if len(findings) != len(scan.findings):
        scan = scan.model_copy(update={"findings": findings})
    if not (scan.findings or scan.artifact or scan.artifact_type or scan.image):
        # A clean report names what was scanned; one that names nothing cannot be told from a placeholder.
        said = "ArtifactName and Metadata" if scan.scanner == "trivy" else "source.type and source.target"
        raise InputError(
            f"{source}: the report holds no findings and does not say what was scanned ({scan.scanner} writes "
            f"{said}); give the report the scan wrote, or re-run the scan"
        )
    if len(scan.artifact) > _MAX_ARTIFACT:  # every output names the image, the record once per violation
        raise InputError(
            f"{source}: the scanned artifact's name is {len(scan.artifact):,} characters long; no image "
            f"reference or path is over {_MAX_ARTIFACT:,}, the report is malformed"
        )
    return scan


def _scalar(document: bytes) -> str | None:
    """What a JSON document that is a single scalar is ("null", "a number", ...); None when it is not JSON.

    Log lines and text are not JSON: a first line like `2024-05-01T10:00:00Z FATAL ...` is not a number.
    """
    text = document.strip(b" \t\r\n")
    if text in (b"null", b"true", b"false"):
        return text.decode()
    if _NUMBER.fullmatch(text):
        return "a number"
    if _STRING.fullmatch(text):
        return "a string"
    return None


def _opening(document: bytes) -> str:
    """The document's first line, short and printable, quoted: what the user finds at the top of the file."""
    line = document.lstrip()[:200].split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    line = "".join(" " if ch.isspace() else ch for ch in line)  # a log line's tabs as spaces
    return repr(shorten(line, 40))


_MAX_ARTIFACT = 4096
"""Characters of an artifact name (Trivy ArtifactName, Grype userInput): PATH_MAX on Linux."""


_ASK_JSON = "give the scanner's JSON output (trivy --format json, grype -o json)"


def _validate(adapter: TypeAdapter[Any], document: bytes, source: str) -> Any:
    try:
        return adapter.validate_json(document)
    except ValidationError as exc:
        raise InputError(f"{source}: {_not_text(document) or _describe(exc, document)}") from None


def _not_text(document: bytes) -> str:
    """What makes `document` not JSON text at all (bytes that are not UTF-8, a lone surrogate), or ""."""
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = document[exc.start : exc.start + 1].hex()
        return (
            f"not UTF-8 (byte 0x{byte} at offset {exc.start:,}); JSON reports are UTF-8: write it with the "
            "scanner's -o/--file option, or convert it (iconv -t UTF-8)"
        )
    # The reports' parser refuses a lone surrogate escape (`\\ud800`) where json.loads reads it.
    if "\\ud" in text.lower():
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            return ""
        if has_lone_surrogate(document, parsed):
            return f"the JSON holds {LONE_SURROGATE}; the report is damaged, write it again"
    return ""


def _describe(exc: ValidationError, document: bytes) -> str:
    err = exc.errors(include_url=False)[0]
    if err["type"] == "json_invalid":
        detail = str(err.get("ctx", {}).get("error", err["msg"]))
        if "recursion limit" in detail:
            return "the JSON is nested too deeply to be a scanner report; check the file"
        if "EOF" in detail:
            return f"the JSON ends early ({detail}); the file is truncated, re-run the scan"
        if trailing := _TRAILING.fullmatch(detail):
            # Typically the scanner's own log (Trivy's closing "Notices") sent into the file with 2>&1.
            return (
                f"text follows the JSON document ({_opening(_rest(document, *map(int, trailing.groups())))}); "
                "a report file holds the scanner's JSON alone: write it with trivy -o/--output or grype --file, "
                "and keep the scanner's log (stderr) out of it"
            )
        return f"invalid JSON ({detail}); {_ASK_JSON}"
    return f"{field_path(err['loc']) or 'top level'}: {problem_and_value(err)}; the report is malformed"


_TRAILING = re.compile(r"trailing characters at line ([0-9]+) column ([0-9]+)")


def _rest(document: bytes, line: int, column: int) -> bytes:
    """Some of the document from (1-based) `line` and `column`, as the JSON parser counts them (in bytes)."""
    start = 0
    for _ in range(line - 1):
        start = document.find(b"\n", start) + 1
        if not start:  # not where the parser said: quote nothing rather than the wrong text
            return b""
    return document[start + column - 1 : start + column + 200]


def _from_object(env: _Envelope, source: str, warnings: list[str]) -> Scan:
    is_trivy = env.SchemaVersion is not None or env.Results is not None
    is_grype = env.matches is not None
    if is_trivy and is_grype:
        raise InputError(f"{source}: the document has both Trivy and Grype fields; give one scanner's report")
    if is_grype:
        if env.source is None and env.descriptor is None:
            raise InputError(
                f"{source}: `matches` without `source` or `descriptor` is not a Grype report; {_ASK_JSON}"
            )
        misplaced = misplaced_key(env.model_extra, ("matches", "ignoredMatches"), {})
        if misplaced is not None:
            raise InputError(
                f"{source}: {shorten(misplaced[0], 60)}: not a key Grype writes (it writes {misplaced[1]}), so what "
                "it holds would go unchecked; give the report as grype wrote it"
            )
        return grype.to_scan(
            env.matches or [],
            env.ignoredMatches or [],
            env.source,
            env.distro,
            env.descriptor,
            source,
            warnings,
            env.alertsByPackage or (),
        )
    if is_trivy:
        if env.ClusterName is not None or env.Resources is not None:  # findings under Resources, not Results
            raise InputError(f"{source}: {_what_else(env)}")
        if env.SchemaVersion is not None and env.SchemaVersion != 2:
            raise InputError(
                f"{source}: Trivy SchemaVersion {env.SchemaVersion} is not supported (only 2); "
                "upgrade or downgrade trivy"
            )
        if env.SchemaVersion is None and env.Results is not None and not any(r.Target for r in env.Results):
            raise InputError(
                f"{source}: `Results` without `SchemaVersion` or targets is not a Trivy report; {_ASK_JSON}"
            )
        return trivy.to_scan(env, source, warnings)
    raise InputError(f"{source}: {_what_else(env)}")


def _what_else(env: _Envelope) -> str:
    if env.runs is not None or (env.schema_ is not None and "sarif" in str(env.schema_).lower()):
        return "this is a SARIF file, not a scanner report; give the scanner's JSON output instead"
    if env.ClusterName is not None or env.Resources is not None:
        return "this is a Trivy Kubernetes report; the gate reads image reports (trivy image --format json)"
    if env.statements is not None:
        return "this is a VEX document, not a scanner report"
    if env.bomFormat is not None:
        return "this is a CycloneDX document, not a scanner report; scan it (trivy sbom / grype sbom:) first"
    if env.vulnerabilities is not None:
        return "this looks like a GitLab security report, not a Trivy or Grype report"
    if env.Config is not None or env.Id is not None or env.RepoTags is not None:
        return "this is image metadata (docker inspect or an image config); pass it with --image-metadata"
    if env.rootfs is not None or (
        env.schemaVersion is not None and (env.config or env.layers or env.manifests)
    ):
        return (
            "this is image metadata (an OCI or Docker image config, manifest or index); pass it with "
            "--image-metadata, and give the scanner's report as the report"
        )
    if env.SchemaVersion is None and env.matches is None:
        return f"not a Trivy or Grype report (no `SchemaVersion`/`Results` or `matches`); {_ASK_JSON}"
    return f"not a Trivy or Grype report; {_ASK_JSON}"


def _from_list(items: list[_ListItem], source: str, warnings: list[str]) -> Scan:
    if not items:
        raise InputError(
            f"{source}: the document is an empty list, which no scanner writes for a scan; check the scan step"
        )
    if any(item.Id is not None or item.Config is not None for item in items):
        raise InputError(
            f"{source}: this is docker or podman inspect output; pass it with --image-metadata, "
            "and give the scanner's report as the report"
        )
    if not all(item.Target for item in items):
        raise InputError(f"{source}: a list without `Target` entries is not a Trivy report; {_ASK_JSON}")
    return trivy.legacy_to_scan(list(items), source, warnings)
