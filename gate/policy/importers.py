"""`gate policy import`: turn a scanner's ignore file into gate waivers (TOML), so a team switches in one step.

Reads `.trivyignore` (one ID per line, optional `exp:YYYY-MM-DD`; the comment lines right above an entry become its
reason), `.trivyignore.yaml` (`vulnerabilities`, `misconfigurations`, `secrets`, `licenses` entries with `id`,
`paths`, `purls`, `expired_at`, `statement`) and Grype's config (`.grype.yaml`, the `ignore:` rules). What the file
lacks, the caller supplies: a reason and an expiry for every entry without one. Rules a waiver cannot express
exactly (Grype `fix-state`, `namespace`, `vex-status`, a regular expression in `package.name`, a path pattern with
`*`, `?`, `[` or `{`, since a waiver's `*` also matches `/`, a Trivy purl with qualifiers or a subpath, a Trivy
licence path that would meet `OS Packages`) are skipped and listed, never widened. What maps exactly is kept exact:
an entry matches its ID only (`aliases = false`), as Trivy compares it and a Grype rule without
`include-aliases: true` does; it waives findings of its kind only (`kinds`: its `.trivyignore.yaml` section's,
vulnerabilities for Grype; a `.trivyignore` line applies to all); a Grype `package.version` is that version; and a
Trivy `expired_at`/`exp:` date (the first day the scanner stops ignoring) becomes `expires` the day before.
An unquoted YAML value is read as the scanner reads it (Trivy: the text; Grype: Go's yaml.v3 and mapstructure,
`1.10` is "1.1"), with a warning where Grype's reading differs from the text. Pure: bytes in, waivers and TOML
text out; PyYAML is imported only for YAML files.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import quote, unquote

from pydantic import ValidationError

from gate.errors import InputError, field_problem, short_value
from gate.policy._goyaml import GoTimestamp, grype_string
from gate.policy._time import utc_day
from gate.policy.schema import Waiver

__all__ = ["GRYPE_PURL_TYPES", "Imported", "import_ignore_file", "render_waivers"]

GRYPE_PURL_TYPES = {
    "apk": "apk",
    "deb": "deb",
    "rpm": "rpm",
    "npm": "npm",
    "python": "pypi",
    "go-module": "golang",
    "java-archive": "maven",
    "gem": "gem",
    "rust-crate": "cargo",
    "dotnet": "nuget",
    "php-composer": "composer",
    "pub": "pub",
    "hex": "hex",
    "conan": "conan",
    "cocoapods": "cocoapods",
    "swift": "swift",
    "alpm": "alpm",
}
"""Grype package types -> purl types (how a Grype `package.type` scope becomes a waiver `purls` glob)."""

_GRYPE_UNSUPPORTED = ("fix-state", "namespace", "vex-status", "vex-justification", "match-type")
_GLOB = set("*?[]{}")
_REGEX = set("*?[](){}|^$\\+")
_GRYPE_PACKAGE_UNSUPPORTED = ("language", "upstream-name")
_TRIVY_SECTIONS = {
    "vulnerabilities": "vulnerability",
    "misconfigurations": "misconfig",
    "secrets": "secret",
    "licenses": "license",
}
"""The sections of a `.trivyignore.yaml` and the kind of finding Trivy applies each one's entries to."""


@dataclass(frozen=True)
class _Entry:
    where: str
    """Where in the file: `line 3`, `vulnerabilities[2]`, `ignore[0]`."""
    id: str
    reason: str = ""
    expires: date | None = None
    packages: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    purls: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    """The kinds of finding the scanner applies the entry to; () for all (a `.trivyignore` line)."""
    aliases: bool = False
    """Trivy compares an entry's ID with the finding's own (a check's ID or AVDID), Grype a rule's too unless
    it says `include-aliases: true`: a vendor advisory or another release's name of a check ignores nothing."""


@dataclass(frozen=True)
class Imported:
    """The waivers made from one ignore file, and what could not be imported."""

    source: str
    kind: str
    """`.trivyignore`, `.trivyignore.yaml` or `grype`."""
    waivers: tuple[tuple[str, Waiver], ...]
    """(where in the file, waiver)."""
    skipped: tuple[str, ...]
    """One line per entry not imported, saying why."""
    expired: tuple[str, ...] = ()
    """Waivers imported with an expiry already past (they will fail as waiver-expired)."""
    warnings: tuple[str, ...] = ()
    """Values imported as the scanner reads them, which differs from how the file writes them."""


