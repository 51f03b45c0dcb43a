"""A differential of every output of one `gate check` run against its own decision record: the log, the summary
and comment, JUnit, SARIF, both GitLab reports, `gate outputs github|gitlab` and the exit code must give the
record's verdict, counts, failing (rule, ID, package, version) and waived (ID, package, version, waiver).

`disagreements(folder, code)` reads the files `run(...)` wrote and returns what disagrees, one line each.
"""

from __future__ import annotations

import html
import io
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from gate.cli import main

OUTPUTS = {
    "--json": "d.json",
    "--summary": "s.md",
    "--comment": "c.md",
    "--junit": "j.xml",
    "--sarif": "g.sarif",
    "--gitlab-report": "gl.json",
    "--codequality": "cq.json",
}
_DASH = "\u2013"
"""What a table cell holds for no value."""
CHECK_RULES = {"waiver-expired", "waiver-expiring", "waiver-unused", "stale-report", "unsupported-os"}
Key = tuple[str, str | None, str | None, str | None]
"""(rule, ID, package, version) of a failing violation; (waiver, ID, package, version) of a waived finding."""


def run(reports: Sequence[Path], args: Sequence[str], folder: Path, today: date) -> int:
    """`gate check reports *args` writing every output into `folder`, then `gate outputs github|gitlab`; the
    exit code of `gate check`."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [item for flag, name in OUTPUTS.items() for item in (flag, str(folder / name))]
    log = io.StringIO()
    code = main(
        ["check", *map(str, reports), *args, *files],
        stdout=log,
        stderr=io.StringIO(),
        env={"GITHUB_ACTIONS": "true"},  # the log ends with the annotations
        today=today,
    )
    (folder / "log.txt").write_text(log.getvalue(), encoding="utf-8")
    if code == 2:
        return code
    for platform, name in (("github", "github.txt"), ("gitlab", "gitlab.env")):
        done = main(
            ["outputs", platform, "--decision", str(folder / "d.json"), "--output", str(folder / name)],
            stdout=io.StringIO(),
            stderr=io.StringIO(),
            env={},
        )
        assert done == 0, platform
    return code


def _plain(cell: str) -> str:
    """A Markdown table cell as text: link text, no escapes, no `(KEV)` mark."""
    cell = cell.strip()
    link = re.fullmatch(r"\[(.*?)\]\(.*\)( \(KEV\))?", cell)
    if link:
        cell = link[1]
    cell = re.sub(r" \(KEV\)$", "", cell)
    # `~` is followed by a zero-width space (no strike-through from `~~`): the text is without it.
    return html.unescape(re.sub(r"\\(.)", r"\1", cell)).replace("\u200b", "")


def _cells(line: str) -> list[str]:
    return [_plain(c) for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


class Record:
    """What the decision record says."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.verdict: str = data["verdict"]
        self.counts: dict[str, Any] = data["counts"]
        self.images: list[dict[str, Any]] = data["images"]
        self.failing: Counter[Key] = Counter(
            (v["rule"], v["id"], v["package"], v["version"])
            for v in data["violations"]
            if v["action"] == "fail"
        )
        self.warning: Counter[Key] = Counter(
            (v["rule"], v["id"], v["package"], v["version"])
            for v in data["violations"]
            if v["action"] == "warn"
        )
        self.waived: Counter[Key] = Counter(
            (w["waiver"], w["id"], w["package"], w["version"]) for w in data["waived"]
        )

    def image_failing(self, image: dict[str, Any]) -> Counter[Key]:
        out: Counter[Key] = Counter()
        for v in image["violations"]:
            if v["action"] != "fail":
                continue
            f = image["outcomes"][v["outcome"]]["finding"] if v.get("outcome") is not None else None
            pkg = f["package"] if f else None
            out[(v["rule"], v["id"], pkg["name"] if pkg else None, pkg["version"] if pkg else None)] += 1
        return out


