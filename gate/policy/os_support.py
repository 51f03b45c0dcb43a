"""The built-in `unsupported-os` rule: the image's OS gets no more security fixes, or its packages were not scanned.

Either way a clean report is not a clean image: the scanner finds no new vulnerabilities in a release nobody
fixes or tracks any more, and none at all in packages it did not check. Only what the reports say is used:
Trivy's `Metadata.OS.EOSL` and whether it wrote a result for the OS packages; Grype's `distro-eol`,
`distro-unknown` and `distro-disabled` alerts. With the rule off (the default), the same findings are notes.
"""

from __future__ import annotations

from collections.abc import Sequence

from gate.model import ReportOs, Severity
from gate.policy.decision import (
    OS_END_OF_LIFE,
    OS_NOT_SCANNED,
    UNSUPPORTED_OS_RULE,
    Action,
    RuleResult,
    Violation,
)
from gate.words import quantity

__all__ = ["os_result"]

_EOL_SIGNAL = {"trivy": "Trivy: EOSL", "grype": "Grype: distro-eol"}


def os_result(
    reports: Sequence[ReportOs], action: Action, *, several: bool
) -> tuple[RuleResult | None, list[Violation], list[str]]:
    """The `unsupported-os` result, its violations and notes for one image's reports.

    With `action` off there is no result and each problem is a note. `several` says the image was decided on
    more than one report: each message then names its report.
    """
    problems: list[tuple[str, str]] = []  # (violation id, message)
    unknown: list[str] = []
    for report in reports:
        where = f"{report.source}: " if several else ""
        if report.end_of_life:
            problems.append((OS_END_OF_LIFE, where + _end_of_life(report)))
        elif report.end_of_life is None:
            unknown.append(
                f"unsupported_os: end of life not checked for {report.source}: the Grype report does not say "
                f"whether {report.name} still gets security fixes (Grype writes `distro-eol` alerts when "
                "alerts.enable-eol-distro-warnings is on)"
            )
        if report.packages_scanned is False and not any(r.packages_scanned for r in reports):
            problems.append((OS_NOT_SCANNED, where + _not_scanned(report)))
    if action is Action.OFF:
        return None, [], [message for _, message in problems]
    result = RuleResult(
        rule_id=UNSUPPORTED_OS_RULE,
        title="The image's OS is supported and scanned",
        help="Move to a base image whose OS release still gets security fixes and that the scanner supports "
        "(and do not leave its packages out with --scanners or --pkg-types).",
        action=action,
        subject="reports",
        matched=len(problems),
        triggered=bool(problems),
        explanation="; ".join(message for _, message in problems) if problems else _clean(reports),
    )
    if action not in (Action.FAIL, Action.WARN):
        return result, [], unknown
    severity = Severity.HIGH if action is Action.FAIL else Severity.MEDIUM
    violations = [
        Violation(rule_id=UNSUPPORTED_OS_RULE, action=action, id=vid, severity=severity, message=text)
        for vid, text in problems
    ]
    return result, violations, unknown


def _end_of_life(report: ReportOs) -> str:
    return (
        f"{report.name} is past its end of service life ({_EOL_SIGNAL[report.scanner]}): it gets no more security "
        "fixes and its new vulnerabilities may go unreported; move to a supported base image"
    )


def _not_scanned(report: ReportOs) -> str:
    if report.scanner == "trivy":
        return (
            f"Trivy detected {report.name} but wrote no result for its OS packages: they were not scanned (an OS "
            "release Trivy does not support, or --scanners/--pkg-types left them out), so a clean report is not a "
            "clean image"
        )
    return (
        f"Grype did not check {quantity(report.unscanned, 'package')} of {report.name} for vulnerabilities "
        "(distro-unknown or distro-disabled: "
        "a distribution it does not know or has no data for), so a clean report is not a clean image"
    )


def _clean(reports: Sequence[ReportOs]) -> str:
    if not reports:
        return "no report names an operating system (a distroless or scratch image, or not an image)"
    names = ", ".join(dict.fromkeys(r.name for r in reports))
    return f"{names}: no report says it is past its end of life or that its packages went unscanned"
