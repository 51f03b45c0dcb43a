"""SARIF 2.1.0 for GitHub code scanning (`--sarif`), built with sarif-om.

One run per image, its `automationDetails.id` a stable category (`container-gate/<image repository>/`, no tag
or digest; `container-gate/<image repository>/linux-arm64/` for images of one repository for several platforms).
One rule per vulnerability, secret, misconfiguration or image-check ID; one result per (package, version, ID),
its level from the gate's decision, located on the Dockerfile's final FROM line when a Dockerfile is given and
on a stable pseudo-path otherwise. Waived findings are suppressions with the waiver's
reason. At most 5,000 results per run (most severe first) and under 10 MB gzipped; what was cut is stated in
the run's properties. The limits are in PLATFORMS.md A.
"""

from __future__ import annotations

import functools
import gzip
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import attr
import sarif_om as om

from gate import __version__
from gate.errors import OutputError
from gate.model import NO_FIXED_VERSION, Finding, FindingKind, Suppression
from gate.policy.decision import Action, Decision, ImageDecision
from gate.report import _text
from gate.report._common import (
    IMAGE_CONFIG,
    MAX_SARIF_RESULTS,
    FileLocation,
    Item,
    Results,
    advisory_url,
    digest,
    image_keys,
    joined,
    json_bytes,
    kind_word,
    pseudo_path,
    security_score,
)

__all__ = ["MAX_GZIP_BYTES", "MAX_RUNS", "SCHEMA_URI", "category", "encode", "render"]

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
MAX_RUNS = 20
"""GitHub rejects a file with more runs (PLATFORMS.md A.3)."""
MAX_GZIP_BYTES = 9_500_000
"""GitHub rejects more than 10 MB gzipped; the gate keeps a margin."""
_MAX_DESCRIPTION = 1024
_MAX_MESSAGE = 2000
_MAX_TAGS = 10
_MAX_LISTED = 20
"""Values of a list property (`fixedVersions`): a report may list thousands; the rest are counted."""
_LEVEL_RANK = {"error": 0, "warning": 1, "note": 2}
_DASH = "\u2013"
_KEEP_DEFAULTS = frozenset({"level"})
"""sarif-om fields written even when they hold the SARIF default."""


# sarif-om 1.0.4 predates SARIF 2.1.0's final `suppression.status`; this subclass adds it.
_Suppression: Any = attr.make_class(
    "_Suppression",
    {"status": attr.ib(default=None, metadata={"schema_property_name": "status"})},
    bases=(om.Suppression,),
)


@dataclass(frozen=True)
class _Budget:
    results: int
    text: int
    """Characters for descriptions and help text."""
    help_rows: int


# Tried in order until the gzipped file fits MAX_GZIP_BYTES.
_BUDGETS = (
    _Budget(MAX_SARIF_RESULTS, _MAX_DESCRIPTION, 20),
    _Budget(MAX_SARIF_RESULTS, 200, 3),
    _Budget(2_000, 200, 1),
    _Budget(500, 100, 1),
)


def category(key: str) -> str:
    """The run's `automationDetails.id` for an image key; the trailing `/` makes all of it the category."""
    return f"container-gate/{key}/"


def render(
    decision: Decision,
    *,
    location: FileLocation | None = None,
    keys: Sequence[str] | None = None,
    results: Results | None = None,
) -> str:
    """The SARIF log as JSON text. With `location`, every result points at that Dockerfile line. `keys` are the
    images' keys (their categories) when the decision is one image of a larger run (`gate merge`, one file per
    image); by default, `image_keys` of the decision. `results` holds the images' results when other renderers
    of the run share them.

    Raises OutputError when the decision has more images than GitHub accepts runs in one file.
    """
    return b"".join(encode(decision, location=location, keys=keys, results=results)).decode("utf-8")