def disagreements(folder: Path, code: int) -> list[str]:
    """Every way the outputs in `folder` disagree with the decision record `d.json` there."""
    rec = Record(json.loads((folder / "d.json").read_text(encoding="utf-8")))
    out: list[str] = []
    counts = rec.counts
    fails = sum(1 for v in rec.data["violations"] if v["action"] == "fail")
    warns = sum(1 for v in rec.data["violations"] if v["action"] == "warn")
    if (fails, warns) != (counts["failed"], counts["warned"]):
        out.append(f"record: counts {counts['failed']}/{counts['warned']}, violations {fails}/{warns}")
    expected_code = 1 if rec.verdict == "fail" else 0
    if code != expected_code:
        out.append(f"exit code {code}, verdict {rec.verdict}")
    waived_images = sum(len(i["waived"]) for i in rec.images)
    if waived_images != counts["waived"] or len(rec.data["waived"]) != counts["waived"]:
        out.append(f"record: counts.waived {counts['waived']}, images {waived_images}")
    suppressed = sum(len(i["suppressed_findings"]) for i in rec.images)
    if suppressed != counts["suppressed"]:
        out.append(f"record: counts.suppressed {counts['suppressed']}, images {suppressed}")
    out += [f"outputs: {d}" for d in _outputs(folder, rec)]
    out += [f"log: {d}" for d in _log(folder, rec)]
    for name in ("s.md", "c.md"):
        out += [f"{name}: {d}" for d in _markdown((folder / name).read_text(encoding="utf-8"), rec)]
    out += [f"junit: {d}" for d in _junit(folder, rec)]
    out += [f"sarif: {d}" for d in _sarif(folder, rec)]
    out += [f"gitlab: {d}" for d in _gitlab(folder, rec)]
    out += [f"codequality: {d}" for d in _codequality(folder, rec)]
    return out


def _outputs(folder: Path, rec: Record) -> list[str]:
    github = (folder / "github.txt").read_text(encoding="utf-8")
    values = {
        name: value for name, _, value in re.findall(r"^([\w-]+)<<(\S+)\n(.*?)\n\2$", github, re.M | re.S)
    }
    env = dict(
        line.split("=", 1) for line in (folder / "gitlab.env").read_text(encoding="utf-8").splitlines()
    )
    want = (rec.verdict, str(rec.counts["failed"]), str(rec.counts["warned"]))
    out = []
    got = (values.get("verdict"), values.get("failed-count"), values.get("warned-count"))
    if got != want:
        out.append(f"github {got} != {want}")
    got = (env.get("GATE_VERDICT"), env.get("GATE_FAILED_COUNT"), env.get("GATE_WARNED_COUNT"))
    if got != want:
        out.append(f"gitlab {got} != {want}")
    return out


def _log(folder: Path, rec: Record) -> list[str]:
    text = (folder / "log.txt").read_text(encoding="utf-8")
    out = []
    head = re.match(r"gate: (\w+): (\d+) failing, (\d+) warnings? in (\d+) images?", text)
    if head is None:
        return [f"no headline: {text[:200]!r}"]
    got = (head[1].lower(), int(head[2]), int(head[3]), int(head[4]))
    want = (rec.verdict, rec.counts["failed"], rec.counts["warned"], len(rec.images))
    if got != want:
        out.append(f"headline {got} != {want}")
    errors = len(re.findall(r"^::error ", text, re.M))
    warnings = len(re.findall(r"^::warning ", text, re.M))
    more = re.search(r"^::notice title=container-gate::(\d+) more", text, re.M)
    failed, warned = rec.counts["failed"], rec.counts["warned"]
    want_more = max(0, failed - 10) + max(0, warned - 10)
    if (errors, warnings, int(more[1]) if more else 0) != (min(failed, 10), min(warned, 10), want_more):
        out.append(
            f"annotations {errors} errors, {warnings} warnings, {more[1] if more else 0} more != "
            f"{failed}, {warned}"
        )
    waived = sum(int(n) for n in re.findall(r"^  findings: .*?(\d+) waived", text, re.M))
    if waived != rec.counts["waived"]:
        out.append(f"waived {waived} != {rec.counts['waived']}")
    blocks = re.split(r"\n\n", text.split("\n::")[0].rstrip("\n"))[1:]
    if len(blocks) != len(rec.images):
        out.append(f"{len(blocks)} image blocks, {len(rec.images)} images")
    for block, image in zip(blocks, rec.images, strict=False):
        verdict = re.match(r".*: (PASS|WARN|FAIL)(?: \(.*\))?$", block.splitlines()[0])
        if verdict is None or verdict[1].lower() != image["verdict"]:
            out.append(f"{image['name']}: line {block.splitlines()[0]!r}, verdict {image['verdict']}")
        for action, mark in (("fail", "FAIL"), ("warn", "WARN")):
            named = Counter(re.findall(rf"^  {mark} (\S+(?: \([^)]*\))?): ", block, re.M))
            if named != _rule_names(image, action):
                out.append(
                    f"{image['name']}: {mark} rules {dict(named)} != {dict(_rule_names(image, action))}"
                )
        states = Counter(
            {"expired": "expired", "expires": "expiring", "matched": "unused", "did": "unused"}[m]
            for m in re.findall(r"^  WAIVER \S+ (expired|expires|matched|did) ", block, re.M)
        )
        waivers = Counter(w["state"] for w in image["waivers"] if w["state"] != "used")
        if states != waivers:
            out.append(f"{image['name']}: WAIVER lines {dict(states)} != {dict(waivers)}")
    # Failing finding lines per rule: listed plus "... and N more" is the record's count.
    listed: Counter[str] = Counter()
    rule = None
    for line in text.splitlines():
        m = re.match(r"  (FAIL|WARN) (\S+): ", line)
        if m:
            rule = m[2] if m[1] == "FAIL" else None
            continue
        if rule and line.startswith("      "):
            more = re.match(r"      \.\.\. and (\d+) more", line)
            listed[rule] += int(more[1]) if more else 1
        elif not line.startswith("      "):
            rule = None
    want_rules: Counter[str] = Counter()
    for image in rec.images:
        for v in image["violations"]:
            if v["action"] == "fail" and v.get("outcome") is not None:
                want_rules[v["rule"]] += 1
    # Report-subject rules list each report's line too; only finding rules are compared.
    listed = Counter({r: n for r, n in listed.items() if r in want_rules})
    if listed != want_rules:
        out.append(f"failing lines per rule {dict(listed)} != {dict(want_rules)}")
    return out


