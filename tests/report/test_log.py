"""The human log (gate/report/log.py): what a person reads first in a CI job."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from gate.model import Package, ReportTimes
from gate.policy.engine import evaluate
from gate.policy.schema import load_policy
from gate.report import summary
from gate.report.log import render_log
from tests.conftest import TODAY, write_policy
from tests.report.helpers import synthetic_scan


def test_copies_of_one_package_version_say_where_each_is() -> None:
    scan = synthetic_scan(3)
    first = scan.findings[0]
    copies = [
        first.model_copy(update={"package": Package(name="minimist", version="1.2.5", path=path)})
        for path in (
            "app/node_modules/minimist/package.json",
            "usr/lib/node_modules/npm/" + "x/" * 60 + "minimist",
        )
    ]
    other = scan.findings[1].model_copy(
        update={"package": Package(name="lodash", version="4.17.11", path="a/b")}
    )
    report = scan.model_copy(update={"findings": (*copies, other)})
    log = render_log(evaluate(report, load_policy("builtin:default"), today=TODAY))
    lines = [line.strip() for line in log.splitlines() if line.strip().startswith("CVE-2024-")]
    assert lines[0].startswith(
        "CVE-2024-10000 minimist 1.2.5 (in app/node_modules/minimist/package.json) -> 1.0.1"
    )
    # A long path keeps its end, which is what tells copies apart.
    assert lines[1].startswith("CVE-2024-10000 minimist 1.2.5 (in …")
    assert "x/x/minimist) -> 1.0.1 [CRITICAL]" in lines[1]
    assert len(lines[1].split("(in ")[1].split(")")[0]) == 100
    # A package version found once needs no place.
    assert lines[2].startswith("CVE-2024-10001 lodash 4.17.11 -> 1.0.1 [HIGH]")


def test_findings_of_one_package_version_in_one_place_are_not_located() -> None:
    # Two findings of one ID in one file (two severities from two sources): a place would not tell them apart.
    scan = synthetic_scan(2)
    package = Package(name="bind", version="9.11", path="usr/lib/libbind.so")
    twins = [f.model_copy(update={"id": "CVE-2020-9999", "package": package}) for f in scan.findings]
    report = scan.model_copy(update={"findings": tuple(twins)})
    log = render_log(evaluate(report, load_policy("builtin:default"), today=TODAY))
    lines = [line.strip() for line in log.splitlines() if line.strip().startswith("CVE-2020-9999")]
    assert [line.split(" [")[0] for line in lines] == ["CVE-2020-9999 bind 9.11 -> 1.0.1"] * 2


def test_several_stale_reports_each_have_a_line(tmp_path: Path) -> None:
    """The stale-report explanation joins every stale report and is cut at 200 characters: each gets its line."""
    times = tuple(
        ReportTimes(source=f"reports/{name}-image-scan.json", scanner=name)  # neither says when it was made
        for name in ("trivy", "grype")
    )
    scan = synthetic_scan(0).model_copy(update={"times": times})
    policy = write_policy(tmp_path, 'extends = "builtin:default"\n[settings]\nmax_report_age_days = 1\n')
    log = render_log(evaluate(scan, load_policy(str(policy)), today=TODAY))
    lines = [line.strip() for line in log.splitlines() if line.strip().startswith("report-age: ")]
    assert [line.split()[1] for line in lines] == [
        "reports/trivy-image-scan.json",
        "reports/grype-image-scan.json",
    ]
    assert all(line.endswith("so the gate cannot tell it from an old one") for line in lines)


def test_waiver_days_are_counted_in_words(tmp_path: Path) -> None:
    # Findings CVE-2024-10000..10002 of the synthetic report, waived until today, tomorrow and yesterday.
    policy = write_policy(
        tmp_path,
        'version = 1\nextends = "builtin:default"\n'
        + "".join(
            f'[[waivers]]\nid = "CVE-2024-1000{i}"\nreason = "r"\nexpires = {TODAY + timedelta(days=d)}\n'
            for i, d in enumerate((0, 1, -1))
        ),
    )
    decision = evaluate(synthetic_scan(3), load_policy(str(policy)), today=TODAY)
    log = render_log(decision)
    assert "WAIVER CVE-2024-10000 expires today" in log
    assert "WAIVER CVE-2024-10001 expires in 1 day (" in log
    text = summary.render(decision)
    assert "| CVE-2024-10000 | expires today |" in text
    assert "| CVE-2024-10001 | expires in 1 day |" in text
    assert "| CVE-2024-10002 | expired 1 day ago |" in text


def test_a_waiver_for_platforms_on_an_image_of_unknown_platform_says_what_it_needs(tmp_path: Path) -> None:
    # The synthetic image gives no platform: the arm64 waiver cannot apply, which is not "matched nothing".
    policy = write_policy(
        tmp_path,
        'version = 1\nextends = "builtin:default"\n'
        f'[[waivers]]\nid = "CVE-2024-10000"\nreason = "r"\nexpires = {TODAY + timedelta(days=90)}\n'
        'platforms = ["linux/arm64"]\n'
        f'[[waivers]]\nid = "CVE-2000-0001"\nreason = "r"\nexpires = {TODAY + timedelta(days=90)}\n',
    )
    scan = synthetic_scan(1)
    decision = evaluate(scan, load_policy(str(policy)), today=TODAY)
    log = render_log(decision)
    assert (
        "WAIVER CVE-2024-10000 did not apply: it is for linux/arm64 and the image's platform is unknown "
        "(give --image-metadata with the image's config)"
    ) in log
    assert "WAIVER CVE-2000-0001 matched nothing: remove it if it is no longer needed" in log
    text = summary.render(decision)
    assert "Not applied, the image's platform is unknown: CVE-2024-10000. They name platforms;" in text
    assert "Unused (matched nothing; remove them if no longer needed): CVE-2000-0001." in text
    # Once the image is known to be arm64, the waiver waives: no such line.
    assert scan.image is not None
    arm = scan.model_copy(update={"image": scan.image.model_copy(update={"platform": "linux/arm64"})})
    decided = evaluate(arm, load_policy(str(policy)), today=TODAY)
    assert [w.finding.id for w in decided.images[0].waived] == ["CVE-2024-10000"]
    assert "did not apply" not in render_log(decided)
    assert "Not applied" not in summary.render(decided)


def test_with_several_images_the_baseline_line_names_its_reports() -> None:
    # A multi-architecture build: every baseline is `app.tar` (trivy image --input app.tar per platform); only
    # the report says which platform's baseline an image was paired with, as the image's own line does.
    from gate.model import Severity
    from gate.policy.decision import Ratchet, Trend

    decision = evaluate(synthetic_scan(0), load_policy("builtin:default"), today=TODAY)
    counts = dict.fromkeys(Severity, 0)
    images = tuple(
        image.model_copy(
            update={
                "baseline": Ratchet(
                    baseline="app.tar", sources=(f"main-{arch}.json",), new=0, existing=0,
                    before=counts, after=counts, trend=Trend.SAME,
                )
            }
        )
        for image, arch in zip(decision.images * 2, ("amd64", "arm64"), strict=True)
    )  # fmt: skip
    text = render_log(decision.model_copy(update={"images": images}))
    assert "  baseline app.tar (main-amd64.json): 0 new" in text
    assert "  baseline app.tar (main-arm64.json): 0 new" in text
    alone = render_log(decision.model_copy(update={"images": images[:1]}))
    assert "  baseline app.tar: 0 new" in alone  # one image: its line names no report either