def encode(
    decision: Decision,
    *,
    location: FileLocation | None = None,
    keys: Sequence[str] | None = None,
    results: Results | None = None,
) -> list[bytes]:
    """What `render` writes, as UTF-8 bytes in pieces (`json_bytes`): for writing a large log to a file."""
    if len(decision.images) > MAX_RUNS:
        raise OutputError(
            f"--sarif: GitHub accepts at most {MAX_RUNS} runs (images) in one SARIF file and this run has "
            f"{len(decision.images)}; run gate check on fewer reports at a time"
        )
    keys = image_keys(decision) if keys is None else keys
    results = Results() if results is None else results  # each budget tried lists the same results
    for budget in _BUDGETS:
        runs = [
            _run(image, key, decision, location, budget, results)
            for image, key in zip(decision.images, keys, strict=True)
        ]
        log = om.SarifLog(version="2.1.0", schema_uri=SCHEMA_URI, runs=runs)
        document = _Serializer().value(log)
        ordered = {"$schema": document.pop("$schema"), "version": document.pop("version"), **document}
        pieces = json_bytes(ordered)
        if _gzipped_fits(pieces):
            return pieces
    raise OutputError(
        f"--sarif: the SARIF file stays over {MAX_GZIP_BYTES:,} bytes gzipped; gate fewer images at once"
    )


def _gzipped_fits(pieces: Sequence[bytes]) -> bool:
    """True when the file made of `pieces` gzipped stays within MAX_GZIP_BYTES, compressing only as hard as
    needed to tell."""
    size = sum(len(piece) for piece in pieces)
    if size + size // 1000 + 64 <= MAX_GZIP_BYTES:  # gzip never grows data by more than this
        return True
    data = b"".join(pieces)
    # The fast level compresses less than the default level uploaders use: if it fits, theirs does too.
    return any(len(gzip.compress(data, level, mtime=0)) <= MAX_GZIP_BYTES for level in (1, 6))


# --- runs, rules, results -------------------------------------------------------------------------------


class _Texts:
    """The image's policy rules by ID, and `one_line`, `markdown` and `pseudo_path` remembered within one run:
    package names, versions, the image name and the policy's texts repeat across thousands of results and
    rules. What the gate did with each result (`decided`) is written in its result and again in its rule's
    help text and Markdown."""

    def __init__(self, titles: dict[str, Any]) -> None:
        self.titles = titles
        self.line = functools.cache(_text.one_line)
        self.md = functools.cache(_text.markdown)
        self.path = functools.cache(pseudo_path)
        self._decided: dict[int, str] = {}  # by the item's id: the run's items outlive these texts

    def decided(self, item: Item) -> str:
        """`_decided(item, self)`, made once per item."""
        text = self._decided.get(id(item))
        if text is None:
            text = self._decided[id(item)] = _decided(item, self)
        return text


def _run(
    image: ImageDecision,
    key: str,
    decision: Decision,
    location: FileLocation | None,
    budget: _Budget,
    shared: Results,
) -> om.Run:
    every = shared.items(image, suppressed=True)
    kept = every[: budget.results]
    texts = _Texts({r.rule_id: r for r in image.rules})
    rule_ids = [_rule_id(item, texts) for item in kept]
    by_rule: dict[str, list[Item]] = {}
    for item, rule_id in zip(kept, rule_ids, strict=True):
        by_rule.setdefault(rule_id, []).append(item)
    rule_index = {rule_id: index for index, rule_id in enumerate(by_rule)}
    rules = [_rule(rule_id, group, image, texts, budget) for rule_id, group in by_rule.items()]
    prints = _fingerprints(kept, rule_ids, key)
    results = [
        _result(item, image, key, rule_index[rule_id], texts, location, fingerprint)
        for item, rule_id, fingerprint in zip(kept, rule_ids, prints, strict=True)
    ]
    properties: dict[str, Any] = {
        "image": texts.line(image.name, 300),
        "verdict": image.verdict.value,
        "policy": texts.line(decision.policy, 300),
        "today": decision.today.isoformat(),
        "resultsTotal": len(every),
        "resultsIncluded": len(kept),
        "truncated": len(kept) < len(every),
    }
    if len(kept) < len(every):
        properties["truncation"] = (
            f"{len(every) - len(kept)} of {len(every)} results left out: a run keeps the {len(kept)} most "
            "severe (GitHub stores at most 5,000 per run and 10 MB gzipped per file); see the summary or "
            "the decision record for all of them"
        )
    if budget is not _BUDGETS[0]:
        properties["shortened"] = "descriptions and help were shortened to keep the file under 10 MB gzipped"
    driver = om.ToolComponent(
        name="container-gate",
        full_name="container-gate: a policy gate over Trivy and Grype reports",
        version=__version__,
        semantic_version=__version__,
        rules=rules,
    )
    return om.Run(
        tool=om.Tool(driver=driver),
        automation_details=om.RunAutomationDetails(id=category(key)),
        column_kind="utf16CodeUnits",
        results=results,
        properties=properties,
    )