def import_ignore_file(
    source: str,
    data: bytes,
    *,
    reason: str | None,
    expires: date | None,
    today: date,
    owner: str = "",
    ticket: str = "",
) -> Imported:
    """Waivers for every entry of the ignore file `source` (its bytes in `data`).

    `reason` and `expires` fill in what entries lack. Raises InputError when the file cannot be read as any
    of the three formats, or when entries lack a reason or expiry that was not given.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{source}: not UTF-8 text; save the ignore file as UTF-8") from None
    name = source.replace("\\", "/").rsplit("/", 1)[-1].lower()
    skipped: list[str] = []
    warnings: list[str] = []
    if name.endswith((".yaml", ".yml")):
        document = _yaml(text, source)
        if isinstance(document, dict) and "ignore" in document:
            kind, entries = "grype", _grype(document["ignore"], source, skipped, warnings)
        elif isinstance(document, dict) and any(k in document for k in _TRIVY_SECTIONS):
            kind, entries = ".trivyignore.yaml", _trivy_yaml(document, source, skipped)
        else:
            raise InputError(
                f"{source}: neither a Grype config (no `ignore:` list) nor a .trivyignore.yaml "
                f"(no {', '.join(_TRIVY_SECTIONS)}); give one of those"
            )
    else:
        _not_yaml_or_json(text, source)
        kind, entries = ".trivyignore", _trivyignore(text, source, skipped)
    if not entries and not skipped:
        what = "Grype config" if kind == "grype" else kind
        raise InputError(
            f"{source}: no entries to import (this {what} lists no finding to ignore); give the ignore file "
            "your scanner runs with, or there is nothing to make waivers of"
        )
    _require(entries, "reason", reason is not None, source, "--reason TEXT")
    _require(entries, "expires", expires is not None, source, "--expires YYYY-MM-DD")
    waivers = []
    expired = []
    for entry in entries:
        fields: dict[str, Any] = {
            "id": entry.id,
            "reason": entry.reason or reason,
            "expires": entry.expires or expires,
        }
        for key in ("packages", "paths", "purls", "kinds"):
            if getattr(entry, key):
                fields[key] = list(getattr(entry, key))
        if not entry.aliases:
            fields["aliases"] = False
        if owner:
            fields["owner"] = owner
        if ticket:
            fields["ticket"] = ticket
        try:
            waiver = Waiver.model_validate(fields)
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            raise InputError(
                f"{source}: {entry.where}: {'.'.join(map(str, err['loc']))}: {field_problem(err)}"
            ) from None
        if waiver.expires < today:
            expired.append(f"{entry.where}: {waiver.id} expired on {waiver.expires}")
        waivers.append((entry.where, waiver))
    return Imported(source, kind, tuple(waivers), tuple(skipped), tuple(expired), tuple(warnings))


_YAML_KEY = re.compile(rf"^(?:ignore|{'|'.join(_TRIVY_SECTIONS)})\s*:", re.MULTILINE)


def _not_yaml_or_json(text: str, source: str) -> None:
    """Raise InputError when a file read as a .trivyignore is JSON, or YAML an extension would have told."""
    if text.lstrip()[:1] in ("{", "["):
        raise InputError(
            f"{source}: this is JSON, not an ignore file; give a .trivyignore, .trivyignore.yaml or Grype "
            "config (.grype.yaml)"
        )
    if _YAML_KEY.search(text):
        raise InputError(
            f"{source}: this looks like YAML (a Grype config or .trivyignore.yaml), read as a .trivyignore "
            "because of its name; give it a .yaml or .yml name"
        )


def _require(entries: Sequence[_Entry], key: str, given: bool, source: str, flag: str) -> None:
    lacking = [e for e in entries if not getattr(e, key)]
    if lacking and not given:
        # An ID is the file's text, of any length: cut short, as five of them share the line
        shown = ", ".join(f"{e.id if len(e.id) <= 60 else e.id[:59] + '…'} ({e.where})" for e in lacking[:5])
        more = f" and {len(lacking) - 5} more" if len(lacking) > 5 else ""
        noun = "entry has" if len(lacking) == 1 else "entries have"
        raise InputError(f"{source}: {len(lacking)} {noun} no {key}: {shown}{more}; pass {flag} for them")


def _trivyignore(text: str, source: str, skipped: list[str]) -> list[_Entry]:
    entries = []
    comments: list[str] = []
    # Trivy splits on newlines only: a form feed or U+2028 inside a comment does not start an entry.
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            comments = []
            continue
        if line.startswith("#"):
            comments.append(line.lstrip("#").strip())
            continue
        fields = line.split()
        expiry = None
        comment = False
        for extra in fields[1:]:
            comment = comment or extra.startswith("#")
            if extra.startswith("exp:"):
                # Trivy takes the first `exp:` of the line, one in a comment too, and reads no other.
                if expiry is None:
                    expiry = _last_day(_date(extra.removeprefix("exp:"), source, f"line {number}"))
            elif not comment:
                raise InputError(f"{source}: line {number}: {extra[:40]!r} is not exp:YYYY-MM-DD")
        reason = " ".join(c for c in comments if c)
        if not _cased_as_trivy(fields[0], f"line {number}", skipped):
            comments = []
            continue
        entries.append(_Entry(where=f"line {number}", id=fields[0], reason=reason, expires=expiry))
        comments = []
    return entries


_TRIVY_IDS = re.compile(
    r"(?P<vulnerabilities>CVE-[0-9]{4}-[0-9]+|GHSA(?:-[0-9A-Z]{4}){3})|(?P<misconfigurations>AVD-[A-Z]+-[0-9]+)",
    re.IGNORECASE,
)
"""IDs of one kind that Trivy reports in one case: CVE and AVD IDs upper case, GHSA IDs `GHSA-` and the rest
lower case. The group that matched is the `.trivyignore.yaml` section of their kind."""
_KIND_NAMES = {"vulnerabilities": "a vulnerability", "misconfigurations": "a misconfiguration check"}


def _cased_as_trivy(ident: str, where: str, skipped: list[str]) -> bool:
    """False, and the entry listed in `skipped`, when `ident` is a CVE, GHSA or AVD ID in a case Trivy never
    reports: Trivy compares IDs as written, so the entry ignores nothing (its waiver would be reported unused)."""
    if _TRIVY_IDS.fullmatch(ident) is None:
        return True
    reported = "GHSA" + ident[4:].lower() if ident[:4].upper() == "GHSA" else ident.upper()
    if reported != ident:
        skipped.append(
            f"{where}: {ident}: Trivy reports this ID as {reported!r} and compares IDs as written, so the entry "
            "ignores nothing; not imported"
        )
    return reported == ident


def _in_its_section(ident: str, section: str, where: str, skipped: list[str]) -> bool:
    """False, and the entry listed in `skipped`, when `ident` is a CVE, GHSA or AVD ID in another section than
    its kind's: Trivy applies an entry to the findings of its section only, so the entry ignores nothing (and
    its waiver, scoped to the section's kind, would be reported unused)."""
    found = _TRIVY_IDS.fullmatch(ident)
    if found is None or found.lastgroup == section:
        return True
    skipped.append(
        f"{where}: {ident}: Trivy applies a `{section}` entry to {section} only, and this ID names "
        f"{_KIND_NAMES[str(found.lastgroup)]}, so the entry ignores nothing; not imported"
    )
    return False


