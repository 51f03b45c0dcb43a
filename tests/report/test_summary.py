"""The Markdown summary and the PR/MR comment body."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from gate.model import ReportOs, ReportTimes, Scan, Suppression
from gate.platform import github, gitlab
from gate.platform.sticky import fit, utf16_length
from gate.policy.engine import evaluate
from gate.policy.schema import load_policy
from gate.report import summary
from gate.report._common import items
from tests.conftest import REAL, TODAY, need_shared, write_policy
from tests.report.helpers import decide, fixture_decision, one_finding, readable_fixtures, synthetic_scan


@pytest.mark.parametrize("path", readable_fixtures(), ids=lambda p: p.name)
def test_every_fixture_renders(path: Path) -> None:
    decision = fixture_decision(path)
    text = summary.render(decision)
    assert text.startswith(
        f"## {summary._ICONS[decision.verdict]} container-gate: {decision.verdict.value.upper()}"
    )
    assert text.endswith("\n") and "\n\n\n" not in text
    assert len(text.encode()) < summary.MAX_SUMMARY_BYTES
    _tables_are_well_formed(text)
    assert text.count("<details>") == text.count("</details>")


def _tables_are_well_formed(text: str) -> None:
    """Each table row has as many cells as its header (an unescaped `|` would add one)."""
    width = None
    for line in text.splitlines():
        if not line.startswith("|"):
            width = None
            continue
        cells = len(re.findall(r"(?<!\\)\|", line)) - 1
        if width is None:
            width = cells
        assert cells == width, line


def test_order_verdict_failures_warnings_waivers_counts_facts() -> None:
    need_shared()
    text = summary.render(decide(REAL / "trivy" / "trivy-integ--alpine-39.json", "waivers.toml"))
    marks = [
        "## ❌ container-gate: FAIL",
        "#### ❌ Failed: No fixable critical or high vulnerabilities",
        "#### ⚠️ Warnings",
        "#### Waivers",
        "#### Findings by severity",
        "#### Image",
    ]
    positions = [text.index(m) for m in marks]
    assert positions == sorted(positions)
    assert (
        "| [CVE-2019-14697](https://nvd.nist.gov/vuln/detail/CVE-2019-14697) | musl-utils | 1.1.20-r4 → 1.1.20-r5 |"
        in text
    )


def test_waivers_in_every_state() -> None:
    need_shared()
    text = summary.render(decide(REAL / "trivy" / "trivy-integ--alpine-39.json", "waivers.toml"))
    assert "| CVE-2019-14697 | expires in 8 days | 2026-12-05 | 1 | team-platform |" in text
    assert "| CVE-2019-1549 | used | 2027-06-30 | 2 | team-api |" in text
    assert "| CVE-2019-1551 | expired 300 days ago | 2026-01-31 | 2 |" in text
    assert "| CVE-2000-0001 | unused | 2027-01-31 | 0 |" in text
    assert "❌ Expired, so no longer waiving: CVE-2019-1551." in text
    assert "⚠️ Expiring soon: CVE-2019-14697 (8 d)." in text
    assert "Unused (matched nothing; remove them if no longer needed): CVE-2000-0001." in text
    assert "<details><summary>3 waived findings</summary>" in text


_DASH = summary._DASH  # an empty cell


def test_the_waiver_table_shows_platforms_only_when_a_waiver_has_them(tmp_path: Path) -> None:
    policy = tmp_path / "gate.toml"
    plain = _DEFAULT + _waiver("CVE-2000-0001", "2027-01-31")
    policy.write_text(plain, encoding="utf-8")
    text = summary.render(evaluate(synthetic_scan(0), load_policy(str(policy)), today=TODAY))
    assert "| Waiver | State | Expires | Matched | Owner | Reason |" in text
    assert f"| CVE-2000-0001 | unused | 2027-01-31 | 0 | {_DASH} | left over |" in text
    policy.write_text(
        plain + _waiver("CVE-2000-0002", "2027-01-31") + 'platforms = ["linux/arm64", "linux/arm/v7"]\n',
        encoding="utf-8",
    )
    decision = evaluate(synthetic_scan(0), load_policy(str(policy)), today=TODAY)
    text = summary.render(decision)
    assert "| Waiver | State | Expires | Matched | Owner | Platforms | Reason |" in text
    assert f"| CVE-2000-0001 | unused | 2027-01-31 | 0 | {_DASH} | {_DASH} | left over |" in text
    assert (
        f"| CVE-2000-0002 | unused | 2027-01-31 | 0 | {_DASH} | linux/arm64, linux/arm/v7 | left over |"
        in text
    )
    # A record gate merge reads may say anything: the cell is escaped like every report string.
    [image] = decision.images
    hostile = image.waivers[1].model_copy(update={"platforms": ("linux/arm64 | <b>x</b>",)})
    text = summary.render(
        decision.model_copy(update={"images": (image.model_copy(update={"waivers": (hostile,)}),)})
    )
    _tables_are_well_formed(text)
    assert "<b>" not in text and "linux/arm64 \\| " in text


def test_long_lists_fold_under_details() -> None:
    need_shared()
    text = summary.render(decide(REAL / "grype" / "defectdojo-grype--many_vulns3.json"))
    assert "<details><summary>17 more</summary>" in text  # 27 warnings: 10 shown, 17 folded
    assert "not shown here" not in text


def test_comment_has_the_marker_first_and_the_same_content() -> None:
    need_shared()
    decision = decide(REAL / "trivy" / "trivy-integ--alpine-39.json")
    comment = summary.render_comment(decision)
    first, rest = comment.split("\n", 1)
    assert first == "<!-- container-gate:testdata/fixtures/images/alpine-39.tar.gz -->"
    assert first == summary.comment_marker(decision)
    assert rest == summary.render(decision)


def test_comment_marker_is_stable_and_safe() -> None:
    need_shared()
    one = decide(REAL / "trivy" / "trivy-integ--alpine-39.json")
    other = decide(REAL / "grype" / "defectdojo-grype--check_all_fields.json")
    both = one.model_copy(update={"images": (*other.images, *one.images)})
    marker = summary.comment_marker(both)
    assert marker == "<!-- container-gate:testdata/fixtures/images/alpine-39.tar.gz+vulnerable-image -->"
    same = one.model_copy(update={"images": one.images * 3})  # one repository, several reports
    assert summary.comment_marker(same) == summary.comment_marker(one)
    images = tuple(one.images[0].model_copy(update={"name": f"ghcr.io/org/app-{i}:1.0"}) for i in range(30))
    many = one.model_copy(update={"images": images})
    assert re.fullmatch(r"<!-- container-gate:sha256-[0-9a-f]{32} -->", summary.comment_marker(many))
    for path in readable_fixtures():
        key = summary.comment_marker(fixture_decision(path))[len("<!-- container-gate:") : -len(" -->")]
        assert re.fullmatch(r"[A-Za-z0-9._/+]+(-[A-Za-z0-9._/+]+)*", key), key  # no "--", no ">"


def test_sarif_cap_counts_suppressed_results_as_the_sarif_file_does() -> None:
    # 4,999 findings and the root image check are 5,000 open results; 2 scanner-suppressed findings are SARIF
    # results too, so the SARIF file keeps 5,000 of 5,002 and the summary must say so.
    scan = synthetic_scan(5_001)
    why = Suppression(status="ignored", statement="accepted", source=".trivyignore")
    findings = (
        *scan.findings[:4_999],
        *(f.model_copy(update={"suppressed": why}) for f in scan.findings[4_999:]),
    )
    decision = evaluate(
        scan.model_copy(update={"findings": findings}), load_policy("builtin:default"), today=TODAY
    )
    image = decision.images[0]
    assert len(items(image, suppressed=True)) == 5_002
    text = summary.render(decision)
    assert "the SARIF file (`--sarif`) keeps at most the 5,000 most severe of 5,002" in text


def test_huge_decision_stays_under_the_limits_and_says_so() -> None:
    decision = evaluate(synthetic_scan(20_000), load_policy("builtin:default"), today=TODAY)
    text = summary.render(decision)
    assert len(text.encode()) < 1_048_576
    assert "Some detail was left out to keep this text under 1 MiB" in text
    assert "more findings not shown here" in text
    assert "the SARIF file (`--sarif`) keeps at most the 5,000 most severe of 20,001 (fewer when" in text
    assert text.startswith("## ❌ container-gate: FAIL")
    comment = summary.render_comment(decision)
    assert len(comment) <= 65_536
    assert comment.startswith(summary.comment_marker(decision) + "\n## ❌ container-gate: FAIL")
    assert "under 65,536 characters" in comment
    _tables_are_well_formed(text)
    _tables_are_well_formed(comment)


def test_an_emoji_heavy_comment_is_measured_as_gate_comment_measures_it() -> None:
    # Each 😀 is one code point and two UTF-16 units: counted in code points, the comment came out near 53,000
    # characters but 76,000 units, and `gate comment` cut it again at GitHub's limit.
    scan = synthetic_scan(400)
    wide = tuple(
        f.model_copy(update={"package": f.package.model_copy(update={"name": f"{i}" + "\U0001f600" * 150})})
        for i, f in enumerate(scan.findings)
        if f.package is not None
    )
    decision = evaluate(
        scan.model_copy(update={"findings": wide}), load_policy("builtin:default"), today=TODAY
    )
    comment = summary.render_comment(decision)
    assert utf16_length(comment) <= summary.MAX_COMMENT_CHARS
    assert utf16_length(comment) > summary.MAX_COMMENT_CHARS // 2  # near the limit, not a trivial body
    assert comment.count("\U0001f600") > 10_000
    assert fit(comment, github.COMMENT_LIMIT, "cut") == comment
    assert fit(comment, gitlab.NOTE_LIMIT, "cut") == comment


def test_many_images_stay_under_the_comment_limit() -> None:
    need_shared()
    one = decide(REAL / "grype" / "defectdojo-grype--many_vulns3.json")
    many = one.model_copy(update={"images": one.images * 200})
    comment = summary.render_comment(many)
    assert len(comment) <= 65_536
    assert "more images are not shown here" in comment


def test_images_left_out_are_the_passing_ones_first() -> None:
    # A matrix of many images whose comment cannot show them all: the failing images are the ones shown.
    need_shared()
    passing = decide(REAL / "grype" / "grype-presenter--TestEmptyJsonPresenter.json")
    failing = decide(REAL / "grype" / "defectdojo-grype--many_vulns3.json")
    assert passing.verdict.value == "pass" and failing.verdict.value == "fail"
    many = failing.model_copy(update={"images": passing.images * 400 + failing.images * 3})
    comment = summary.render_comment(many)
    assert "383 more images are not shown here (383 pass); the failing ones are shown first." in comment
    assert comment.count(f"### ❌ {failing.images[0].name}: FAIL") == 3


def test_go_zero_time_is_no_created_date() -> None:
    # Trivy writes `created: 0001-01-01T00:00:00Z` when it knows no date (SBOM, filesystem, an image config
    # without one); the image-age check reads it as unknown, and so does the summary.
    need_shared()
    text = summary.render(decide(REAL / "trivy" / "defectdojo-trivy--misconfigurations_and_secrets.json"))
    assert "| Reference | . |" in text
    assert "0001-01-01" not in text and "| Created |" not in text


def test_summary_lists_findings_suppressed_before_the_gate_with_their_statement() -> None:
    from gate.ingest import read_report
    from gate.policy.engine import evaluate
    from gate.policy.schema import load_policy
    from gate.report import summary
    from tests.conftest import REAL, TODAY, need_shared

    need_shared()
    path = REAL / "trivy" / "ci-steadybit-shop--steadybit-orders.json"
    decision = evaluate(
        read_report(str(path), path.read_bytes()), load_policy("builtin:default"), today=TODAY
    )
    text = summary.render(decision)
    assert "3 findings suppressed before the gate" in text
    assert "| ignored | Wait for upstream fix in debian | .trivyignore-java.yml |" in text


def test_the_last_resort_cut_keeps_whole_lines() -> None:
    # Past every level of detail the text is cut: at a line end, so no entity or escape is split.
    decision = one_finding(image="registry.example.com/app:1.0 " + "<" * 300)
    for budget in range(300, 1200, 7):
        cut = summary._render(decision, marker="", size=len, budget=budget, limit="a test limit")
        kept = cut.split("\n\n> The summary was cut", 1)[0]
        assert len(cut) <= budget
        assert not re.search(r"&#?[0-9A-Za-z]*$", kept), kept[-20:]
        assert not kept.endswith("&lt"), kept[-20:]


def test_no_advisory_link_for_an_id_with_non_ascii_digits() -> None:
    text = summary.render(one_finding(id="CVE-\u0662\u0660\u0662\u0664-\u0661\u0662\u0663\u0664"))
    assert "CVE-\u0662\u0660\u0662\u0664" in text and "nvd.nist.gov" not in text


# The synthetic image runs as root: builtin:default's non-root-user rule warns, root-fails fails.
_DEFAULT = 'extends = "builtin:default"\n'
_ROOT_FAILS = """
[[rules]]
id = "root-fails"
title = "The image does not run as root"
action = "fail"
image = { user = "non-root" }
"""
_OLD = datetime(2026, 10, 1, tzinfo=timezone.utc)  # 57 days before TODAY


def _waiver(vid: str, expires: str) -> str:
    return f'[[waivers]]\nid = "{vid}"\nreason = "left over"\nexpires = {expires}\n'


def _headline(scan: Scan, policy_text: str, tmp_path: Path) -> str:
    """The summary's headline up to the policy's name (a path under tmp_path)."""
    policy = write_policy(tmp_path, policy_text)
    text = summary.render(evaluate(scan, load_policy(str(policy)), today=TODAY))
    return text.splitlines()[2].split(". Policy ")[0]


def test_headline_calls_a_failing_image_check_no_finding(tmp_path: Path) -> None:
    headline = _headline(synthetic_scan(0), "version = 1\n" + _ROOT_FAILS, tmp_path)
    assert headline == "**1 failing image check** under 1 rule, 0 warnings, 0 findings in 1 image"


def test_headline_counts_findings_and_image_checks_apart(tmp_path: Path) -> None:
    # A critical and a high fixable vulnerability, and an image that runs as root.
    headline = _headline(synthetic_scan(2), _DEFAULT + _ROOT_FAILS, tmp_path)
    assert headline == (
        "**2 failing findings and 1 failing image check** under 2 rules, 1 warning, 2 findings in 1 image"
    )


def test_headline_counts_a_rule_several_images_fail_once(tmp_path: Path) -> None:
    # Three images failing the same two rules failed two rules of the policy, not six.
    policy = write_policy(tmp_path, _DEFAULT + _ROOT_FAILS)
    one = evaluate(synthetic_scan(2), load_policy(str(policy)), today=TODAY)
    three = one.model_copy(update={"images": one.images * 3})
    assert summary.render(three).splitlines()[2].split(". Policy ")[0] == (
        "**6 failing findings and 3 failing image checks** under 2 rules, 3 warnings, 6 findings in 3 images"
    )


def test_headline_calls_a_stale_report_a_stale_report(tmp_path: Path) -> None:
    made = ReportTimes(source="grype.json", scanner="grype", created=_OLD, db_built=_OLD)
    scan = synthetic_scan(0).model_copy(update={"times": (made,)})
    policy = _DEFAULT + "[settings]\nmax_report_age_days = 7\n"
    headline = _headline(scan, policy, tmp_path)
    assert headline == "**1 stale report** under 1 rule, 1 warning, 0 findings in 1 image"
    # One report both old and scanned with an old database: two violations, still one stale report.
    headline = _headline(scan, policy + "max_db_age_days = 7\n", tmp_path)
    assert headline == (
        "**1 stale report and 1 stale vulnerability database** under 1 rule, 1 warning, 0 findings in 1 image"
    )


def test_headline_calls_an_unsupported_os_no_image_check(tmp_path: Path) -> None:
    # The unsupported-os rule is about the image, but its data is the scanner's, not one of the image checks.
    eol = ReportOs(source="trivy.json", scanner="trivy", name="alpine 3.9.4", end_of_life=True)
    scan = synthetic_scan(2).model_copy(update={"os": (eol,)})
    headline = _headline(scan, _DEFAULT + '[settings]\nunsupported_os = "fail"\n', tmp_path)
    assert headline == (
        "**2 failing findings and 1 unsupported operating system** under 2 rules, 1 warning, 2 findings in 1 image"
    )


def test_headline_calls_an_expired_waiver_an_expired_waiver(tmp_path: Path) -> None:
    headline = _headline(synthetic_scan(0), _DEFAULT + _waiver("CVE-2000-0001", "2026-01-31"), tmp_path)
    assert headline == "**1 expired waiver** under 1 rule, 1 warning, 0 findings in 1 image"


def test_headline_names_every_kind_of_failure_in_a_fixed_order(tmp_path: Path) -> None:
    made = ReportTimes(source="trivy.json", scanner="trivy", created=_OLD)
    scan = synthetic_scan(1).model_copy(update={"times": (made,)})
    policy = (
        _DEFAULT
        + _ROOT_FAILS
        + _waiver("CVE-2000-0001", "2026-01-31")  # expired
        + _waiver("CVE-2000-0002", "2027-01-31")  # unused, which these settings fail
        + '[settings]\nmax_report_age_days = 7\nwaiver_unused = "fail"\n'
    )
    assert _headline(scan, policy, tmp_path) == (
        "**1 failing finding, 1 failing image check, 1 expired waiver, 1 unused waiver and 1 stale report** "
        "under 5 rules, 1 warning, 1 finding in 1 image"
    )