def _markdown(text: str, rec: Record) -> list[str]:
    out = []
    head = re.search(r"^## \S+ container-gate: (\w+)$", text, re.M)
    if head is None or head[1].lower() != rec.verdict:
        out.append(f"verdict {head[1] if head else None} != {rec.verdict}")
    line = re.search(r"^(\*\*.*?\*\* under \d+ rules?|No rule failed), (.*)\. Policy ", text, re.M)
    if line is None:
        return [*out, "no headline"]
    failing = re.findall(r"(\d+) (?:failing|expired|expiring|unused|stale|unsupported)", line[1])
    if sum(map(int, failing)) != rec.counts["failed"]:
        out.append(f"headline failing {line[1]!r} != {rec.counts['failed']}")
    warned = re.search(r"(\d+) warnings?", line[2])
    if warned is None or int(warned[1]) != rec.counts["warned"]:
        out.append(f"headline warnings {line[2]!r} != {rec.counts['warned']}")
    waived = re.search(r"(\d+) waived", line[2])
    if (int(waived[1]) if waived else 0) != rec.counts["waived"]:
        out.append(f"headline waived {line[2]!r} != {rec.counts['waived']}")
    images = re.search(r"in (\d+) images?$", line[2])
    if images is None or int(images[1]) != len(rec.images):
        out.append(f"headline images {line[2]!r} != {len(rec.images)}")
    findings = re.search(r"(\d+) findings? in", line[2])
    total = sum(len(i["outcomes"]) for i in rec.images)
    if findings is None or int(findings[1]) != total:
        out.append(f"headline findings {line[2]!r} != {total}")
    cut = "left out to keep this text" in text or "more images are not shown" in text
    if "more images are not shown" not in text:
        out += _markdown_images(text, rec, cut=cut)
    severities: Counter[str] = Counter()
    tables = re.findall(r"^\| Critical \| High \|.*\n\| --- .*\n(\|.*\|)$", text, re.M)
    for row in tables:
        cells = _cells(row)
        for name, cell in zip(
            ("CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN", "waived", "suppressed"),
            cells,
            strict=False,
        ):
            severities[name] += int(cell.replace(",", ""))
    if len(tables) == len(rec.images):
        want_sev = Counter(
            {**rec.counts["severity"], "waived": rec.counts["waived"], "suppressed": rec.counts["suppressed"]}
        )
        if +severities != +want_sev:
            out.append(f"severity tables {dict(+severities)} != {dict(+want_sev)}")
    elif not cut:
        out.append(f"{len(tables)} severity tables, {len(rec.images)} images")
    # The waivers table: state and matched per waiver.
    states: Counter[tuple[str, str, str]] = Counter()
    for table in re.findall(r"^\| Waiver \| State \|.*\n\| --- .*\n((?:\|.*\|\n)*)", text, re.M):
        for row in table.splitlines():
            cells = _cells(row)
            states[(cells[0], cells[1].split()[0], cells[3])] += 1
    want_states = Counter(
        (
            w["id"],
            {"expiring": "expires", "expired": "expired"}.get(w["state"], w["state"]),
            str(w["matched"]),
        )
        for image in rec.images
        for w in image["waivers"]
    )
    if not cut and states != want_states:
        out.append(f"waiver table {dict(states - want_states)} here, {dict(want_states - states)} in record")
    # Failing rows: each "#### ❌ Failed" section's table rows, as (rule, ID, package, version).
    rows: Counter[Key] = Counter()
    dropped = 0
    waived_rows: Counter[Key] = Counter()
    for section in re.split(r"^(?=#{3,4} )", text, flags=re.M):
        if section.startswith("#### ❌ Failed: "):
            rule = re.search(r"^Rule (\S+?): ", section, re.M)
            if rule is None:
                out.append(f"failed section without rule: {section[:100]!r}")
                continue
            for row in re.findall(r"^\|(?! ID \|| --- ).*\|$", section, re.M):
                cells = _cells(row)
                version = cells[2].split(" → ")[0]
                rows[(rule[1], cells[0], cells[1], version if version != _DASH else None)] += 1
            more = re.search(r"… and (\d+) more", section)
            dropped += int(more[1]) if more else 0
        if section.startswith("#### Waivers"):
            table = section.split("waived finding", 1)[1] if "waived finding" in section else ""
            for row in re.findall(r"^\|(?! ID \|| --- ).*\|$", table, re.M):
                cells = _cells(row)
                waived_rows[(cells[4], cells[0], cells[1], cells[2])] += 1
    want: Counter[Key] = Counter()
    for image in rec.images:
        want += Counter({k: n for k, n in rec.image_failing(image).items() if k[2] is not None})
    # A finding without a package (a secret) shows its target: compare by (rule, ID) there.
    if not cut:
        if _loose(rows) != _loose(want):
            out.append(
                f"failing rows differ: only here {_loose(rows) - _loose(want)}, only in record "
                f"{_loose(want) - _loose(rows)}"
            )
        if waived_rows != rec.waived:
            out.append(
                f"waived rows differ: only here {waived_rows - rec.waived}, only in record "
                f"{rec.waived - waived_rows}"
            )
    else:
        if _loose(rows) - _loose(want):
            out.append(f"cut: rows not in the record {_loose(rows) - _loose(want)}")
        if sum(rows.values()) + dropped < sum(want.values()) and "more images are not shown" not in text:
            out.append(f"cut: {sum(rows.values())} rows + {dropped} said dropped < {sum(want.values())}")
    return out


