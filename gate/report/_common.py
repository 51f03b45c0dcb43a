"""What several renderers share: stable keys for images, pseudo-paths, advisory links, severity scores,
the final FROM line of a Dockerfile, and the ordered list of results a code-scanning upload carries.

Pure functions over the Decision; no I/O.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pydantic_core

from gate.identity import normalise_platform
from gate.model import Finding, FindingKind, Severity
from gate.policy.decision import (
    Action,
    Decision,
    FindingOutcome,
    ImageDecision,
    Violation,
    WaivedFinding,
    WaiverStatus,
)
from gate.report._text import clip, one_line

__all__ = [
    "IMAGE_CONFIG",
    "MAX_SARIF_RESULTS",
    "FileLocation",
    "Item",
    "OnePerLine",
    "Results",
    "advisory_url",
    "check_scope",
    "digest",
    "final_from_line",
    "image_key",
    "image_keys",
    "image_titles",
    "item_count",
    "items",
    "joined",
    "json_bytes",
    "json_chunks",
    "kind_word",
    "numbered",
    "platform_part",
    "pseudo_path",
    "security_score",
    "several_platforms",
]

IMAGE_CONFIG = "image-config"
"""The scope of an image check's result: the image's config, where every image check looks."""
MAX_SARIF_RESULTS = 5_000
"""Results per SARIF run: GitHub stores at most 5,000 (PLATFORMS.md A.3), so the gate keeps the most severe."""


@dataclass(frozen=True)
class FileLocation:
    """A repository file the findings are attached to: the Dockerfile and the line of its final FROM."""

    path: str
    """Repository-relative path with forward slashes."""
    line: int
    """1-based line of the final `FROM` instruction."""


# --- stable keys ---------------------------------------------------------------------------------------

_DIGEST = re.compile(r"@[A-Za-z0-9_+.-]+:[0-9a-fA-F]{32,}$")
_NOT_KEY = re.compile(r"[^A-Za-z0-9._/-]+")


def to_json(document: Any) -> str:
    """JSON text with a two-space indent and a trailing newline, keys in insertion order (deterministic).

    pydantic-core's encoder is used because the standard library's falls back to pure Python with `indent`,
    which costs seconds on reports with tens of thousands of findings. `##` is written `#\\u0023` (the same
    string once decoded): GitHub's runner reads a legacy `##[cmd]` anywhere in a line of a job's output, and
    Azure a `##vso[cmd]`, when the file goes to stdout. JSON lines start with indentation, never with `::`.
    """
    return json_bytes(document)[0].decode("utf-8") + "\n"


def json_bytes(document: Any) -> list[bytes]:
    """The UTF-8 bytes of `to_json(document)` in two pieces, the text and its final newline, for writing: an
    output as large as the report is neither decoded to text nor copied to add the newline."""
    return [_no_commands(pydantic_core.to_json(document, indent=2)), b"\n"]


def _no_commands(data: bytes) -> bytes:
    """Encoded JSON with `##` written `#\\u0023`; `#` only occurs inside strings, so the value is the same."""
    return data.replace(b"##", b"#\\u0023") if b"##" in data else data


_CHUNK = 500
"""Items of a long list encoded per call of `json_chunks`."""


class OnePerLine(list[Any]):
    """A list that `json_chunks` writes one compact item per line, for sections read by programs, not people.

    On a report with tens of thousands of findings, indenting every field makes the text half as large
    again, and slower both to write and to read back.
    """


def json_chunks(document: Any) -> Iterator[bytes]:
    """The bytes of `to_json(document)`, in pieces of at most a few hundred list items each, except that
    each item of a `OnePerLine` list is written compactly on a line of its own.

    For documents as large as the report they come from: the whole text is never held in memory, neither
    as pydantic-core's buffer nor as the bytes made from it. Dicts are walked and long lists split; the rest
    is encoded by pydantic-core and indented to its depth (JSON text has no raw newlines inside strings).
    """
    yield from _chunks(document, 0)
    yield b"\n"


def _chunks(value: Any, depth: int) -> Iterator[bytes]:
    inner = b"\n" + b"  " * (depth + 1)
    if isinstance(value, dict) and value:
        yield b"{"
        for n, (key, item) in enumerate(value.items()):
            yield (b"," if n else b"") + inner + _no_commands(pydantic_core.to_json(key)) + b": "
            yield from _chunks(item, depth + 1)
        yield inner[:-2] + b"}"
    elif isinstance(value, OnePerLine) and value:
        between = b"," + inner
        for start in range(0, len(value), _CHUNK):
            lines = between.join([pydantic_core.to_json(item) for item in value[start : start + _CHUNK]])
            yield (between if start else b"[" + inner) + _no_commands(lines)
        yield inner[:-2] + b"]"
    elif isinstance(value, list) and len(value) > _CHUNK:
        yield b"["
        for start in range(0, len(value), _CHUNK):
            part = _no_commands(pydantic_core.to_json(value[start : start + _CHUNK], indent=2))
            # "[\n  item,\n  item\n]": keep the items, indented one level deeper than the list
            yield (b"," if start else b"") + part[1:-2].replace(b"\n", b"\n" + b"  " * depth)
        yield inner[:-2] + b"]"
    elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
        yield b"["  # a short list of sections (the images): walked, as each may hold long lists
        for n, item in enumerate(value):
            yield (b"," if n else b"") + inner
            yield from _chunks(item, depth + 1)
        yield inner[:-2] + b"]"
    else:
        yield _no_commands(pydantic_core.to_json(value, indent=2)).replace(b"\n", inner[:-2])


def image_key(name: str) -> str:
    """A stable key for an image: its repository path without registry, tag or digest.

    `ghcr.io/org/app:1.2@sha256:...` -> `org/app`; `docker.io/library/alpine:3.19` -> `alpine`. Names that
    are not image references (paths, URLs) are reduced to letters, digits, `.`, `_`, `-` and `/`; a Windows
    path is read with `/` for `\\` (`C:\\build\\app.tar` -> `build/app.tar`, as `/build/app.tar`).
    """
    text = one_line(name).strip().strip("\"'")
    # A Trivy report made on Windows names a tarball `C:\build\app.tar` (no reference holds a `\`): its drive
    # then goes as a registry would, and the key is the one of the same path with `/`.
    text = text.replace("\\", "/")
    text = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", text)  # a URL's scheme
    text = _DIGEST.sub("", text)
    if text.endswith(")") and "(" in text:  # Trivy's "alpine:3.19 (alpine 3.19.1)"
        # Cut at the first `(`, not by `\s*\(.*\)$`: that tries each `(` to the end, minutes on a long run of them.
        text = text[: text.index("(")].rstrip()
    parts = [p for p in text.split("/") if p]
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]  # the registry
    if parts and ":" in parts[-1]:
        parts[-1] = parts[-1].split(":", 1)[0]  # the tag
    if len(parts) > 1 and parts[0] == "library":
        parts = parts[1:]
    cleaned = [_NOT_KEY.sub("-", p).strip("-") for p in parts]
    cleaned = [re.sub(r"-{2,}", "-", p) for p in cleaned if p and p not in (".", "..")]
    return _bounded("/".join(cleaned)) or "image"


def image_keys(decision: Decision) -> list[str]:
    """One distinct key per image, in order; a key taken before gets `-2`, `-3`, ... appended (never one that
    another image's own key already is: GitHub refuses two runs of one category).

    Images of one repository for several platforms (a multi-architecture build gated in one run) have their
    platform as one more part (`org/app/linux-arm64`, normalised: `aarch64` is `arm64`, no default variant), so
    each keeps its SARIF category and pseudo-paths whatever the order of the reports.
    """
    named = [image_key(image.name) for image in decision.images]
    platforms = [platform_part(image) for image in decision.images]
    keys: list[str] = []
    for key, platform, several in zip(named, platforms, several_platforms(named, platforms), strict=True):
        keys.append(numbered(f"{key}/{platform}" if platform and several else key, keys))
    return keys


def several_platforms(groups: Sequence[str], platforms: Sequence[str]) -> list[bool]:
    """For each image, whether the images of its group (its name or key) are for more than one platform ("" for
    an unknown one counts as one): then, and only then, its platform tells it apart."""
    seen: dict[str, set[str]] = {}
    for group, platform in zip(groups, platforms, strict=True):
        seen.setdefault(group, set()).add(platform)
    return [len(seen[group]) > 1 for group in groups]


def platform_part(image: ImageDecision) -> str:
    """The image's platform as one key part (`linux-arm-v7`); "" when unknown."""
    return "-".join(_NOT_KEY.sub("-", part) for part in normalise_platform(_platform(image)) if part)


def waits_for_platform(status: WaiverStatus, image: ImageDecision) -> bool:
    """True when the waiver names platforms and the image's platform is unknown: it could not apply, which is
    not the same as matching nothing (what it needs is the platform, e.g. from --image-metadata)."""
    return status.platforms is not None and not platform_part(image)


def image_titles(images: Sequence[ImageDecision], limit: int | None = None) -> list[str]:
    """How each image is titled: its name, with its platform when images of that name are for several platforms
    (a multi-architecture build gated in one run: `ghcr.io/org/app:pr-7 (linux/arm64)`).

    With `limit` (the length the renderer clips the title to), a long name is shortened before the platform,
    which is what tells the images apart; the title is then at most `limit` characters.
    """
    names = [image.name for image in images]
    # Platforms compare normalised, as in image_keys: `linux/arm64/v8` is `linux/arm64`, not a second platform.
    by_platform = several_platforms(names, [platform_part(image) for image in images])
    titles = []
    for image, platform, several in zip(images, map(_platform, images), by_platform, strict=True):
        if not (several and platform):
            titles.append(image.name)
            continue
        suffix = f" ({clip(platform, _MAX_PLATFORM)})"
        name = image.name if limit is None else clip(image.name, limit - len(suffix))
        titles.append(name + suffix)
    return titles


_MAX_PLATFORM = 60
"""A platform is `os/architecture[/variant]`: longer, a report's text, it is clipped."""


def _platform(image: ImageDecision) -> str:
    return image.image.platform if image.image is not None else ""


def numbered(name: str, taken: Collection[str], form: str = "{}-{}") -> str:
    """`name`, or the first of `form.format(name, 2)`, `form.format(name, 3)`, ... that is not in `taken`."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = form.format(name, n)
    return candidate


def pseudo_path(key: str, *parts: str) -> str:
    """A stable repository-relative pseudo-path `container-images/<key>/<parts>` that GitHub accepts.

    Every character but letters, digits and `-._~/` is percent-encoded, so the path has no `:`, `@`, spaces
    or scheme; empty, `.` and `..` segments are dropped.
    """
    segments = ["container-images", *key.split("/")]
    for part in parts:
        segments.extend(_bounded(one_line(part)).split("/"))
    kept = [quote(s, safe="-._~") for s in segments if s.strip() and s not in (".", "..")]
    return "/".join(kept)


_MAX_KEY = 200
"""Characters of an image key or path part: a repository path is at most 255, and each output repeats it."""


def _bounded(text: str) -> str:
    """`text` when short; else its start and a digest of all of it, so long names stay distinct and small."""
    if len(text) <= _MAX_KEY:
        return text
    return f"{text[: _MAX_KEY - 13]}-{digest(text)[:12]}"


def digest(*parts: str) -> str:
    """The SHA-256 hex digest of the parts joined by `|`."""
    return hashlib.sha256("|".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


# --- advisories and scores -----------------------------------------------------------------------------

_ADVISORIES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"CVE-[0-9]{4}-[0-9]{4,}"), "https://nvd.nist.gov/vuln/detail/{}"),
    (re.compile(r"GHSA(-[23456789cfghjmpqrvwx]{4}){3}"), "https://github.com/advisories/{}"),
    (
        re.compile(
            r"(GO-[0-9]{4}-[0-9]+|PYSEC-[0-9]{4}-[0-9]+|RUSTSEC-[0-9]{4}-[0-9]+|OSV-[0-9]{4}-[0-9]+"
            r"|DLA-[0-9]+-[0-9]+|DSA-[0-9]+-[0-9]+|USN-[0-9]+-[0-9]+)"
        ),
        "https://osv.dev/vulnerability/{}",
    ),
)


def advisory_url(finding_id: str) -> str | None:
    """An advisory link built from a well-formed vulnerability ID alone (never from report text), or None."""
    for pattern, template in _ADVISORIES:
        if pattern.fullmatch(finding_id):
            return template.format(finding_id)
    return None


# GitHub's bands for security-severity: over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
_BANDS: dict[Severity, tuple[float, float, float]] = {
    Severity.CRITICAL: (9.1, 10.0, 9.5),
    Severity.HIGH: (7.0, 9.0, 8.0),
    Severity.MEDIUM: (4.0, 6.9, 5.5),
    Severity.LOW: (0.1, 3.9, 2.0),
    Severity.NEGLIGIBLE: (0.1, 3.9, 1.0),
}


def security_score(finding: Finding | None, severity: Severity) -> float:
    """A 0.0-10.0 score for `severity` that GitHub files under the same severity.

    The finding's best CVSS base score (v3/v4 before v2) when it falls in the severity's band, else the
    band's middle (critical 9.5, high 8.0, medium 5.5, low 2.0, negligible 1.0). UNKNOWN takes any CVSS
    score, else 0.0.
    """
    scores: list[float] = []
    if finding is not None:
        modern = [c.score for c in finding.cvss if c.score is not None and c.version in ("3", "4")]
        legacy = [c.score for c in finding.cvss if c.score is not None and c.version == "2"]
        scores = [round(s, 1) for s in sorted(modern, reverse=True) + sorted(legacy, reverse=True)]
    band = _BANDS.get(severity)
    if band is None:
        in_range = [s for s in scores if 0.1 <= s <= 10.0]
        return in_range[0] if in_range else 0.0
    low, high, middle = band
    fitting = [s for s in scores if low <= s <= high]
    return fitting[0] if fitting else middle


# --- Dockerfile ----------------------------------------------------------------------------------------

# A parser directive as BuildKit reads one (`# syntax=...`, `# escape=...`, `# check=...`, in any order and case).
# Its value is stripped in code: a lazy `(.+?)\s*$` backtracks quadratically over a long run of blanks.
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=(.*)$")
_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_FROM = re.compile(r"^\s*FROM(\s|$)", re.IGNORECASE)
# A heredoc as BuildKit reads one: a whole word (`<<EOF`, `<<-"EOT"`, `3<<X`) of a RUN, COPY or ADD instruction.
_HEREDOC = re.compile(r"[0-9]*<<(-?)[\"']?([a-zA-Z][a-zA-Z0-9_]*)[\"']?")
_HEREDOC_INSTRUCTIONS = frozenset({"RUN", "COPY", "ADD"})


def final_from_line(text: str) -> int | None:
    """The 1-based line where the Dockerfile's last `FROM` instruction starts, or None when it has none.

    Honours parser directives (`# escape=`), line continuations, comments, blank lines and heredocs. Lines are
    counted as BuildKit counts them: a UTF-8 byte order mark before the first is no part of it, and only a line
    feed (with the carriage return before it) ends a line.
    """
    escape = "\\"
    lines = [line.removesuffix("\r") for line in text.removeprefix("\ufeff").split("\n")]
    for line in lines:  # parser directives come first, in any order, before any other line
        found = _DIRECTIVE.match(line.lstrip())
        name, value = (found.group(1).lower(), found.group(2).strip()) if found else ("", "")
        # An instruction, a comment, a blank line or an unknown or empty directive ends them.
        if name not in _DIRECTIVES or not value:
            break
        if name == "escape" and value in ("\\", "`"):
            escape = value
    last: int | None = None
    continued = False
    instruction = ""
    pending: list[str] = []  # the heredocs of the instruction being read: their bodies follow its last line
    heredocs: list[str] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if heredocs:
            if (stripped if heredocs[0].startswith("-") else line) == heredocs[0].lstrip("-"):
                heredocs.pop(0)
            continue
        if not stripped or stripped.startswith("#"):
            continue  # blank and comment lines, also inside a continued instruction
        words = stripped.split()
        if not continued:
            instruction = words[0].upper()
            if instruction == "ONBUILD" and len(words) > 1:  # `ONBUILD RUN <<EOF` has a heredoc too
                instruction = words[1].upper()
            if _FROM.match(line):
                last = number
        if instruction in _HEREDOC_INSTRUCTIONS:  # `$((1<<N))` or `"<<EOF"` is no heredoc: a word must be one
            pending += [f"{m[1]}{m[2]}" for word in words if (m := _HEREDOC.fullmatch(word))]
        continued = stripped.endswith(escape)
        if not continued:
            heredocs, pending = pending, []
    return last


# --- results of a code-scanning upload -----------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One result: a finding (active or waived) or an image check, with what the gate decided."""

    rule_id: str
    """The SARIF rule: the finding's ID or the image check's ID."""
    severity: Severity
    action: Action | None
    """The strongest action of the policy rules that caught it (or would have, when waived)."""
    rules: tuple[str, ...]
    finding: Finding | None = None
    violation: Violation | None = None
    waived: WaivedFinding | None = None
    scope: str = ""
    """For a result without a finding, what was checked: `image-config`, or `waivers/<waiver id>`."""
    suppressed: bool = False
    """The scanner's configuration or a VEX statement suppressed the finding (`finding.suppressed` says why)."""

    @property
    def level(self) -> str:
        """SARIF level: error for fail, warning for warn, else note."""
        return _LEVELS.get(self.action, "note")

    @property
    def package(self) -> str:
        """Package name, or empty."""
        return self.finding.package.name if self.finding and self.finding.package else ""

    @property
    def version(self) -> str:
        """Installed version, or empty."""
        return self.finding.package.version if self.finding and self.finding.package else ""

    @property
    def where(self) -> str:
        """What the result is about inside the image: the package, or the file a secret was found in."""
        if self.finding is None:
            return self.scope or IMAGE_CONFIG
        return self.package or self.finding.target or self.finding.kind.value


_LEVELS: dict[Action | None, str] = {Action.FAIL: "error", Action.WARN: "warning"}
_LEVEL_RANK = {"error": 0, "warning": 1, "note": 2}


def items(image: ImageDecision, *, suppressed: bool = False) -> list[Item]:
    """The results of one image, one per (package, version, ID), open before waived, most severe first.

    Image checks that did not pass are included; findings the scanner or VEX suppressed only when
    `suppressed` is true (they sort with the waived ones, after the open results).
    """
    actions = {r.rule_id: r.action for r in image.rules}
    waived_by_key = {_key(w.finding): w for w in image.waived}
    # The rules that flag each finding: the built-in `vex-under-investigation` and `missing-intel` warn or fail
    # about findings that no rule caught (its outcome does not name them).
    flagged: dict[tuple[str, str, str, str], list[tuple[str, Action]]] = {}
    for violation in image.violations:
        if violation.finding is not None:
            flagged.setdefault(_key(violation.finding), []).append((violation.rule_id, violation.action))
    found: dict[tuple[str, str, str, str], Item] = {}
    for outcome in image.outcomes:
        key = _key(outcome.finding)
        waived = waived_by_key.get(key) if outcome.waiver_id else None
        item = _finding_item(outcome, waived, actions, flagged.get(key, ()))
        other = found.get(key)
        if other is None or _order(item) < _order(other):
            found[key] = item
    for violation in image.violations:
        if violation.finding is None:
            scope = check_scope(violation, image)
            item = Item(
                rule_id=violation.id if scope == IMAGE_CONFIG else violation.rule_id,
                severity=violation.severity,
                action=violation.action,
                rules=(violation.rule_id,),
                violation=violation,
                scope=scope,
            )
            found[_violation_key(violation)] = item
    if suppressed:
        for finding in image.suppressed:
            key = _key(finding)
            if key not in found:
                found[key] = Item(finding.id, finding.severity, None, (), finding=finding, suppressed=True)
    return sorted(found.values(), key=_order)


def check_scope(violation: Violation, image: ImageDecision) -> str:
    """Where a violation without a finding belongs: `image-config` for an image check, else its rule's subject
    and its ID (`waivers/waiver-id`, `reports/report-age`).

    A rule with several image checks gives one result per check, each with the check as its subject: the
    violation's ID is looked for among all of them, not only the first or last.
    """
    subjects = [r.subject for r in image.rules if r.rule_id == violation.rule_id]
    if not subjects or violation.id in subjects:
        return IMAGE_CONFIG
    return f"{subjects[0]}/{violation.id}"


def item_count(image: ImageDecision, *, suppressed: bool = False) -> int:
    """`len(items(image, suppressed=suppressed))`, without building and sorting the items."""
    keys = {_key(outcome.finding) for outcome in image.outcomes}
    keys.update(_violation_key(v) for v in image.violations if v.finding is None)
    if suppressed:
        keys.update(_key(finding) for finding in image.suppressed)
    return len(keys)


class Results:
    """The results (`items`) of each image, built once for all the renderers of one run: the SARIF log and the
    GitLab report list the same ones, and the summary counts them. Made by the caller for one decision; a
    renderer given none builds its own.
    """

    def __init__(self) -> None:
        # By the image's id, with the image itself: an id is only unique while its object lives.
        self._built: dict[int, tuple[ImageDecision, list[Item]]] = {}

    def items(self, image: ImageDecision, *, suppressed: bool = False) -> list[Item]:
        """`items(image, suppressed=suppressed)`: the suppressed results sort after the open ones and are added
        only where no other result has their key, so leaving them out of the full list gives the same list."""
        every = self._every(image)
        return every if suppressed else [item for item in every if not item.suppressed]

    def count(self, image: ImageDecision, *, suppressed: bool = False) -> int:
        """`item_count(image, suppressed=suppressed)`, from the results when they were built already."""
        built = self._built.get(id(image))
        if built is None or built[0] is not image:
            return item_count(image, suppressed=suppressed)
        return len(self.items(image, suppressed=suppressed))

    def _every(self, image: ImageDecision) -> list[Item]:
        built = self._built.get(id(image))
        if built is None or built[0] is not image:
            built = self._built[id(image)] = (image, items(image, suppressed=True))
        return built[1]


def _violation_key(violation: Violation) -> tuple[str, str, str, str]:
    """A violation about no finding: one result per message, so two stale reports of one image (each a
    `report-age` violation of `stale-report`) are two results."""
    return ("", violation.id, violation.rule_id, violation.message)


def _key(finding: Finding) -> tuple[str, str, str, str]:
    package = finding.package
    if package is not None:
        return (_KIND_VALUES[finding.kind], finding.id, package.name, package.version)
    return (_KIND_VALUES[finding.kind], finding.id, finding.target, "")


_KIND_VALUES = {kind: kind.value for kind in FindingKind}
"""Each kind's value, looked up by dict: an enum's `.value` is a descriptor call, tens of thousands a run."""


def _finding_item(
    outcome: FindingOutcome,
    waived: WaivedFinding | None,
    actions: dict[str, Action],
    flagged: Sequence[tuple[str, Action]] = (),
) -> Item:
    """The result of a finding: with what its rules decided, and the rules of its violations that its outcome does
    not name (`flagged`: the built-in rules that warn or fail about findings), the strongest first."""
    finding = outcome.finding
    if waived is not None:
        would = [actions[r] for r in waived.rules if r in actions]
        action = min(would, key=_action_rank) if would else None
        return Item(finding.id, finding.severity, action, waived.rules, finding=finding, waived=waived)
    extra = {rule: action for rule, action in flagged if rule not in outcome.rules}
    if not extra:
        return Item(finding.id, finding.severity, outcome.action, outcome.rules, finding=finding)
    ranked = [(rule, actions[rule]) for rule in outcome.rules if rule in actions] + list(extra.items())
    ranked.sort(key=lambda pair: _action_rank(pair[1]))  # stable: the outcome's order within an action
    return Item(finding.id, finding.severity, ranked[0][1], tuple(r for r, _ in ranked), finding=finding)


def _action_rank(action: Action) -> int:
    return (Action.FAIL, Action.WARN, Action.INFO, Action.OFF).index(action)


def _order(item: Item) -> tuple[int, int, int, str, str, str, str]:
    kind = _KIND_VALUES[item.finding.kind] if item.finding is not None else "image"
    return (
        item.waived is not None or item.suppressed,
        _LEVEL_RANK[item.level],
        -_SEVERITY_RANKS[item.severity],
        item.rule_id,
        item.where,
        item.version,
        kind,
    )


_SEVERITY_RANKS = {severity: severity.rank for severity in Severity}


def kind_word(finding: Finding | None, scope: str = IMAGE_CONFIG) -> str:
    """`vulnerability`, `secret`, `misconfiguration`, `license`, `image check` or `policy check`."""
    if finding is None:
        return "image check" if scope == IMAGE_CONFIG else "policy check"
    return "misconfiguration" if finding.kind is FindingKind.MISCONFIG else finding.kind.value


def joined(values: Sequence[str], limit: int = 5) -> str:
    """Up to `limit` values joined by `, `, with `and N more` when there are more."""
    shown = ", ".join(values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")