def _rule(
    rule_id: str, group: Sequence[Item], image: ImageDecision, texts: _Texts, budget: _Budget
) -> om.ReportingDescriptor:
    first = group[0]
    finding = first.finding
    severity = max(item.severity for item in group)
    score = max(security_score(item.finding, item.severity) for item in group)
    level = min((item.level for item in group), key=_LEVEL_RANK.__getitem__)
    if finding is not None:
        title = texts.line(finding.title)
        short = f"{texts.line(rule_id)}: {title}" if title else f"{texts.line(rule_id)} {kind_word(finding)}"
        full = texts.line(finding.description) or title or short
    else:
        policy_rule = texts.titles.get(first.rules[0]) if first.rules else None
        # GitHub takes an empty description for a missing one, and refuses the file: a title of only control or
        # invisible characters (`"\u007f"`) is none.
        short = (texts.line(policy_rule.title) if policy_rule else "") or rule_id
        message = first.violation.message if first.violation else ""
        if first.scope != IMAGE_CONFIG and policy_rule is not None and policy_rule.help:
            message = policy_rule.help  # one rule over several waivers: describe the rule
        full = texts.line(message) or short
    url = advisory_url(rule_id)
    # The help text and its Markdown say the same: what both need is worked out once.
    about = _About(
        url, _cvss(first.finding, texts), texts.titles.get(first.rules[0]) if first.rules else None
    )
    tags = ["security", kind_word(finding, first.scope).replace(" ", "-"), severity.value.lower()]
    if any(item.finding is not None and item.finding.fixable for item in group):
        tags.append("fixable")
    if finding is not None and finding.kev:
        tags.append("known-exploited")
    return om.ReportingDescriptor(
        id=rule_id,
        name=_rule_name(finding, first.scope),
        short_description=om.MultiformatMessageString(
            text=_text.clip(short, min(budget.text, _MAX_DESCRIPTION))
        ),
        full_description=om.MultiformatMessageString(
            text=_text.clip(full, min(budget.text, _MAX_DESCRIPTION))
        ),
        help=om.MultiformatMessageString(
            text=_help_text(rule_id, group, image, texts, budget, about),
            markdown=_help_markdown(rule_id, group, image, texts, budget, about),
        ),
        help_uri=url,
        default_configuration=om.ReportingConfiguration(level=level),
        properties={
            "tags": tags[:_MAX_TAGS],
            "precision": "very-high",
            "security-severity": f"{score:.1f}",
        },
    )


def _fingerprints(kept: Sequence[Item], rule_ids: Sequence[str], key: str) -> list[str]:
    """One fingerprint per result, stable across rebuilds: the category, where and the rule, without the version
    (a version bump that does not fix keeps the alert). GitHub folds results of one fingerprint into one alert,
    so a second result of the same package and rule (another installed version, another copy) adds its version,
    then its place in the run.
    """
    seen: set[str] = set()
    out = []
    for n, (item, rule_id) in enumerate(zip(kept, rule_ids, strict=True)):
        for extra in _extras(item.version, n):
            printed = digest(category(key), item.where, rule_id, *extra) + ":1"
            if printed not in seen:
                break
        seen.add(printed)
        out.append(printed)
    return out