def _trivy_yaml(document: dict[str, Any], source: str, skipped: list[str]) -> list[_Entry]:
    entries = []
    for section in _TRIVY_SECTIONS:
        items = document.get(section) or []
        if not isinstance(items, list):
            raise InputError(f"{source}: {section}: must be a list of entries (got {_got(items)})")
        for index, item in enumerate(items):
            where = f"{section}[{index}]"
            if (
                isinstance(item, dict)
                and item.get("id") in (None, "")
                and (item.get("paths") or item.get("purls"))
            ):
                # Trivy ignores every finding of such an entry's paths or purls, whatever its ID
                skipped.append(
                    f"{where}: no `id`; an entry that ignores by path or purl alone has no waiver form"
                )
                continue
            if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
                raise InputError(f"{source}: {where}: needs an `id`")
            ident = str(item["id"])  # Trivy reads every scalar into its string fields as written
            if not _cased_as_trivy(ident, where, skipped) or not _in_its_section(
                ident, section, where, skipped
            ):
                continue
            expiry = item.get("expired_at")
            paths = _strings(item.get("paths"), source, f"{where}.paths")
            patterns = [p for p in paths if _is_pattern(p)]
            if patterns:
                skipped.append(f"{where}: {ident}: {_PATH_GLOB.format(patterns[0][:80])}")
                continue
            if section == "licenses" and (named := _names_a_fileless_target(paths)):
                path, target = named
                skipped.append(
                    f"{where}: {ident}: path {path[:80]!r}: Trivy matches it with a licence's file, which an OS "
                    f"package's licence lacks, and a waiver with the finding's target, {target!r} there, so the "
                    "waiver would waive what Trivy did not ignore; not imported (write this waiver by hand)"
                )
                continue
            purls = _strings(item.get("purls"), source, f"{where}.purls")
            globs = [_trivy_purl_globs(p, source, f"{where}.purls") for p in purls]
            if (odd := next((p for p, g in zip(purls, globs, strict=True) if g is None), None)) is not None:
                skipped.append(
                    f"{where}: {ident}: purl {odd[:80]!r}: Trivy matches its qualifiers or subpath in any "
                    "order, a purl glob as written; not imported (write this waiver by hand)"
                )
                continue
            entries.append(
                _Entry(
                    where=where,
                    id=ident,
                    reason=_string(item.get("statement"), source, f"{where}.statement"),
                    expires=_last_day(_date(expiry, source, f"{where}.expired_at"))
                    if expiry is not None
                    else None,
                    paths=tuple(dict.fromkeys(p for path in paths for p in _doublestar_paths(path))),
                    purls=tuple(dict.fromkeys(g for each in globs if each for g in each)),
                    kinds=(_TRIVY_SECTIONS[section],),
                )
            )
    return entries


