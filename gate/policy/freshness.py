"""The built-in `stale-report` rule: a report, or the database it was scanned with, older than the policy allows.

A stale report passes a gate it should fail: the vulnerabilities published since it was made are not in it. A
cached or re-used report is how a broken pipeline looks like a clean one, so a report that does not say when
it was made fails the check (every current Trivy and Grype release writes the time), and so does one dated after
the evaluation date, which would never get old. Only Grype says when its vulnerability database was built;
where a report does not, the database age is not checked and a note says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from gate.model import ReportTimes, Severity
from gate.policy._time import utc_day
from gate.policy.decision import DATABASE_AGE, REPORT_AGE, STALE_REPORT_RULE, Action, RuleResult, Violation
from gate.policy.settings import Settings
from gate.words import quantity

__all__ = ["DATABASE_AGE", "REPORT_AGE", "stale_result"]

_TIME_KEY = {"trivy": "CreatedAt", "grype": "descriptor.timestamp"}
_UNDATED_DB = {
    "trivy": "Trivy's JSON never says when its vulnerability database was built",
    "grype": "the report does not say when its vulnerability database was built (no readable descriptor.db.built)",
}


def stale_result(
    times: Sequence[ReportTimes], settings: Settings, today: date
) -> tuple[RuleResult, list[Violation], list[str]] | None:
    """The `stale-report` result, its violations and notes for one image's reports; None when no limit is set
    or the rule is off.

    `times` holds one entry per report of the image. Ages are whole days from the time's UTC date to `today`.
    """
    max_report, max_db = settings.max_report_age_days, settings.max_db_age_days
    if (max_report is None and max_db is None) or settings.stale_report is Action.OFF:
        return None
    problems: list[tuple[str, str]] = []  # (violation id, message)
    notes: list[str] = []
    if max_report is not None:
        if not times:
            problems.append((REPORT_AGE, "no report says when it was made"))
        for t in times:
            if t.created is None:
                problems.append((REPORT_AGE, _undated(t)))
            # A day's grace for clocks; a later date never gets old.
            elif (age := _age(t.created, today)) < -1:
                problems.append(
                    (
                        REPORT_AGE,
                        f"{t.source} is dated {_day(t.created)}, after the evaluation date {today}; a report "
                        "cannot come from the future: check the report and the clock (or --today)",
                    )
                )
            elif age > max_report:
                problems.append(
                    (
                        REPORT_AGE,
                        f"{t.source} was made on {_day(t.created)}, {quantity(age, 'day')} before {today} "
                        f"(at most {max_report})",
                    )
                )
    if max_db is not None:
        for t in times:
            if t.db_built is None:
                notes.append(f"max_db_age_days: not checked for {t.source}: {_UNDATED_DB[t.scanner]}")
            # As for the report: a later date never gets old.
            elif (age := _age(t.db_built, today)) < -1:
                problems.append(
                    (
                        DATABASE_AGE,
                        f"{t.source} was scanned with a vulnerability database dated {_day(t.db_built)}, after "
                        f"the evaluation date {today}; check the report and the clock (or --today)",
                    )
                )
            elif age > max_db:
                problems.append(
                    (
                        DATABASE_AGE,
                        f"{t.source} was scanned with a vulnerability database built on {_day(t.db_built)}, "
                        f"{quantity(age, 'day')} before {today} (at most {max_db})",
                    )
                )
    result = RuleResult(
        rule_id=STALE_REPORT_RULE,
        title="Reports are recent",
        help="Scan again (with an updated vulnerability database): a stale report misses what was published "
        "since it was made. The limits are settings.max_report_age_days and settings.max_db_age_days.",
        action=settings.stale_report,
        subject="reports",
        matched=len(problems),
        triggered=bool(problems),
        explanation="; ".join(message for _, message in problems)
        if problems
        else _limits(max_report, max_db),
    )
    if settings.stale_report not in (Action.FAIL, Action.WARN):
        return result, [], notes
    severity = Severity.HIGH if settings.stale_report is Action.FAIL else Severity.MEDIUM
    violations = [
        Violation(
            rule_id=STALE_REPORT_RULE, action=settings.stale_report, id=vid, severity=severity, message=text
        )
        for vid, text in problems
    ]
    return result, violations, notes


def _undated(t: ReportTimes) -> str:
    key = _TIME_KEY[t.scanner]
    return (
        f"{t.source} does not say when it was made (no readable {key}; older {t.scanner.capitalize()} releases "
        "write none), so the gate cannot tell it from an old one"
    )


def _age(when: datetime, today: date) -> int:
    return (today - utc_day(when)).days


def _day(when: datetime) -> str:
    return utc_day(when).isoformat()


def _limits(max_report: int | None, max_db: int | None) -> str:
    parts = []
    if max_report is not None:
        parts.append(f"every report is at most {quantity(max_report, 'day')} old")
    if max_db is not None:
        parts.append(
            f"every vulnerability database that a report dates is at most {quantity(max_db, 'day')} old"
        )
    return " and ".join(parts)