def _rule_names(image: dict[str, Any], action: str) -> Counter[str]:
    """The names the outputs give the triggered rules of `action` (`rule (check)` for an image check's)."""
    return Counter(
        r["id"]
        if r["subject"] in ("findings", "waivers", "reports") or r["subject"] == r["id"]
        else f"{r['id']} ({r['subject']})"
        for r in image["rules"]
        if r["triggered"] and r["action"] == action
    )


def _markdown_images(text: str, rec: Record, *, cut: bool) -> list[str]:
    """Per image: its verdict, the rules it fails and warns, and (uncut) each failing rule's rows."""
    out = []
    parts = re.split(r"^(?=### )", text, flags=re.M)[1:]
    if len(parts) != len(rec.images):
        return [f"{len(parts)} image sections, {len(rec.images)} images"]
    for part, image in zip(parts, rec.images, strict=True):
        head = re.match(r"### \S+ .*: (\w+)$", part, re.M)
        if head is None or head[1].lower() != image["verdict"]:
            out.append(f"{image['name']}: heading {part.splitlines()[0]!r}, verdict {image['verdict']}")
        sections = re.split(r"^(?=#### )", part, flags=re.M)
        failing = Counter(
            re.findall(
                r"^Rule (\S+(?: \([^)]*\))?): ",
                "".join(x for x in sections if x.startswith("#### ❌ Failed: ")),
                re.M,
            )
        )
        if failing != _rule_names(image, "fail"):
            out.append(
                f"{image['name']}: failing rules {dict(failing)} != {dict(_rule_names(image, 'fail'))}"
            )
        warning = Counter(
            re.findall(
                r"^\*\*.*?\*\*: Rule (\S+(?: \([^)]*\))?): ",
                "".join(x for x in sections if x.startswith("#### ⚠️ Warnings")),
                re.M,
            )
        )
        if warning != _rule_names(image, "warn"):
            out.append(
                f"{image['name']}: warning rules {dict(warning)} != {dict(_rule_names(image, 'warn'))}"
            )
        if cut:
            continue
        rows: Counter[Key] = Counter()
        for section in sections:
            if not section.startswith("#### ❌ Failed: "):
                continue
            rule = re.search(r"^Rule (\S+?): ", section, re.M)
            assert rule is not None
            for row in re.findall(r"^\|(?! ID \|| --- ).*\|$", section, re.M):
                cells = _cells(row)
                version = cells[2].split(" → ")[0]
                rows[(rule[1], cells[0], cells[1], version if version not in (_DASH, "") else None)] += 1
        want = Counter({k: n for k, n in rec.image_failing(image).items() if k[2] is not None})
        want = Counter(
            {
                (r, i, _clean(p) if len(p) <= 120 else None, _clean(v) if v and len(v) <= 60 else None): n
                for (r, i, p, v), n in want.items()
                if p is not None
            }
        )
        rows = Counter({k: n for k, n in rows.items() if k[2] is not None and k[2][-1:] != "…"})
        if +(want - rows) and any(k[2] is not None for k in want - rows):
            out.append(
                f"{image['name']}: failing rows missing {dict(want - rows)}; extra {dict(rows - want)}"
            )
    return out