_PATH_GLOB = (
    "path pattern {!r}: its `*`, `?`, `[` or `{{` does not cross `/` in the scanner, and a waiver's `*` does; "
    "not imported (write this waiver by hand with the paths it means)"
)


_TRIVY_FILELESS_TARGETS = (
    "OS Packages",
    "Loose File License(s)",
    "Python",
    "Conda",
    "Ruby",
    "Node.js",
    "Java",
    "Kubernetes",
)
"""The result names Trivy gives licences without a file (`FilePath` ""): an OS package's, or a language package's
found in no file. The gate takes such a licence's target from its result, so a waiver's `paths` meet this name
where Trivy matched a `licenses` entry's paths with "" (which only `**` matches)."""


def _names_a_fileless_target(paths: Sequence[str]) -> tuple[str, str] | None:
    """(path, target name) when the waiver made of a `licenses` entry's `paths` would match the target of a licence
    without a file, which Trivy's path does not; None when none does."""
    for path in paths:
        # `**` matches "" in Trivy too: the entry ignores such licences, as the waiver waives them
        if path == "**":
            continue
        for variant in _doublestar_paths(path):
            target = next((t for t in _TRIVY_FILELESS_TARGETS if fnmatchcase(t, variant)), None)
            if target is not None:
                return path, target
    return None


_TRIVY_LOWER_NAMESPACE = frozenset(
    {"alpm", "apk", "bitbucket", "composer", "deb", "github", "golang", "qpkg", "rpm"}
)
_TRIVY_LOWER_NAME = frozenset({"alpm", "apk", "bitbucket", "bitnami", "composer", "deb", "github", "golang"})
"""The purl types whose namespace (first set) and name (second) Trivy's parser, packageurl-go, lowers in the entry
and the report's purl alike: Trivy writes them in lower case, so an entry's are lowered to match them."""


def _doublestar_paths(path: str) -> tuple[str, ...]:
    """`path` and the paths its `**` segments make when they match no directory: Trivy's `**/a` also matches
    `a`, and `a/**` matches `a` (doublestar), which a waiver's `**`, any text and a `/` with it, does not. Past
    four `**` segments only `path` itself (fewer findings waived, never more)."""
    parts = path.split("/")
    stars = [i for i, part in enumerate(parts) if part == "**"]
    if len(stars) > 4:
        return (path,)
    variants = []
    for drop in itertools.product((False, True), repeat=len(stars)):
        dropped = {star for star, gone in zip(stars, drop, strict=True) if gone}
        variants.append("/".join(part for i, part in enumerate(parts) if i not in dropped))
    return tuple(dict.fromkeys((path, *(v for v in variants if v))))