def _extras(version: str, n: int) -> Iterator[tuple[str, ...]]:
    """What a fingerprint adds, tried in order until it is one no earlier result has: nothing, the version, then
    the result's place in the run, then a count after it. A version may hold `|`, which `digest` joins with, so
    the place alone can give an earlier result's fingerprint (`a|4` of one, `a` and place 4 of another)."""
    yield ()
    yield (version,)
    yield (version, str(n))
    for m in itertools.count(2):
        yield (version, str(n), str(m))


def _rule_id(item: Item, texts: _Texts) -> str:
    """The rule ID as written: the finding's or check's ID on one line, printable, never empty."""
    return texts.line(item.rule_id, 255) or "unknown"


def _rule_name(finding: Finding | None, scope: str) -> str:
    if finding is None:
        return "ImageCheck" if scope == IMAGE_CONFIG else "PolicyCheck"
    return {
        FindingKind.VULNERABILITY: "PackageVulnerability",
        FindingKind.SECRET: "Secret",
        FindingKind.MISCONFIG: "Misconfiguration",
        FindingKind.LICENSE: "License",
    }[finding.kind]


def _decided(item: Item, texts: _Texts) -> str:
    """What the gate did with the result, in words, naming the policy rule."""
    if item.suppressed and item.finding is not None and item.finding.suppressed is not None:
        return f"Suppressed before the gate: {_suppression_text(item.finding.suppressed, texts)}"
    if item.waived is not None:
        w = item.waived
        return (
            f"Waived by waiver {texts.line(w.waiver_id, 100)} until {w.expires.isoformat()}: "
            f"{texts.line(w.reason, 300)}"
        )
    if not item.rules or item.action not in (Action.FAIL, Action.WARN):
        return "Reported; no rule of the policy gates it"
    rule = texts.titles.get(item.rules[0])
    name = texts.line(item.rules[0], 100)
    shown = texts.line(rule.title, 200) if rule is not None and rule.title != item.rules[0] else ""
    title = f" ({shown})" if shown else ""
    verb = "Fails" if item.action is Action.FAIL else "Warns by"
    return f"{verb} rule {name}{title}"


def _suppression_text(found: Suppression, texts: _Texts, limit: int = 300) -> str:
    """`not_affected: the code is not reachable (VEX app.vex.json)` from a scanner or VEX suppression."""
    statement = texts.line(found.statement, limit) or "no statement given"
    status = texts.line(found.status, 40)
    source = texts.line(found.source, 200)
    return f"{status + ': ' if status else ''}{statement}{f' ({source})' if source else ''}"


def _fix(finding: Finding | None, texts: _Texts) -> str:
    if finding is None or finding.kind is not FindingKind.VULNERABILITY:
        return ""
    if finding.fixed_versions:
        return "fixed in " + texts.line(joined(finding.fixed_versions), 200)
    return NO_FIXED_VERSION if finding.fixable else "no fix yet"


def _plain_message(text: str) -> str:
    """`text` for a plain-text SARIF message: `\\`, `[` and `]` backslash-escaped.

    A plain-text message may embed links, `[link text](uri)`, whose literal brackets and backslashes are
    escaped with a backslash (SARIF 2.1.0 §3.11.6); escaping them everywhere keeps report text such as
    `[x](https://evil.example)` from reading as a link. The gate's own words hold none of the three.
    """
    if "\\" in text or "[" in text or "]" in text:
        text = text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
    return text


