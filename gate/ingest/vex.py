"""VEX documents (OpenVEX 0.0.1-0.2.0 and CycloneDX VEX) and applying them to a scan.

`read_vex` parses one document and refuses a malformed one with one line (InputError). `apply_vex` is pure:
it returns a new Scan whose findings carry the statement that applies to them (`Finding.vex`). `not_affected`
and `fixed` also suppress the finding (`Finding.suppressed`, status and justification as the statement), so
every output lists it with its reason; `affected` and `under_investigation` leave it active.

Which findings a statement applies to: the statement's name is the finding's ID or one of its aliases, or one of the
statement's aliases is the finding's ID (an alias of both is not enough: an advisory such as DSA-... is an alias of
each CVE it fixes), and one of its products applies. A product with subcomponents applies when the product is the
scanned image (a `pkg:oci` purl naming the image's repository, a namespace being the path before the name, and its
digest when it gives one; one with neither names the image by its name alone, and the scan gets a note saying so; an
`arch` qualifier must be the image's architecture, and a `tag` one, without a digest, one of its tags) or a package
seen in the report (for a Go module, in the same binary as the finding), and a subcomponent's purl matches the
finding's package. A product without subcomponents applies when it is the scanned image (every finding with that ID)
or its purl matches the finding's package. Purls match on type, namespace and name; a version, qualifiers or a
subpath in the statement must also match. When several statements apply, the one with the latest timestamp wins
(document order breaks ties; later wins; an undated OpenVEX statement has its document's `timestamp`). A statement
that names only some of the CVEs of an advisory finding (Grype's ALAS-..., with all its CVEs as aliases) never
suppresses it, and the scan gets a note.

A CycloneDX `affects[]` entry with `versions` covers only the versions it lists, and only those whose `status`
agrees with the analysis (`unaffected` for not_affected and fixed; `affected` or `unknown` for exploitable and
in_triage; a missing status is `affected`, as in the schema). A `version` must equal the installed version (the
image's digest when the entry is the image). A vers `range` is decided by string equality only, as far as that
is exact: `*`, a version named by `=`, `<=` or `>=`, excluded by `!=` (not both), or a range of only `=`/`!=`
constraints. A range that needs ordering (`vers:deb/>=1.0|<2.0`) cannot be decided: it never suppresses (for
not_affected/fixed the statement does not apply; for exploitable/in_triage it does, so an older not_affected
cannot suppress either), and the scan gets a note saying so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal
from urllib.parse import unquote

from gate.errors import InputError
from gate.identity import normalise_platform, platform_covers, reference_tag
from gate.ingest._text import json_document, parse_timestamp, shorten
from gate.ingest.purl import Purl, parse_purl
from gate.jsontext import LONE_SURROGATE, has_lone_surrogate
from gate.model import Finding, Image, Scan, Suppression, Vex, VexStatus

__all__ = ["VexDocument", "VexProduct", "VexStatement", "VexVersion", "apply_vex", "check_dates", "read_vex"]

_OPENVEX_JUSTIFICATIONS = {
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
}
_CDX_STATES = {
    "not_affected": VexStatus.NOT_AFFECTED,
    "false_positive": VexStatus.NOT_AFFECTED,
    "resolved": VexStatus.FIXED,
    "resolved_with_pedigree": VexStatus.FIXED,
    "exploitable": VexStatus.AFFECTED,
    "in_triage": VexStatus.UNDER_INVESTIGATION,
}
_CDX_VERSION_STATUSES = ("affected", "unaffected", "unknown")
_AGREES = {
    VexStatus.NOT_AFFECTED: {"unaffected"},
    VexStatus.FIXED: {"unaffected"},
    VexStatus.AFFECTED: {"affected", "unknown"},
    VexStatus.UNDER_INVESTIGATION: {"affected", "unknown"},
}
"""The `affects[].versions[].status` values a statement of each status covers."""
_SUPPRESSING = (VexStatus.NOT_AFFECTED, VexStatus.FIXED)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class VexVersion:
    """One entry of a CycloneDX `affects[].versions`: a single version or a vers range, and its status."""

    version: str = ""
    range: str = ""
    """A vers range (`vers:deb/>=1.0|<2.0`); only decided where string equality is exact."""
    status: str = "affected"
    """`affected`, `unaffected` or `unknown` (the schema's default is `affected`)."""


@dataclass(frozen=True)
class VexProduct:
    """A product of a statement: what it is about, and optionally the subcomponents (packages) inside it."""

    id: str
    subcomponents: tuple[str, ...] = ()
    versions: tuple[VexVersion, ...] = ()
    """CycloneDX `affects[].versions`: when given, the statement covers only these versions of the product."""


@dataclass(frozen=True)
class VexStatement:
    """One statement: a vulnerability's status in some products."""

    ids: tuple[str, ...]
    """The vulnerability's name first, then its aliases."""
    products: tuple[VexProduct, ...]
    status: VexStatus
    justification: str = ""
    statement: str = ""
    timestamp: datetime = _EPOCH


@dataclass(frozen=True)
class VexDocument:
    """One VEX file, parsed."""

    source: str
    format: Literal["openvex", "cyclonedx"]
    statements: tuple[VexStatement, ...]


def read_vex(path: str, data: bytes) -> VexDocument:
    """Parse an OpenVEX or CycloneDX VEX document read from `path`. Raises InputError with one line."""
    if not data.strip(b" \t\r\n\x00"):
        raise InputError(f"{path}: the VEX document is empty; check the step that wrote it")
    document, _ = json_document(data, path)
    try:
        parsed = json.loads(document)
    except (ValueError, RecursionError) as exc:  # ValueError: a number of more than 4,300 digits, too
        if isinstance(exc, json.JSONDecodeError):
            detail = f"{exc.msg} at line {exc.lineno}"
        else:
            detail = "a number too long to read" if isinstance(exc, ValueError) else "nested too deeply"
        raise InputError(
            f"{path}: not a VEX document: invalid JSON ({detail}); give an OpenVEX or CycloneDX VEX file"
        ) from None
    if has_lone_surrogate(document, parsed):
        raise InputError(f"{path}: the VEX document holds {LONE_SURROGATE}; the file is damaged")
    if not isinstance(parsed, dict):
        raise InputError(
            f"{path}: not a VEX document (expected a JSON object); give an OpenVEX or CycloneDX VEX file"
        )
    try:
        if "statements" in parsed or str(parsed.get("@context", "")).startswith("https://openvex.dev"):
            return _openvex(parsed, path)
        if parsed.get("bomFormat") == "CycloneDX":
            return _cyclonedx(parsed, path)
    except _Bad as exc:
        raise InputError(f"{path}: {exc}; the VEX document is malformed") from None
    raise InputError(
        f"{path}: not a VEX document (neither OpenVEX `statements` nor a CycloneDX BOM); give an OpenVEX or "
        "CycloneDX VEX file"
    )


class _Bad(Exception):
    """A problem at a location inside the document."""


def _openvex(doc: dict[str, Any], path: str) -> VexDocument:
    context = doc.get("@context")
    if not isinstance(context, str) or not context.startswith("https://openvex.dev/ns"):
        raise _Bad('@context: missing or not "https://openvex.dev/ns/..."')
    statements = doc.get("statements")
    if not isinstance(statements, list) or not statements:
        raise _Bad("statements: must be a non-empty list")
    # An undated statement has the document's `timestamp` (OpenVEX, "Inheritance Flow"; go-vex does the same), not
    # its `last_updated`: that dates the latest change, and would put an old statement after a later dated one.
    doc_time = _time(doc.get("timestamp"), "timestamp") or _time(doc.get("last_updated"), "last_updated")
    out = []
    for index, raw in enumerate(statements):
        where = f"statements[{index}]"
        if not isinstance(raw, dict):
            raise _Bad(f"{where}: not an object")
        status = _status(raw.get("status"), where)
        ids = _openvex_ids(raw.get("vulnerability"), where)
        justification = raw.get("justification", "")
        if not isinstance(justification, str):
            raise _Bad(f"{where}.justification: must be a string")
        if justification and justification not in _OPENVEX_JUSTIFICATIONS:
            raise _Bad(f"{where}.justification: {str(justification)[:60]!r} is not an OpenVEX justification")
        impact = _text(raw.get("impact_statement"), f"{where}.impact_statement")
        if status is VexStatus.NOT_AFFECTED and not (justification or impact):
            raise _Bad(f"{where}: not_affected needs a justification or an impact_statement")
        words = impact or _text(raw.get("action_statement"), f"{where}.action_statement")
        words = words or _text(raw.get("status_notes"), f"{where}.status_notes")
        stamp = _time(raw.get("last_updated"), f"{where}.last_updated") or _time(raw.get("timestamp"), where)
        out.append(
            VexStatement(
                ids=ids,
                products=tuple(_openvex_products(raw.get("products"), raw.get("subcomponents"), where)),
                status=status,
                justification=str(justification),
                statement=words,
                timestamp=stamp or doc_time or _EPOCH,
            )
        )
    return VexDocument(source=path, format="openvex", statements=tuple(out))


def _status(raw: object, where: str) -> VexStatus:
    try:
        return VexStatus(raw)
    except ValueError:
        allowed = ", ".join(s.value for s in VexStatus)
        raise _Bad(f"{where}.status: {str(raw)[:40]!r} is not one of {allowed}") from None


def _openvex_ids(raw: object, where: str) -> tuple[str, ...]:
    if isinstance(raw, str) and raw:  # OpenVEX 0.0.1
        return (raw,)
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise _Bad(f"{where}.vulnerability: needs a `name`")
    aliases = raw.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise _Bad(f"{where}.vulnerability.aliases: must be a list of strings")
    return tuple(dict.fromkeys([raw["name"], *aliases]))


def _openvex_products(raw: object, shared: object, where: str) -> Iterable[VexProduct]:
    """The statement's products. `shared` is OpenVEX 0.0.1's statement-level `subcomponents` (a list of strings
    beside `products`): the subcomponents of every product that names none of its own."""
    if raw is None:
        return
    if not isinstance(raw, list):
        raise _Bad(f"{where}.products: must be a list")
    if shared is not None and not isinstance(shared, list):
        raise _Bad(f"{where}.subcomponents: must be a list")
    common = tuple(_component_id(s, f"{where}.subcomponents[{i}]") for i, s in enumerate(shared or ()))
    for index, item in enumerate(raw):
        spot = f"{where}.products[{index}]"
        subs = item.get("subcomponents", []) if isinstance(item, dict) else []
        if not isinstance(subs, list):
            raise _Bad(f"{spot}.subcomponents: must be a list")
        own = tuple(_component_id(s, f"{spot}.subcomponents[{i}]") for i, s in enumerate(subs))
        yield VexProduct(id=_component_id(item, spot), subcomponents=own or common)


def _component_id(raw: object, where: str) -> str:
    if isinstance(raw, str) and raw:  # OpenVEX 0.0.1: products are plain strings
        return raw
    if not isinstance(raw, dict):
        raise _Bad(f"{where}: must be an object with @id or identifiers")
    identifiers = raw.get("identifiers")
    purl = identifiers.get("purl") if isinstance(identifiers, dict) else None
    ident = raw.get("@id")
    if isinstance(purl, str) and purl:
        return purl
    if isinstance(ident, str) and ident:
        return ident
    if isinstance(identifiers, dict) and identifiers:
        return str(next(iter(identifiers.values())))
    raise _Bad(f"{where}: needs an @id or identifiers")


def _cyclonedx(doc: dict[str, Any], path: str) -> VexDocument:
    vulns = doc.get("vulnerabilities")
    if not isinstance(vulns, list) or not vulns:
        raise _Bad("vulnerabilities: a CycloneDX VEX document needs a non-empty `vulnerabilities` list")
    refs = _cdx_components(doc)
    serial = doc.get("serialNumber")
    serial = serial.removeprefix("urn:uuid:") if isinstance(serial, str) else ""
    meta = doc.get("metadata")
    doc_time = _time(meta.get("timestamp"), "metadata.timestamp") if isinstance(meta, dict) else None
    out = []
    for index, raw in enumerate(vulns):
        where = f"vulnerabilities[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
            raise _Bad(f"{where}.id: missing")
        analysis = raw.get("analysis")
        if not isinstance(analysis, dict) or "state" not in analysis:
            raise _Bad(
                f"{where}.analysis.state: missing (a VEX entry says what state the vulnerability is in)"
            )
        state = analysis["state"]
        if not isinstance(state, str) or state not in _CDX_STATES:
            raise _Bad(f"{where}.analysis.state: {str(state)[:40]!r} is not one of {', '.join(_CDX_STATES)}")
        references = raw.get("references", [])
        if not isinstance(references, list):
            raise _Bad(f"{where}.references: must be a list")
        aliases = [r.get("id") for r in references if isinstance(r, dict)]
        affects = raw.get("affects")
        if not isinstance(affects, list) or not affects:
            raise _Bad(f"{where}.affects: a VEX entry must name what it affects")
        products = []
        for i, item in enumerate(affects):
            ref = item.get("ref") if isinstance(item, dict) else None
            if not isinstance(ref, str) or not ref:
                raise _Bad(f"{where}.affects[{i}].ref: missing")
            versions = _cdx_versions(item.get("versions"), f"{where}.affects[{i}].versions")
            key = _bom_ref(ref, serial)
            products.append(VexProduct(id=refs.get(key, ref) if key is not None else ref, versions=versions))
        justification = analysis.get("justification", "")
        if not isinstance(justification, str):
            raise _Bad(f"{where}.analysis.justification: must be a string")
        stamp = _time(analysis.get("lastUpdated"), f"{where}.analysis.lastUpdated") or _time(
            analysis.get("firstIssued"), f"{where}.analysis.firstIssued"
        )
        out.append(
            VexStatement(
                ids=tuple(dict.fromkeys([raw["id"], *(a for a in aliases if isinstance(a, str) and a)])),
                products=tuple(products),
                status=_CDX_STATES[state],
                justification=str(justification) if state != "false_positive" else "false_positive",
                statement=_text(analysis.get("detail"), f"{where}.analysis.detail"),
                timestamp=stamp or doc_time or _EPOCH,
            )
        )
    return VexDocument(source=path, format="cyclonedx", statements=tuple(out))


def _cdx_versions(raw: object, where: str) -> tuple[VexVersion, ...]:
    """`affects[].versions`; absent or empty means every version of the ref (its purl alone decides)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise _Bad(f"{where}: must be a list of objects with `version` or `range`, and `status`")
    out = []
    for index, entry in enumerate(raw):
        spot = f"{where}[{index}]"
        if not isinstance(entry, dict):
            raise _Bad(f"{spot}: must be an object with `version` or `range`, and `status`")
        unknown = sorted(set(entry) - {"version", "range", "status"})
        if unknown:
            raise _Bad(f"{spot}: unknown key {str(unknown[0])[:40]!r} (only version, range and status)")
        version, vers = entry.get("version"), entry.get("range")
        if (version is None) == (vers is None):
            raise _Bad(f"{spot}: needs exactly one of `version` and `range`")
        value = version if version is not None else vers
        if not isinstance(value, str) or not value.strip():
            raise _Bad(f"{spot}.{'version' if version is not None else 'range'}: must be a non-empty string")
        status = entry.get("status", "affected")
        if status not in _CDX_VERSION_STATUSES:
            raise _Bad(
                f"{spot}.status: {str(status)[:40]!r} is not one of {', '.join(_CDX_VERSION_STATUSES)}"
            )
        if version is not None:
            out.append(VexVersion(version=value.strip(), status=status))
        else:
            out.append(VexVersion(range=value.strip(), status=status))
    return tuple(out)


def _cdx_components(doc: dict[str, Any]) -> dict[str, str]:
    """bom-ref -> purl of every component (metadata.component included, nested ones too)."""
    out: dict[str, str] = {}
    stack: list[Any] = list(_components(doc.get("components"), "components"))
    meta = doc.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("component"), dict):
        stack.append(meta["component"])
    while stack:
        item = stack.pop()
        if not isinstance(item, dict):
            continue
        ref, purl = item.get("bom-ref"), item.get("purl")
        if isinstance(ref, str) and isinstance(purl, str) and purl:
            out[ref] = purl
        stack.extend(_components(item.get("components"), f"components of {shorten(str(ref), 60)}"))
    return out


def _components(raw: object, where: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _Bad(f"{where}: must be a list")
    return raw


def _bom_ref(ref: str, serial: str) -> str | None:
    """The bom-ref `ref` names in this document: `ref` itself, or the bom-ref part of a BOM-Link
    (`urn:cdx:serial/version#ref`) to this document (its `serialNumber`). None for a link to another BOM: its
    bom-refs are that BOM's own, and a component of this one with the same bom-ref may be another package."""
    if not ref.startswith("urn:cdx:") or "#" not in ref:
        return ref
    link, _, fragment = ref.partition("#")
    target = link.removeprefix("urn:cdx:").split("/", 1)[0]
    return unquote(fragment) if serial and target.lower() == serial.lower() else None


def _text(raw: object, where: str) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise _Bad(f"{where}: must be a string")
    return raw.strip()


def _time(raw: object, where: str) -> datetime | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise _Bad(f"{where}: must be a date-time string")
    parsed = parse_timestamp(raw)
    if parsed is None:
        raise _Bad(f"{where}: {raw[:40]!r} is not an RFC 3339 date-time")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


# --- applying -----------------------------------------------------------------------------------------


def check_dates(documents: Sequence[VexDocument], today: date) -> None:
    """Refuse a statement dated more than a day after `today` (a day's grace for clocks and time zones).

    The latest statement about a finding wins: one from the future would outrank every later one, an `affected`
    written tomorrow included. Raises InputError naming the document and the vulnerability.
    """
    # Compared, not converted to UTC: a time at the calendar's edge (9999-12-31T23:00-05:00) has no UTC date.
    try:
        limit = datetime.combine(today + timedelta(days=2), time.min, timezone.utc)
    except OverflowError:  # --today 9999-12-30 or later: no date can come after the day's grace
        return
    for document in documents:
        for statement in document.statements:
            if statement.timestamp >= limit:
                day = statement.timestamp.date()
                named = shorten(statement.ids[0], 60)  # the document's text: any length, any characters
                raise InputError(
                    f"{document.source}: the statement about {named} is dated {day}, after the evaluation date "
                    f"{today}; it would outrank every later statement: check the document and the clock (or --today)"
                )


def apply_vex(scan: Scan, documents: Sequence[VexDocument]) -> Scan:
    """`scan` with each finding's applicable VEX statement set (see the module docstring for which applies).

    A statement whose `affects[].versions` range cannot be decided for a finding adds a note to the scan's
    warnings, once per statement, range and package version.
    """
    if not documents:
        return scan
    ordered = sorted(
        ((s.timestamp, d, o, s) for d, doc in enumerate(documents) for o, s in enumerate(doc.statements)),
        key=lambda item: (item[0], item[1], item[2]),
    )
    # Each ID with whether it is the statement's name (True) or one of its aliases (False).
    by_id: dict[str, list[tuple[int, VexStatement, str, bool]]] = {}
    for position, (_, d, _, statement) in enumerate(ordered):
        for index, vid in enumerate(statement.ids):
            by_id.setdefault(vid.upper(), []).append((position, statement, documents[d].source, index == 0))
    packages = _packages(scan.findings)
    repos = _image_repos(scan.image)
    digests = _image_digests(scan.image)
    findings = []
    notes: dict[str, None] = {}
    for finding in scan.findings:
        # The statement's name is one of the finding's IDs, or one of its aliases is the finding's own ID. An alias
        # shared by both is not enough: an advisory (DSA-..., USN-...) is an alias of each CVE it fixes.
        candidates = {
            pos: (s, src)
            for at, vid in enumerate(finding.all_ids)
            for pos, s, src, named in by_id.get(vid.upper(), [])
            if named or at == 0
        }
        chosen = None
        for position in sorted(candidates, reverse=True):  # the latest statement that applies wins
            statement, source = candidates[position]
            applies, note = _applies(statement, finding, packages, repos, digests, scan.image)
            if applies and (partial := _partial_note(statement, finding)):
                applies, note = statement.status not in _SUPPRESSING, partial
            if note:
                notes.setdefault(f"VEX {source}: {note}")
            if applies:
                chosen = (statement, source)
                break
        findings.append(_with_vex(finding, *chosen) if chosen else finding)
    update: dict[str, object] = {"findings": tuple(findings)}
    if notes:
        update["warnings"] = (*scan.warnings, *notes)
    return scan.model_copy(update=update)


def _packages(findings: Iterable[Finding]) -> dict[tuple[str, str, str], set[tuple[Purl, str]]]:
    """The purls of the report's packages by (type, namespace, name), the part `Purl.covers` needs equal, each
    with the place it was found (`_place`).

    Indexed because a statement with subcomponents is checked against the packages for every finding it names:
    a plain list made a large report with a vendor's VEX document quadratic (minutes, not seconds).
    """
    index: dict[tuple[str, str, str], set[tuple[Purl, str]]] = {}
    for finding in findings:
        if finding.package and (purl := parse_purl(finding.package.purl)):
            index.setdefault((purl.type, purl.namespace, purl.name), set()).add((purl, _place(finding)))
    return index


def _place(finding: Finding) -> str:
    """Where a finding was found: the file the scanner names (a Go binary for Go modules), "" when none."""
    return finding.target.strip().replace("\\", "/").lstrip("./")


def _same_product(product: Purl, at: str, finding: Finding) -> bool:
    """Whether `finding` can be inside the product found at `at`. A Go binary is its own product with its
    modules compiled in: a module of another binary is another product's, whatever its name and version. When the
    report names the binary of only one of them, they cannot be told to be in the same one: not inside (fail
    closed). A report that names the binary of neither leaves only the name to go by."""
    here = _place(finding)
    return product.type != "golang" or at == here


def _applies(
    statement: VexStatement,
    finding: Finding,
    packages: dict[tuple[str, str, str], set[tuple[Purl, str]]],
    repos: set[tuple[str, str]],
    digests: set[str],
    image: Image | None,
) -> tuple[bool, str]:
    """Whether `statement` applies to `finding`, and a note when a version range could not be decided or the
    statement was taken to be about the image by its name alone."""
    own = parse_purl(finding.package.purl) if finding.package else None
    own_version = finding.package.version if finding.package else ""
    undecided = by_name = ""  # by_name: a product that names the image by name alone applied
    for product in statement.products:
        product_purl = parse_purl(product.id)
        is_image = product_purl is not None and _is_image(product_purl, repos, digests, image)
        if not product.subcomponents:
            if is_image:
                installed = digests
            elif product_purl and own and product_purl.covers(own):
                installed = {own_version} if own_version else set()
            else:
                continue
            covered, vers = (
                _covers_version(product.versions, statement.status, installed)
                if product.versions
                else (True, "")
            )
            if covered is None and not undecided:
                undecided = _undecided_note(statement, finding, vers, image=is_image)
            applies = bool(covered)
        else:
            inside = is_image or (
                product_purl is not None
                and any(
                    product_purl.covers(p) and _same_product(p, at, finding)
                    for p, at in packages.get(
                        (product_purl.type, product_purl.namespace, product_purl.name), ()
                    )
                )
            )
            applies = (
                inside
                and own is not None
                and any(
                    (sub_purl := parse_purl(sub)) is not None and sub_purl.covers(own)
                    for sub in product.subcomponents
                )
            )
        if applies:
            if not (is_image and _names_only(product_purl)):
                return True, ""
            by_name = by_name or _by_name_note(product.id)  # a product that pins the image may still follow
    if by_name:
        return True, by_name
    if undecided:  # fail closed: an undecided range never suppresses, and never lets an older statement do so
        return statement.status not in _SUPPRESSING, undecided
    return False, ""


def _covers_version(
    versions: Sequence[VexVersion], status: VexStatus, installed: set[str]
) -> tuple[bool | None, str]:
    """Whether `versions` put the installed version (one of `installed`) under a status that agrees with `status`.

    Decided (True or False) when an exact `version` or a range that string equality decides covers it: True when
    every such entry's status agrees. Otherwise None, with the first undecided range whose status agrees, when
    there is one; else False.
    """
    agrees = _AGREES[status]
    covering: set[str] = set()
    undecided = ""
    for entry in versions:
        if entry.version:
            if entry.version in installed:
                covering.add(entry.status)
            continue
        results = {_in_range(entry.range, v) for v in installed} or {None}
        if True in results:
            covering.add(entry.status)
        elif None in results and entry.status in agrees and not undecided:
            undecided = entry.range
    if covering:
        return covering <= agrees, ""
    return (None, undecided) if undecided else (False, "")


def _in_range(vers: str, version: str) -> bool | None:
    """Whether `version` is in the vers range `vers`, where string equality decides it exactly; else None.

    Decided: `*` (every version; the `none` scheme, no version), a version named by a `=`, `<=` or `>=`
    constraint (in), or by `!=` (out), and ranges of only `=` and `!=` constraints (out otherwise). Anything
    else needs the versioning scheme's ordering, which the gate does not implement (vers-spec, "Checking if a
    version is contained within a range").
    """
    uri, _, spec = "".join(vers.split()).partition(":")
    scheme, slash, constraints = spec.partition("/")
    if uri.lower() != "vers" or not slash or not scheme:
        return None
    if scheme.lower() == "none":
        return False
    if constraints == "*" or scheme.lower() == "all":
        return True
    parsed = []
    for item in constraints.strip("|").split("|"):
        if not item:
            continue
        prefix = next((c for c in (">=", "<=", "!=", "<", ">", "=") if item.startswith(c)), "")
        value = unquote(item[len(prefix) :])
        if not value or "*" in item or value[:1] in "<>!=":
            return None
        parsed.append((prefix or "=", value))
    if not parsed:
        return None
    named = {c for c, v in parsed if v == version}
    if "!=" in named and len(named) > 1:
        return None  # in and out at once: vers allows a version once, so the range is not valid
    if named & {"=", "<=", ">="}:
        return True
    if "!=" in named:
        return False
    if all(c in ("=", "!=") for c, _ in parsed):
        return False
    return None


def _partial_note(statement: VexStatement, finding: Finding) -> str:
    """A note when `statement` names some, not all, of the CVEs of an advisory finding; "" otherwise.

    Grype names an Amazon Linux advisory (ALAS-...) and lists its CVEs as aliases: a statement about one of them
    says nothing of the others, so it must not suppress the advisory (as a waiver of one CVE does not waive it).
    """
    left_out = finding.cves_left_out({i.upper() for i in statement.ids})
    if not left_out:
        return ""
    others = ", ".join(left_out)
    effect = (
        "not applied (the finding is not suppressed)"
        if statement.status in _SUPPRESSING
        else "applied (the finding stays active)"
    )
    return (
        f"{statement.ids[0]}: {finding.id} also covers {shorten(others, 120)}; the {statement.status.value} "
        f"statement is {effect}; a statement about {finding.id} itself covers all of them"
    )


def _undecided_note(statement: VexStatement, finding: Finding, vers: str, *, image: bool) -> str:
    if image or finding.package is None:
        what = "the image's digest"
    else:
        what = f"{finding.package.name} {finding.package.version or '(version unknown)'}"
    effect = (
        "not applied (the finding is not suppressed)"
        if statement.status in _SUPPRESSING
        else "applied (the finding stays active)"
    )
    return (
        f"{statement.ids[0]}: cannot tell whether {what} is in range {vers[:80]!r} (only exact versions are "
        f"compared); the {statement.status.value} statement is {effect}"
    )


def _names_only(purl: Purl | None) -> bool:
    """A `pkg:oci` purl with neither a digest nor a `repository_url`: it names any image of that name."""
    return purl is not None and not purl.version and "repository_url" not in dict(purl.qualifiers)


def _by_name_note(product: str) -> str:
    return (
        f"product {shorten(product, 80)!r} gives no repository_url or digest, so it was taken to be this image by "
        "its name alone; give the image's repository_url or digest in the statement to be sure"
    )


def _is_image(purl: Purl, repos: set[tuple[str, str]], digests: set[str], image: Image | None) -> bool:
    """Whether the `pkg:oci` purl names the scanned image: its name (and `repository_url`, and the repository path
    a namespace gives), its digest when it gives one, its `arch` and, without a digest, its `tag`. An `arch` or
    `tag` the image is not known by is another image (fail closed: an image whose platform or tags are unknown is
    not taken to be it)."""
    if purl.type != "oci" or not repos:
        return False
    if purl.version and purl.version.lower() not in digests:
        return False
    qualifiers = dict(purl.qualifiers)
    url = qualifiers.get("repository_url")
    # The oci type has no namespace; one given is the repository's path before the name: `pkg:oci/team-b/app` is
    # not registry.example.com/team-a/app.
    within = f"/{purl.namespace.lower()}/{purl.name}" if purl.namespace else ""
    if url:
        named = any(r == _normal_repo(url) and n == purl.name and r.endswith(within) for r, n in repos)
    else:
        named = any(n == purl.name and r.endswith(within) for r, n in repos)
    if not named or image is None:
        return named
    arch = qualifiers.get("arch")
    if arch and not _same_arch(arch, image.platform):
        return False  # a multi-architecture index's digest is each platform's image's too: the arch decides
    tag = qualifiers.get("tag")
    return not tag or bool(purl.version) or tag in _image_tags(image)


def _same_arch(arch: str, platform: str) -> bool:
    """Whether a purl's `arch` (`amd64`, `arm64`, `arm/v7`; `x86_64` is `amd64`) is the image's architecture
    (and variant, when it gives one), as a waiver's platform covers an image's."""
    return platform_covers(f"{normalise_platform(platform)[0]}/{arch}", platform)


def _image_tags(image: Image) -> set[str]:
    """The tags the image is known by (`3.19` of `alpine:3.19`)."""
    return {tag for ref in (image.reference, *image.repo_tags) if (tag := reference_tag(ref))}


def _image_repos(image: Image | None) -> set[tuple[str, str]]:
    """(normalized repository, last path segment) for every name the image is known by."""
    if image is None:
        return set()
    out = set()
    for ref in (image.reference, *image.repo_tags, *image.repo_digests):
        repo = ref.split("@", 1)[0]
        last = repo.rsplit("/", 1)[-1]
        if ":" in last:
            repo = repo[: len(repo) - len(last)] + last.split(":", 1)[0]
        if repo and not repo.startswith("sha256"):
            normal = _normal_repo(repo)
            out.add((normal, normal.rsplit("/", 1)[-1]))
    return out


def _image_digests(image: Image | None) -> set[str]:
    if image is None:
        return set()
    found = {d.split("@", 1)[1].lower() for d in image.repo_digests if "@" in d}
    found.update(d.lower() for d in (image.image_id, getattr(image, "manifest_digest", "")) if d)
    return found


def _normal_repo(repo: str) -> str:
    """Docker Hub names in one spelling: `alpine`, `docker.io/library/alpine` -> `docker.io/library/alpine`."""
    repo = unquote(repo).lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    first, _, rest = repo.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        first, rest = "docker.io", repo
    if first in {"index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}:
        first = "docker.io"
    if first == "docker.io" and "/" not in rest:
        rest = "library/" + rest
    return f"{first}/{rest}"


def _with_vex(finding: Finding, statement: VexStatement, source: str) -> Finding:
    vex = Vex(
        status=statement.status,
        justification=statement.justification,
        statement=statement.statement,
        source=source,
    )
    update: dict[str, object] = {"vex": vex}
    # A statement takes the place of a scanner's ignore rule, so it still suppresses when the policy does not
    # honor ignore rules (honor_scanner_ignores = false); a scanner's own VEX statement is kept.
    ignored = finding.suppressed is not None and finding.suppressed.by_ignore_rule
    if statement.status in (VexStatus.NOT_AFFECTED, VexStatus.FIXED) and (
        finding.suppressed is None or ignored
    ):
        why = f" ({statement.justification})" if statement.justification else ""
        words = f": {statement.statement}" if statement.statement else ""
        update["suppressed"] = Suppression(
            status=statement.status.value,
            statement=f"VEX {statement.status.value}{why}{words}",
            source=f"VEX {source}",
        )
    return finding.model_copy(update=update)