def _loose(keys: Counter[Key]) -> Counter[tuple[str, str | None]]:
    out: Counter[tuple[str, str | None]] = Counter()
    for (rule, ident, _package, _version), n in keys.items():
        out[(rule, ident)] += n
    return out


def _junit(folder: Path, rec: Record) -> list[str]:
    root = ET.fromstring((folder / "j.xml").read_bytes())  # noqa: S314 (our own output)
    out = []
    suites = root.findall("testsuite")
    if len(suites) != len(rec.images):
        out.append(f"{len(suites)} suites, {len(rec.images)} images")
    failures = skipped = 0
    for suite, image in zip(suites, rec.images, strict=False):
        verdict = {p.get("name"): p.get("value") for p in suite.iter("property")}.get("verdict")
        if verdict != image["verdict"]:
            out.append(f"suite {suite.get('name')} verdict {verdict} != {image['verdict']}")
        failed_cases = [c for c in suite.findall("testcase") if c.find("failure") is not None]
        skipped_cases = [c for c in suite.findall("testcase") if c.find("skipped") is not None]
        warned = Counter(
            str(c.get("name")).split(": ")[0]
            for c in suite.findall("testcase")
            if (c.findtext("system-out") or "").startswith("WARNING:")
        )
        if warned != _rule_names(image, "warn"):
            out.append(f"warning cases {dict(warned)} != {dict(_rule_names(image, 'warn'))}")
        if int(suite.get("failures", "-1")) != len(failed_cases):
            out.append(f"suite failures={suite.get('failures')}, {len(failed_cases)} failing cases")
        if int(suite.get("skipped", "-1")) != len(skipped_cases):
            out.append(f"suite skipped={suite.get('skipped')}, {len(skipped_cases)} skipped cases")
        failures += len(failed_cases)
        skipped += len(skipped_cases)
        rules_failed = {r["id"] for r in image["rules"] if r["triggered"] and r["action"] == "fail"}
        named = {str(c.get("name")).split(":")[0].split(" (")[0] for c in failed_cases}
        if named != rules_failed:  # an image rule's case is `rule (check): title`
            out.append(f"failing cases {sorted(named)} != failing rules {sorted(rules_failed)}")
        skips = Counter(
            re.sub(r"^waived by (.*?): .*", r"\1", str(c.find("skipped").get("message")))  # type: ignore[union-attr]
            for c in skipped_cases
        )
        if skips != Counter(w["waiver"] for w in image["waived"]):
            out.append(
                f"skipped by waiver {dict(skips)} != {dict(Counter(w['waiver'] for w in image['waived']))}"
            )
        if len(skipped_cases) != len(image["waived"]):
            out.append(f"{len(skipped_cases)} skipped, {len(image['waived'])} waived")
        for case in failed_cases:
            rule = str(case.get("name")).split(":")[0]
            failure = case.find("failure")
            assert failure is not None
            body = failure.text or ""
            lines = [ln for ln in body.splitlines() if re.match(r"\S+ in .* \[[A-Z]+\]: ", ln)]
            more = re.search(r"^\.\.\. and (\d+) more", body, re.M)
            want = sum(
                1
                for v in image["violations"]
                if v["rule"] == rule and v["action"] == "fail" and v.get("outcome") is not None
            )
            if " (" not in rule and len(lines) + (int(more[1]) if more else 0) != want:
                out.append(f"{rule}: {len(lines)} listed (+{more[1] if more else 0}) != {want}")
    if (int(root.get("failures", "-1")), int(root.get("skipped", "-1"))) != (failures, skipped):
        out.append(
            f"testsuites failures/skipped {root.get('failures')}/{root.get('skipped')} != {failures}/{skipped}"
        )
    return out