def _result(
    item: Item,
    image: ImageDecision,
    key: str,
    rule_index: int,
    texts: _Texts,
    location: FileLocation | None,
    fingerprint: str,
) -> om.Result:
    finding = item.finding
    name = texts.line(image.name, 300)
    subject = texts.line(item.rule_id, 200)
    if finding is not None and finding.package is not None:
        subject += f" in {texts.line(item.package, 200)} {texts.line(item.version, 100)}".rstrip()
    elif finding is not None and finding.target:
        subject += f" in {texts.line(finding.target, 200)}"
    facts = [item.severity.value.lower()]
    fix = _fix(finding, texts)
    if fix:
        facts.append(fix)
    if item.violation is not None:
        facts.append(texts.line(item.violation.message, 300))
    message = _plain_message(f"{subject} (image {name}): {', '.join(facts)}. {texts.decided(item)}.")
    if location is not None:
        uri, line = quote(location.path, safe="/-._~"), location.line
    else:
        uri, line = texts.path(key, item.where), 1
    physical = om.PhysicalLocation(
        artifact_location=om.ArtifactLocation(uri=uri),
        region=om.Region(start_line=line, start_column=1, end_line=line, end_column=1),
    )
    properties: dict[str, Any] = {
        "image": name,
        "severity": item.severity.value,
        "policyRules": [texts.line(rule, 100) for rule in item.rules],
    }
    if item.waived is not None:
        properties["action"] = "waived"  # policyRules: the rules that would have caught it
    elif item.action is not None:
        properties["action"] = item.action.value
    if finding is not None and finding.package is not None:
        properties["package"] = texts.line(item.package, 200)
        properties["installedVersion"] = texts.line(item.version, 100)
        properties["fixedVersions"] = [texts.line(v, 100) for v in finding.fixed_versions[:_MAX_LISTED]]
        if len(finding.fixed_versions) > _MAX_LISTED:
            properties["fixedVersionsLeftOut"] = len(finding.fixed_versions) - _MAX_LISTED
    suppressions = None
    if item.suppressed and finding is not None and finding.suppressed is not None:
        found = finding.suppressed
        suppressions = [
            _Suppression(
                kind="external",
                status="accepted",
                justification=_suppression_text(found, texts, 1000),
                properties={
                    "source": texts.line(found.source, 300),
                    "status": texts.line(found.status, 40),
                },
            )
        ]
        properties["action"] = "suppressed"
    elif item.waived is not None:
        w = item.waived
        suppressions = [
            _Suppression(
                kind="external",
                status="accepted",
                justification=texts.line(w.reason, 1000) or "waived",
                properties={"waiver": texts.line(w.waiver_id, 100), "expires": w.expires.isoformat()},
            )
        ]
    return om.Result(
        rule_id=_rule_id(item, texts),
        rule_index=rule_index,
        level=item.level,
        message=om.Message(text=_text.clip_escaped(message, _MAX_MESSAGE)),
        locations=[om.Location(physical_location=physical)],
        partial_fingerprints={"primaryLocationLineHash": fingerprint},
        suppressions=suppressions,
        properties=properties,
    )


# --- help -----------------------------------------------------------------------------------------------


def _cvss(finding: Finding | None, texts: _Texts) -> str:
    if finding is None:
        return ""
    parts = []
    for c in finding.cvss:
        if c.score is None and not c.vector:
            continue
        score = f" {c.score:.1f}" if c.score is not None else ""
        parts.append(f"{texts.line(c.source, 30)} v{c.version}{score}")
    return joined(parts, 3)


@dataclass(frozen=True)
class _About:
    """What a rule's help text and help Markdown both say besides its rows."""

    url: str | None
    """The advisory's link."""
    cvss: str
    """The first finding's CVSS scores in words (`_cvss`)."""
    policy: Any
    """The policy rule that caught the first result, or None."""


def _help_rows(group: Sequence[Item], budget: _Budget) -> tuple[list[Item], int]:
    return list(group[: budget.help_rows]), max(0, len(group) - budget.help_rows)