def _trivy_purl_globs(purl: str, source: str, where: str) -> tuple[str, ...] | None:
    """Globs of the package URLs Trivy's `purls` entry `purl` matches, None when it has qualifiers or a subpath.

    Trivy compares parsed purls: the same package, and the version only when the entry gives one (without one,
    every version). A report writes its purl encoded (`%40babel`, `%2B`), so both spellings are kept. Parsing
    lowers the type, and the namespace and name of some types (`_TRIVY_LOWER_NAME`), so the globs are lowered so.
    """
    if not purl.startswith("pkg:") or "/" not in purl:
        raise InputError(f"{source}: {where}: {purl[:80]!r} is not a package URL (pkg:TYPE/NAME[@VERSION])")
    if "?" in purl or "#" in purl:
        return None
    kind, _, path = purl[4:].partition("/")
    path, at, version = path.rpartition("@") if "@" in path.rsplit("/", 1)[-1] else (path, "", "")
    kind = kind.lower()
    namespace, slash, name = path.rpartition("/")
    if kind in _TRIVY_LOWER_NAMESPACE:
        namespace = namespace.lower()
    if kind in _TRIVY_LOWER_NAME:
        name = name.lower()
    path = namespace + slash + name
    bases = dict.fromkeys(
        f"pkg:{_literal(kind)}/{_literal(p)}" for p in (path, "/".join(_encoded(s) for s in path.split("/")))
    )
    if not at:  # any version: the purl ends after the name, or goes on with `@`, `?` or `#`
        return tuple(f"{b}{tail}" for b in bases for tail in ("", "@*", "[?]*", "#*"))
    versions = dict.fromkeys(_literal(v) for v in (version, _encoded(version)))
    return tuple(f"{b}@{v}{tail}" for b in bases for v in versions for tail in ("", "[?]*", "#*"))


def _encoded(part: str) -> str:
    """One part of a purl as scanners write it: percent-encoded (`@` as %40, `+` as %2B)."""
    return quote(unquote(part), safe=".-_~:")


def _literal(text: str) -> str:
    """`text` as a glob that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)


def _is_pattern(path: str) -> bool:
    """True when `path` holds a glob the scanners read otherwise than a waiver. A `**` that is a whole path
    segment (`a/**/b`) means the same in both; within a segment (`a/**.js`) the scanners (doublestar) read it
    as `*`, which stops at `/`."""
    return bool(_GLOB & set("/".join("" if part == "**" else part for part in path.split("/"))))


def _last_day(first_expired: date) -> date:
    """The last day a waiver applies for a scanner entry that stops applying on `first_expired`."""
    if first_expired == date.min:  # the entry never applied; no day precedes it, so the waiver is expired too
        return first_expired
    return first_expired - timedelta(days=1)


def _grype(rules: Any, source: str, skipped: list[str], warnings: list[str]) -> list[_Entry]:
    if not isinstance(rules, list):
        raise InputError(f"{source}: ignore: must be a list of rules (got {_got(rules)})")
    entries = []
    for index, rule in enumerate(rules):
        where = f"ignore[{index}]"
        if not isinstance(rule, dict):
            raise InputError(f"{source}: {where}: must be a mapping (got {_got(rule)})")
        read: dict[str, tuple[str, str]] = {}  # field -> (as written, as Grype reads it), where they differ
        raw = rule.get("vulnerability")
        vuln = (
            _grype_field(raw, source, where, "vulnerability", read)
            if raw is None or isinstance(raw, str)
            else ""
        )
        if not vuln:
            skipped.append(
                f"{where}: no `vulnerability`; a rule that ignores by package alone has no waiver form"
            )
            continue
        unsupported = [k for k in _GRYPE_UNSUPPORTED if rule.get(k) not in (None, "")]
        package = rule.get("package") or {}
        if not isinstance(package, dict):
            raise InputError(f"{source}: {where}.package: must be a mapping (got {_got(package)})")
        unsupported += [
            f"package.{k}" for k in _GRYPE_PACKAGE_UNSUPPORTED if package.get(k) not in (None, "")
        ]
        # not stripped: Grype compares it as written
        kind = _grype_field(package.get("type"), source, where, "package.type", read)
        if kind and kind not in GRYPE_PURL_TYPES:
            unsupported.append(f"package.type {kind!r}")
        if unsupported:
            skipped.append(
                f"{where}: {vuln}: {', '.join(unsupported)} cannot be expressed as a waiver scope; "
                "not imported (write this waiver by hand)"
            )
            continue
        name = _grype_field(package.get("name"), source, where, "package.name", read).strip()
        version = _grype_field(package.get("version"), source, where, "package.version", read).strip()
        location = _grype_field(package.get("location"), source, where, "package.location", read).strip()
        if _REGEX & set(name) or _GLOB & set(version):
            skipped.append(
                f"{where}: {vuln}: package.name is a regular expression in Grype (or the version holds a "
                "pattern); not imported (write this waiver by hand)"
            )
            continue
        if _is_pattern(location):
            skipped.append(f"{where}: {vuln}: {_PATH_GLOB.format(location[:80])}")
            continue
        purls: tuple[str, ...] = ()
        if kind or version:
            base = f"pkg:{GRYPE_PURL_TYPES[kind] if kind else '*'}/*"
            if version:  # exactly that version, as Grype compares it; purls write `+` as is or as %2B
                spelled = dict.fromkeys((version, quote(version, safe=".-_~:")))
                # `[?]` is the purl's `?` itself: a bare `?` is any character, so v0.13 would waive v0.13.0.
                purls = tuple(f"{base}@{v}{tail}" for v in spelled for tail in ("", "[?]*"))
            else:
                purls = (base,)
        entries.append(
            _Entry(
                where=where,
                id=vuln,
                reason=_string(rule.get("reason"), source, f"{where}.reason"),
                packages=(name,) if name else (),
                paths=(location,) if location else (),
                purls=purls,
                # yaml.v3 reads true, True and TRUE as true; yes, on and y are text to it (Grype refuses them)
                aliases=_plain(rule.get("include-aliases")) in ("true", "True", "TRUE"),
                kinds=("vulnerability",),  # Grype matches vulnerabilities only
            )
        )
        warnings += [
            f"{where}: {vuln}: {field} {written[:80]!r} unquoted is {grype_read[:80]!r} to Grype, which reads "
            f"it as a YAML {'boolean' if written in _GO_BOOLS else 'number'}; imported as {grype_read[:80]!r}, "
            f"what Grype matched; quote it in the file if {written[:80]!r} is meant"
            for field, (written, grype_read) in read.items()
        ]
    return entries


class _Plain(str):
    """The text of a plain (unquoted) YAML scalar: each scanner reads it its own way (a quoted one is text)."""

    __slots__ = ()


_NULLS = ("", "~", "null", "Null", "NULL")
"""Plain scalars that are null to PyYAML and to Go's yaml.v3 alike."""
_GO_BOOLS = ("true", "True", "TRUE", "false", "False", "FALSE")


