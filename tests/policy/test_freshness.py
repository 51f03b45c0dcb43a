"""The built-in `stale-report` rule (gate/policy/freshness.py): reports and databases older than the policy allows."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gate.model import ReportTimes, Severity
from gate.policy.decision import STALE_REPORT_RULE, Action
from gate.policy.freshness import DATABASE_AGE, REPORT_AGE, stale_result
from gate.policy.settings import Settings
from tests.conftest import TODAY

NOON = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)


def _times(
    source: str = "r.json", *, created: timedelta | None, built: timedelta | None = None
) -> ReportTimes:
    return ReportTimes(
        source=source,
        scanner="grype",
        created=NOON - created if created is not None else None,
        db_built=NOON - built if built is not None else None,
    )


def test_nothing_is_checked_without_a_limit_or_with_the_rule_off() -> None:
    old = [_times(created=timedelta(days=900))]
    assert stale_result(old, Settings(), TODAY) is None
    assert stale_result(old, Settings(max_report_age_days=1, stale_report=Action.OFF), TODAY) is None


def test_a_report_older_than_the_limit_fails_and_one_at_the_limit_passes() -> None:
    settings = Settings(max_report_age_days=7)
    checked = stale_result([_times("a.json", created=timedelta(days=7))], settings, TODAY)
    assert checked is not None
    result, violations, notes = checked
    assert (result.rule_id, result.subject, result.triggered, violations, notes) == (
        STALE_REPORT_RULE,
        "reports",
        False,
        [],
        [],
    )
    assert result.explanation == "every report is at most 7 days old"
    checked = stale_result(
        [_times("a.json", created=timedelta(days=7)), _times("b.json", created=timedelta(days=8))],
        settings,
        TODAY,
    )
    assert checked is not None
    result, violations, _ = checked
    assert result.triggered and result.matched == 1 and result.action is Action.FAIL
    [violation] = violations
    assert (violation.id, violation.severity, violation.finding) == (REPORT_AGE, Severity.HIGH, None)
    assert violation.message == "b.json was made on 2026-11-19, 8 days before 2026-11-27 (at most 7)"


def test_age_counts_days_in_utc() -> None:
    # 23:30 on the 26th at UTC-5 is the 27th in UTC: made today, not yesterday.
    late = datetime(2026, 11, 26, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    times = [ReportTimes(source="r.json", scanner="trivy", created=late)]
    checked = stale_result(times, Settings(max_report_age_days=0), TODAY)
    assert checked is not None and not checked[0].triggered


def test_a_report_dated_after_the_evaluation_date_fails_closed() -> None:
    # A day's grace (clocks and time zones); a later date would never get old, whatever the limit.
    settings = Settings(max_report_age_days=30)
    tomorrow = stale_result([_times(created=-timedelta(days=1))], settings, TODAY)
    assert tomorrow is not None and not tomorrow[0].triggered
    checked = stale_result([_times("r.json", created=-timedelta(days=2))], settings, TODAY)
    assert checked is not None
    [violation] = checked[1]
    assert violation.message == (
        "r.json is dated 2026-11-29, after the evaluation date 2026-11-27; a report cannot come from the future: "
        "check the report and the clock (or --today)"
    )


def test_a_database_dated_after_the_evaluation_date_fails_closed() -> None:
    settings = Settings(max_db_age_days=30)
    tomorrow = stale_result([_times(created=timedelta(0), built=-timedelta(days=1))], settings, TODAY)
    assert tomorrow is not None and not tomorrow[0].triggered
    checked = stale_result(
        [_times("g.json", created=timedelta(0), built=-timedelta(days=2))], settings, TODAY
    )
    assert checked is not None
    [violation] = checked[1]
    assert (violation.id, violation.message) == (
        DATABASE_AGE,
        "g.json was scanned with a vulnerability database dated 2026-11-29, after the evaluation date 2026-11-27; "
        "check the report and the clock (or --today)",
    )


def test_a_time_at_the_calendars_edge_is_stale_not_an_internal_error() -> None:
    # Neither has a UTC date: 9999-12-31T23:00-05:00 is in the year 10000 there, 0001-01-01T00:00+05:00 in year 0.
    late = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    early = datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=5)))
    times = [
        ReportTimes(source="late.json", scanner="grype", created=late, db_built=early),
        ReportTimes(source="early.json", scanner="grype", created=early, db_built=late),
    ]
    checked = stale_result(times, Settings(max_report_age_days=30, max_db_age_days=30), TODAY)
    assert checked is not None
    assert [(v.id, v.message.split(",")[0]) for v in checked[1]] == [
        (REPORT_AGE, "late.json is dated 9999-12-31"),
        (REPORT_AGE, "early.json was made on 0001-01-01"),
        (DATABASE_AGE, "late.json was scanned with a vulnerability database built on 0001-01-01"),
        (DATABASE_AGE, "early.json was scanned with a vulnerability database dated 9999-12-31"),
    ]


def test_a_report_that_does_not_say_when_it_was_made_fails_closed() -> None:
    times = [ReportTimes(source="old.json", scanner="trivy")]
    checked = stale_result(times, Settings(max_report_age_days=30), TODAY)
    assert checked is not None
    [violation] = checked[1]
    assert violation.message == (
        "old.json does not say when it was made (no readable CreatedAt; older Trivy releases write none), so the "
        "gate cannot tell it from an old one"
    )
    checked = stale_result([], Settings(max_report_age_days=30), TODAY)
    assert checked is not None and checked[0].triggered


def test_database_age_is_checked_where_the_report_says_it_and_noted_where_it_does_not() -> None:
    settings = Settings(max_db_age_days=2, stale_report=Action.WARN)
    times = [
        _times("grype.json", created=timedelta(0), built=timedelta(days=3)),
        ReportTimes(source="trivy.json", scanner="trivy", created=NOON),
    ]
    checked = stale_result(times, settings, TODAY)
    assert checked is not None
    result, [violation], notes = checked
    assert result.action is Action.WARN and result.triggered
    assert (violation.id, violation.severity) == (DATABASE_AGE, Severity.MEDIUM)
    assert violation.message == (
        "grype.json was scanned with a vulnerability database built on 2026-11-24, 3 days before 2026-11-27 "
        "(at most 2)"
    )
    assert notes == [
        "max_db_age_days: not checked for trivy.json: Trivy's JSON never says when its vulnerability database "
        "was built"
    ]


@pytest.mark.parametrize(("action", "count"), [(Action.FAIL, 1), (Action.WARN, 1), (Action.INFO, 0)])
def test_the_action_decides_whether_a_stale_report_is_a_violation(action: Action, count: int) -> None:
    settings = Settings(max_report_age_days=1, stale_report=action)
    checked = stale_result([_times(created=timedelta(days=5))], settings, TODAY)
    assert checked is not None
    assert checked[0].triggered and checked[0].verdict is action.verdict
    assert len(checked[1]) == count