def _sarif(folder: Path, rec: Record) -> list[str]:
    runs = json.loads((folder / "g.sarif").read_text(encoding="utf-8"))["runs"]
    out = []
    if len(runs) != len(rec.images):
        out.append(f"{len(runs)} runs, {len(rec.images)} images")
    for run_, image in zip(runs, rec.images, strict=False):
        props = run_["properties"]
        if props["verdict"] != image["verdict"]:
            out.append(f"run verdict {props['verdict']} != {image['verdict']}")
        results = run_["results"]
        if props["resultsIncluded"] != len(results):
            out.append(f"resultsIncluded {props['resultsIncluded']} != {len(results)}")
        truncated = bool(props.get("truncated"))
        errors: Counter[tuple[str, str | None, str | None]] = Counter()
        actions: Counter[str] = Counter()
        for r in results:
            p = r.get("properties", {})
            actions[p.get("action", "")] += 1
            if p.get("action") == "fail" and r.get("level") != "error":
                out.append(f"{r['ruleId']}: action fail at level {r.get('level')}")
            if p.get("action") in ("waived", "suppressed") and not r.get("suppressions"):
                out.append(f"{r['ruleId']}: {p.get('action')} without a suppression")
            if p.get("action") == "fail":
                errors[(r["ruleId"], p.get("package"), p.get("installedVersion"))] += 1
        decided: dict[tuple[str, str | None, str | None], set[str]] = {}
        # The strongest of the outcome's action and the built-in rules' violations on it (missing-intel, ...).
        flagged: dict[int, set[str]] = {}
        for v in image["violations"]:
            if v.get("outcome") is not None:
                flagged.setdefault(v["outcome"], set()).add(v["action"])
        for n, o in enumerate(image["outcomes"]):
            actions_ = {o["action"] or "", *flagged.get(n, ())}
            what = "waived" if o["waiver"] else next(a for a in ("fail", "warn", "info", "") if a in actions_)
            decided.setdefault(_key(o["finding"]), set()).add(what)
        for f in image["suppressed_findings"]:
            decided.setdefault(_key(f), set()).add("suppressed")
        for r in results:
            p = r.get("properties", {})
            if "package" not in p or truncated:
                continue
            k = (r["ruleId"], p.get("package"), p.get("installedVersion"))
            if k in decided and len(decided[k]) == 1 and {p.get("action", "")} != decided[k]:
                out.append(f"{k}: SARIF action {p.get('action')}, record {decided[k]}")
        want: Counter[tuple[str, str | None, str | None]] = Counter()
        for v in image["violations"]:
            if v["action"] != "fail":
                continue
            f = image["outcomes"][v["outcome"]]["finding"] if v.get("outcome") is not None else None
            pkg = f["package"] if f else None
            # A policy check's result (an expired waiver, a stale report) is of its rule, a finding's of its ID.
            ident = v["rule"] if f is None and v["rule"] in CHECK_RULES else v["id"]
            want[(ident, _clean(pkg["name"]) if pkg else None, _clean(pkg["version"]) if pkg else None)] = 1
        if not truncated:
            if set(errors) != set(want):
                out.append(
                    f"failing results differ: only here {set(errors) - set(want)}, "
                    f"only in record {set(want) - set(errors)}"
                )
            # One result per (ID, package, version): copies of a package at several paths are one result.
            waived = {_key(image["outcomes"][w["outcome"]]["finding"]) for w in image["waived"]}
            by_waiver = {
                (
                    r["ruleId"],
                    r["properties"].get("package"),
                    r["properties"].get("installedVersion"),
                    r["suppressions"][0].get("properties", {}).get("waiver"),
                )
                for r in results
                if r.get("properties", {}).get("action") == "waived"
            }
            want_waivers = {
                (*_key(image["outcomes"][w["outcome"]]["finding"]), w["waiver"]) for w in image["waived"]
            }
            if by_waiver != want_waivers:
                out.append(
                    f"waived results {by_waiver - want_waivers} here, {want_waivers - by_waiver} in record"
                )
            if actions["waived"] != len(waived):
                out.append(f"{actions['waived']} waived results, {len(waived)} waived (ID, package, version)")
            suppressed = {_key(f) for f in image["suppressed_findings"]}
            if actions["suppressed"] != len(suppressed):
                out.append(f"{actions['suppressed']} suppressed results, {len(suppressed)} suppressed")
        else:
            if props["resultsTotal"] <= props["resultsIncluded"]:
                out.append(
                    f"truncated but total {props['resultsTotal']} <= included {props['resultsIncluded']}"
                )
            for name in ("s.md", "c.md"):
                if "code scanning stores at most" not in (folder / name).read_text(encoding="utf-8"):
                    out.append(f"results cut, {name} does not say so")
    return out