def _plain(value: Any) -> str | None:
    return str(value) if isinstance(value, _Plain) else None


def _yaml(text: str, source: str) -> Any:
    try:
        import yaml
    except ImportError:  # PyYAML is in the `yaml` and `test` extras
        raise InputError(
            f"{source}: reading YAML needs PyYAML; install it into the gate's environment (pip install PyYAML), "
            "or install the gate with its `yaml` extra from the source you install it from"
        ) from None
    try:
        return yaml.load(text, Loader=_text_loader())  # noqa: S506 (a SafeLoader that keeps plain scalars as text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{source}: invalid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    except RecursionError:  # PyYAML composes nested lists and mappings by recursion
        raise InputError(f"{source}: invalid YAML: lists or mappings nested too deeply") from None


_PLAIN_TAG = "tag:gate,2026:plain"


@functools.cache
def _text_loader() -> type[Any]:
    """A PyYAML SafeLoader that reads a plain scalar as its text (`_Plain`), a null as None, and a scalar with an
    explicit `!!int`, `!!float`, `!!bool` or `!!timestamp` tag as the text written. PyYAML follows YAML 1.1
    (`1.10` the number 1.1, `010` 8, `1:20` 80, `yes` true); neither scanner does, so the scanner's reading is
    made from the text (`_grype_string`; Trivy keeps the text)."""
    import yaml

    class Loader(yaml.SafeLoader):
        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            if kind is yaml.ScalarNode and implicit[0] and value not in _NULLS and value != "<<":
                return _PLAIN_TAG
            return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]

    def plain(loader: yaml.SafeLoader, node: Any) -> _Plain:
        return _Plain(node.value)

    def written(loader: yaml.SafeLoader, node: Any) -> str:
        return str(node.value)

    Loader.add_constructor(_PLAIN_TAG, plain)
    for tag in ("int", "float", "bool", "timestamp"):
        Loader.add_constructor(f"tag:yaml.org,2002:{tag}", written)
    return Loader


