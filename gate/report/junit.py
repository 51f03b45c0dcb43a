"""JUnit XML (`--junit`) for GitLab's test report, Jenkins and Azure.

A testsuite per image; a testcase per policy rule, or per image check of a rule that runs several (classname =
the image, which GitLab shows as the suite):
a failing rule fails with its findings, a warning rule passes with the findings in system-out, and each
waived finding is a skipped testcase carrying the waiver's reason. Valid XML 1.0 whatever the reports hold:
characters XML forbids are dropped and ElementTree escapes the rest. Written to stdout in a CI job, no line
is a workflow command: report text has `::` and `##` broken up as in the log (XML escaping keeps them).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from gate.policy.decision import Action, Decision, ImageDecision, RuleResult, Violation
from gate.report import _text
from gate.report._common import image_titles, joined, numbered

__all__ = ["MAX_LINES", "render"]

_IMAGE_CHARS = 500
"""The longest image title (suite name and classname); a longer name is cut before its platform."""
MAX_LINES = 1_000
"""Findings listed per testcase; the rest are counted."""
_NOT_A_CHECK = frozenset({"findings", "waivers", "reports"})
"""The subjects of rule results that are not one image check (`RuleResult.subject`)."""


def render(decision: Decision) -> str:
    """The JUnit XML document as text (UTF-8 declaration, two-space indent, trailing newline)."""
    stamp = f"{decision.today.isoformat()}T00:00:00"
    suites = ET.Element("testsuites", {"name": "container-gate"})
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    names: set[str] = set()
    for image, title in zip(decision.images, image_titles(decision.images, _IMAGE_CHARS), strict=True):
        # Two images of one name (two builds; two architectures when the reports do not say which): GitLab keeps
        # one test of a classname and name.
        name = numbered(_x(title, _IMAGE_CHARS) or "image", names, "{} ({})")
        names.add(name)
        suite = _suite(image, decision, stamp, name)
        suites.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    suites.attrib.update(
        {
            "tests": str(totals["tests"]),
            "failures": str(totals["failures"]),
            "errors": "0",
            "skipped": str(totals["skipped"]),
            "time": "0",
        }
    )
    ET.indent(suites, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _x(text: str, limit: int | None = None) -> str:
    """Report text fit for an XML attribute or element: one line, XML-legal, no workflow command (`::`, `##`),
    at most `limit` characters (plus the spaces that break commands).
    """
    return _text.no_commands(_text.xml(_text.one_line(text, limit)))


def _suite(image: ImageDecision, decision: Decision, stamp: str, name: str) -> ET.Element:
    suite = ET.Element("testsuite", {"name": name, "timestamp": stamp})
    properties = ET.SubElement(suite, "properties")
    for key, value in (
        ("verdict", image.verdict.value),
        ("policy", _x(decision.policy, 500)),
        ("reports", _x(joined(image.sources, 10), 2000)),
        ("scanners", _x(", ".join(image.scanners))),
    ):
        ET.SubElement(properties, "property", {"name": key, "value": value})
    tests = failures = skipped = 0
    used_names: set[str] = set()
    for rule in image.rules:
        case = _rule_case(rule, image, name, used_names)
        suite.append(case)
        tests += 1
        failures += case.find("failure") is not None
    for waived in image.waived:
        f = waived.finding
        where = f" in {_x(f.package.name, 200)} {_x(f.package.version, 100)}".rstrip() if f.package else ""
        case = ET.SubElement(
            suite,
            "testcase",
            {"name": _unique(f"waived: {_x(f.id, 200)}{where}", used_names), "classname": name, "time": "0"},
        )
        reason = f"waived by {_x(waived.waiver_id, 200)}: {_x(waived.reason, 1000)}; expires {waived.expires}"
        ET.SubElement(case, "skipped", {"message": reason})
        tests += 1
        skipped += 1
    suite.attrib.update(
        {"tests": str(tests), "failures": str(failures), "errors": "0", "skipped": str(skipped), "time": "0"}
    )
    return suite


def _unique(name: str, used: set[str]) -> str:
    """`name`, or `name (2)`, `name (3)`, ... so that GitLab (which keeps one testcase per name) shows all."""
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name} ({n})"
    used.add(candidate)
    return candidate


def _rule_case(rule: RuleResult, image: ImageDecision, classname: str, used: set[str]) -> ET.Element:
    title = _x(rule.title, 300)
    rule_id = _x(rule.rule_id, 200)
    name = _x(rule.name, 300)  # with the image check, for a rule that runs several (a case for each)
    label = name if title == rule_id else f"{name}: {title}"
    case = ET.Element("testcase", {"name": _unique(label, used), "classname": classname, "time": "0"})
    hits = [v for v in image.violations if v.rule_id == rule.rule_id]
    if rule.subject not in _NOT_A_CHECK:  # the violation of this case's image check, not of the rule's others
        hits = [v for v in hits if v.finding is None and v.id == rule.subject]
    explanation = _x(rule.explanation, 500)
    if rule.triggered and rule.action is Action.FAIL:
        failure = ET.SubElement(case, "failure", {"message": explanation, "type": rule_id})
        failure.text = _text.no_commands(_lines(hits, rule))
    elif rule.triggered and rule.action is Action.WARN:
        out = ET.SubElement(case, "system-out")
        out.text = _text.no_commands(f"WARNING: {explanation}\n" + _lines(hits, rule))
    elif rule.triggered:
        out = ET.SubElement(case, "system-out")
        out.text = f"{rule.action.value}: {explanation}\n"
    return case


def _lines(hits: list[Violation], rule: RuleResult) -> str:
    lines = []
    for v in hits[:MAX_LINES]:
        f = v.finding
        if f is None:
            lines.append(f"{_x(v.id, 200)}: {_x(v.message, 500)}")
            continue
        where = ""
        if f.package is not None:
            where = f" in {_x(f.package.name, 200)} {_x(f.package.version, 100)}".rstrip()
        elif f.target:
            where = f" in {_x(f.target, 200)}"
        lines.append(f"{_x(v.id, 200)}{where} [{v.severity.value}]: {_x(v.message, 500)}")
    if len(hits) > MAX_LINES:
        lines.append(f"... and {len(hits) - MAX_LINES} more (see the summary or the decision record)")
    if rule.help:
        lines.append(_x(rule.help, 1000))
    return "\n".join(lines) + "\n"