def _help_text(
    rule_id: str, group: Sequence[Item], image: ImageDecision, texts: _Texts, budget: _Budget, about: _About
) -> str:
    first = group[0]
    lines = [
        f"{texts.line(rule_id, 200)} ({kind_word(first.finding, first.scope)}) in image "
        f"{texts.line(image.name, 300)}."
    ]
    rows, more = _help_rows(group, budget)
    for item in rows:
        finding = item.finding
        what = f"Package {texts.line(item.package, 200)} {texts.line(item.version, 100)}".rstrip()
        if finding is None or finding.package is None:
            what = f"Found in {texts.line(item.where, 200)}"
        fix = _fix(finding, texts)
        lines.append(
            f"- {what}: {item.severity.value}" + (f", {fix}" if fix else "") + f". {texts.decided(item)}."
        )
    if more:
        lines.append(f"- and {more} more in this image")
    if about.cvss:
        lines.append(f"CVSS: {about.cvss}.")
    if about.url:
        lines.append(f"Advisory: {about.url}")
    policy = about.policy
    if policy is not None and policy.help:
        lines.append(texts.line(policy.help, budget.text))
    return "\n".join(lines)


def _help_markdown(
    rule_id: str, group: Sequence[Item], image: ImageDecision, texts: _Texts, budget: _Budget, about: _About
) -> str:
    md = texts.md
    first = group[0]
    url = about.url
    heading = f"[{md(rule_id)}]({url})" if url else f"**{md(rule_id, 200)}**"
    lines = [f"{heading} ({kind_word(first.finding, first.scope)}) in image **{md(image.name, 300)}**", ""]
    if first.finding is not None and first.finding.title:
        lines += [md(first.finding.title, budget.text), ""]
    lines += ["| Package | Installed | Fixed | Severity | Decision |", "| --- | --- | --- | --- | --- |"]
    rows, more = _help_rows(group, budget)
    for item in rows:
        finding = item.finding
        package = md(item.package or item.where, 200)
        fixed = (
            md(joined(finding.fixed_versions), 200)
            if finding is not None and finding.fixed_versions
            else _DASH
        )
        lines.append(
            f"| {package} | {md(item.version, 100) or _DASH} | {fixed} | {item.severity.value} | "
            f"{md(texts.decided(item), 400)} |"
        )
    if more:
        lines.append(f"| and {more} more in this image | | | | |")
    lines.append("")
    if about.cvss:
        lines += [f"CVSS: {md(about.cvss)}", ""]
    policy = about.policy
    if policy is not None and policy.help:
        lines += [md(policy.help, budget.text), ""]
    return "\n".join(lines).rstrip() + "\n"


# --- serializer -----------------------------------------------------------------------------------------


_SCALARS = frozenset({str, int, float, bool})
"""Leaves the serializer writes as they are, without a call per string (most of a SARIF file's values)."""


class _Serializer:
    """sarif-om objects as JSON-ready values: fields under their SARIF names, None and defaults left out.

    Each class's fields are looked up once per file. Dicts (property bags, fingerprints) are the gate's own
    JSON values and go to the encoder as they are; lists are walked, as they hold sarif-om objects.
    """

    def __init__(self) -> None:
        self._fields: dict[type, dict[str, tuple[str, Any]] | None] = {}  # None: not an attrs class

    def value(self, value: Any) -> Any:
        kind = type(value)
        if kind is list or kind is tuple:
            return [self.value(item) for item in value]
        if kind in self._fields:
            fields = self._fields[kind]
        else:
            fields = self._fields[kind] = self._describe(kind) if attr.has(kind) else None
        if fields is None:
            return value
        out: dict[str, Any] = {}
        # attrs' __init__ sets every field in declaration order: the object's dict is its fields in order.
        for name, item in vars(value).items():
            if item is not None:
                prop, default = fields[name]
                if default is attr.NOTHING or item != default:
                    out[prop] = item if type(item) in _SCALARS else self.value(item)
        return out

    @staticmethod
    def _describe(cls: type) -> dict[str, tuple[str, Any]]:
        """The SARIF property and the default to leave out (or attr.NOTHING) of each attribute of `cls`."""
        described = {}
        for field in attr.fields(cls):
            default = field.default
            if isinstance(default, attr.Factory):  # type: ignore[arg-type]
                default = default.factory()
            if field.name in _KEEP_DEFAULTS or default is None:
                default = attr.NOTHING  # a None default: None is left out already
            described[field.name] = (field.metadata.get("schema_property_name", field.name), default)
        return described
