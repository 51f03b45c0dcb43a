"""GitHub annotations: at most 10 errors and 10 warnings, most severe first, escaped for the runner."""

from __future__ import annotations

from pathlib import Path

from gate.policy.engine import evaluate
from gate.policy.schema import load_policy
from gate.report import annotations as gh_annotations
from gate.report._common import FileLocation
from tests.conftest import REAL, TODAY, need_shared, write_policy
from tests.report.helpers import decide, synthetic_scan


def test_caps_and_order() -> None:
    decision = evaluate(synthetic_scan(100), load_policy("builtin:default"), today=TODAY)
    lines = gh_annotations.render(decision).splitlines()
    errors = [line for line in lines if line.startswith("::error ")]
    warnings = [line for line in lines if line.startswith("::warning ")]
    assert len(errors) == 10 and len(warnings) == 1  # 50 fixable critical/high fail; root user warns
    assert all("CRITICAL" not in line for line in errors)  # severity is in words
    assert all(": critical vulnerability" in line for line in errors)  # criticals before highs
    assert lines[-1].startswith(
        "::notice title=container-gate::40 more failures or warnings are not annotated"
    )


def test_the_notice_does_not_call_an_image_check_a_finding(tmp_path: Path) -> None:
    # 5 critical and 5 high fixable vulnerabilities fail, and so does the root user: the 11th error (high, and
    # after the findings in the engine's order) is the image check, left out.
    policy = write_policy(
        tmp_path,
        'extends = "builtin:default"\n[[rules]]\nid = "root-fails"\naction = "fail"\nimage = { user = "non-root" }\n',
    )
    decision = evaluate(synthetic_scan(20), load_policy(str(policy)), today=TODAY)
    lines = gh_annotations.render(decision).splitlines()
    assert not any("root-fails" in line for line in lines)
    assert lines[-1] == (
        "::notice title=container-gate::1 more failure or warning is not annotated (GitHub shows 10 of each "
        "per step); the job summary lists all of them"
    )


def test_format_and_location() -> None:
    need_shared()
    decision = decide(REAL / "trivy" / "trivy-integ--alpine-39.json")
    text = gh_annotations.render(decision, location=FileLocation(path="app,x/Docker:file", line=3))
    first = text.splitlines()[0]
    assert first == (
        "::error file=app%2Cx/Docker%3Afile,line=3,title=container-gate%3A fixable-critical-high::"
        "CVE-2019-14697 in musl-utils 1.1.20-r4, image testdata/fixtures/images/alpine-39.tar.gz: "
        "critical vulnerability; fixed in 1.1.20-r5"
    )
    assert text.endswith("\n")


def test_nothing_for_a_clean_decision() -> None:
    need_shared()
    decision = decide(REAL / "trivy" / "ci-steadybit-k6--trivy-results.json")
    assert decision.verdict.value == "pass"
    assert gh_annotations.render(decision) == ""