def _grype_field(value: Any, source: str, where: str, field: str, read: dict[str, tuple[str, str]]) -> str:
    """`_grype_string` of a rule's `field`; where Grype reads a plain scalar otherwise than written, notes both."""
    text = _grype_string(value, source, f"{where}.{field}")
    if isinstance(value, _Plain) and text != value:
        read[field] = (str(value), text)
    return text


def _grype_string(value: Any, source: str, where: str) -> str:
    """The string Grype decodes a rule field's YAML value into: a quoted scalar as written, a plain one as Go's
    yaml.v3 and mapstructure make it (`1.10` is "1.1", `true` "1", `0x1F` "31"), null "". Raises InputError for a
    value Grype refuses: a date (yaml.v3 reads it as a timestamp, which is not text) or a list or mapping."""
    if value is None:
        return ""
    if isinstance(value, _Plain):
        try:
            return grype_string(value)
        except GoTimestamp:
            raise InputError(
                f"{source}: {where}: Grype reads the unquoted {str(value)[:40]!r} as a date and refuses its "
                "config (a date is not text to it); quote it"
            ) from None
    if isinstance(value, str):
        return str(value)
    raise InputError(f"{source}: {where}: must be text (got {_got(value)})")


def _got(value: Any) -> str:
    """What a YAML file holds, for a message's `(got ...)`: a mapping, a list, or a short scalar."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return short_value(value)


def _string(value: Any, source: str, where: str) -> str:
    """A scalar's text as written (plain or quoted), stripped; "" for null."""
    if value is None:
        return ""
    if isinstance(value, str):
        return str(value).strip()
    raise InputError(f"{source}: {where}: must be text (got {_got(value)})")


def _strings(value: Any, source: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(str(v) for v in value)
    raise InputError(f"{source}: {where}: must be a list of strings (got {_got(value)})")


def _date(value: Any, source: str, where: str) -> date:
    if isinstance(value, _Plain):  # a YAML date or date-time unquoted: as PyYAML reads it
        value = _yaml_timestamp(value)
    if isinstance(value, datetime):  # YAML reads 2024-01-01T00:00:00Z as a datetime; a waiver takes the day
        return utc_day(value)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return (
                utc_day(datetime.fromisoformat(text.replace("Z", "+00:00")))
                if "T" in text
                else date.fromisoformat(text)
            )
        except ValueError:
            pass
    raise InputError(f"{source}: {where}: {str(value)[:40]!r} is not a date (YYYY-MM-DD)")


def _yaml_timestamp(text: str) -> Any:
    """PyYAML's reading of the plain scalar `text` as a date or datetime (YAML 1.1 timestamp), else the text."""
    import yaml
    from yaml.constructor import SafeConstructor

    if not SafeConstructor.timestamp_regexp.match(text):
        return str(text)
    return yaml.SafeLoader("").construct_yaml_timestamp(yaml.ScalarNode("tag:yaml.org,2002:timestamp", text))


def render_waivers(imported: Imported) -> str:
    """The imported waivers as TOML `[[waivers]]` tables, ready to append to a policy file."""
    lines = [
        f"# Waivers imported from {_comment(imported.source)} ({imported.kind}) by `gate policy import`."
    ]
    for where, waiver in imported.waivers:
        lines += ["", f"# {_comment(imported.source)} {where}", "[[waivers]]", f"id = {_toml(waiver.id)}"]
        lines.append(f"reason = {_toml(waiver.reason)}")
        lines.append(f"expires = {waiver.expires.isoformat()}")
        for key in ("packages", "paths", "purls"):
            values = getattr(waiver, key)
            if values:
                lines.append(f"{key} = [{', '.join(_toml(v) for v in values)}]")
        if waiver.kinds:
            lines.append(f"kinds = [{', '.join(_toml(k.value) for k in waiver.kinds)}]")
        if not waiver.aliases:
            lines.append("aliases = false  # the scanner matched this ID only, not its aliases")
        for key in ("owner", "ticket"):
            if getattr(waiver, key):
                lines.append(f"{key} = {_toml(getattr(waiver, key))}")
    return "\n".join(lines) + "\n"


def _toml(text: str) -> str:
    """A TOML basic string: JSON's escapes are valid TOML, and DEL (which JSON leaves alone) is escaped too."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


def _comment(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in " ".join(text.split()))