def _key(f: dict[str, Any]) -> tuple[str, str | None, str | None]:
    pkg = f["package"]
    return (f["id"], pkg["name"] if pkg else f["target"], pkg["version"] if pkg else None)


def _clean(text: str) -> str:
    """Report text as the SARIF file holds it: control characters left out."""
    return re.sub(r"[\x00-\x1f\x7f]", "", text)


def _gitlab(folder: Path, rec: Record) -> list[str]:
    vulns = json.loads((folder / "gl.json").read_text(encoding="utf-8"))["vulnerabilities"]
    also = sum(v["description"].count("\nAlso ") + v["description"].startswith("Also ") for v in vulns)
    findings = {
        (
            image["name"],
            f["package"]["name"] if f["package"] else None,
            f["package"]["version"] if f["package"] else None,
            f["id"],
        )
        for image in rec.images
        for f in (o["finding"] for o in image["outcomes"])
        if f["kind"] == "vulnerability"
    }
    out = []
    if len(vulns) + also != len(findings):
        out.append(f"{len(vulns)} vulnerabilities + {also} folded != {len(findings)} vulnerability findings")
    for w in rec.data["waived"]:
        if not any(w["id"] in v["description"] or w["id"] == v["name"] for v in vulns):
            continue
        if not any(
            w["waiver"] in v["description"] and "waive" in v["description"].lower()
            for v in vulns
            if w["id"] == v["name"] or w["id"] in v["description"]
        ):
            out.append(f"waived {w['id']} in {w['package']}: no description names waiver {w['waiver']}")
    named = {i["value"] for v in vulns for i in v["identifiers"]}
    text = " ".join(v["description"] for v in vulns)
    for v in rec.data["violations"]:
        if (
            v["action"] == "fail"
            and v["kind"] == "vulnerability"
            and v["id"] not in named
            and v["id"] not in text
        ):
            out.append(f"failing {v['id']} missing")
    return out


def _codequality(folder: Path, rec: Record) -> list[str]:
    entries = json.loads((folder / "cq.json").read_text(encoding="utf-8"))
    out = []
    for e in entries:
        if "(fails rule " in e["description"] and e["severity"] not in ("major", "critical", "blocker"):
            out.append(f"failing entry at {e['severity']}: {e['description'][:100]}")
        if "(warns rule " in e["description"] and e["severity"] == "info":
            out.append(f"warning entry at info: {e['description'][:100]}")
    got = Counter(e["check_name"] for e in entries)
    want = Counter(v["rule"] for v in rec.data["violations"] if v["action"] in ("fail", "warn"))
    if got != want:
        out.append(f"entries per rule {dict(got - want)} extra, {dict(want - got)} missing")
    return out
