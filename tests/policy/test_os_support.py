"""The built-in `unsupported-os` rule (gate/policy/os_support.py): an OS past its end of life, or not scanned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.ingest import read_report
from gate.model import ReportOs, Severity
from gate.policy.decision import OS_END_OF_LIFE, OS_NOT_SCANNED, UNSUPPORTED_OS_RULE, Action
from gate.policy.os_support import os_result
from tests.conftest import write_policy
from tests.test_cli import Run

EOL = ReportOs(source="t.json", scanner="trivy", name="alpine 3.9.4", end_of_life=True)
UNSCANNED = ReportOs(
    source="t.json", scanner="trivy", name="alpine 3.22.1", end_of_life=False, packages_scanned=False
)
SUPPORTED = ReportOs(
    source="t.json", scanner="trivy", name="alpine 3.22.1", end_of_life=False, packages_scanned=True
)
EOL_MESSAGE = (
    "alpine 3.9.4 is past its end of service life (Trivy: EOSL): it gets no more security fixes and its new "
    "vulnerabilities may go unreported; move to a supported base image"
)


def test_off_turns_each_problem_into_a_note() -> None:
    result, violations, notes = os_result([EOL, UNSCANNED], Action.OFF, several=False)
    assert (result, violations) == (None, [])
    assert notes[0] == EOL_MESSAGE
    assert notes[1].startswith("Trivy detected alpine 3.22.1 but wrote no result for its OS packages")


@pytest.mark.parametrize(
    ("action", "severity"), [(Action.FAIL, Severity.HIGH), (Action.WARN, Severity.MEDIUM)]
)
def test_fail_and_warn_give_one_violation_per_problem(action: Action, severity: Severity) -> None:
    result, violations, notes = os_result([EOL, UNSCANNED], action, several=False)
    assert result is not None and result.triggered and result.matched == 2
    assert (result.rule_id, result.subject, result.action) == (UNSUPPORTED_OS_RULE, "reports", action)
    assert [(v.id, v.severity, v.finding) for v in violations] == [
        (OS_END_OF_LIFE, severity, None),
        (OS_NOT_SCANNED, severity, None),
    ]
    assert violations[0].message == EOL_MESSAGE and violations[0].about == "image"
    assert notes == []


def test_info_reports_without_violations_and_a_supported_os_passes() -> None:
    result, violations, _ = os_result([EOL], Action.INFO, several=False)
    assert result is not None and result.triggered and violations == []
    result, violations, notes = os_result([SUPPORTED], Action.FAIL, several=False)
    assert result is not None and not result.triggered and (violations, notes) == ([], [])
    assert result.explanation == (
        "alpine 3.22.1: no report says it is past its end of life or that its packages went unscanned"
    )
    result, _, _ = os_result([], Action.FAIL, several=False)
    assert result is not None and not result.triggered  # distroless and scratch images name no OS
    assert result.explanation.startswith("no report names an operating system")


def test_one_report_that_scanned_the_os_packages_covers_another_that_did_not() -> None:
    other = SUPPORTED.model_copy(update={"source": "again.json"})
    _, violations, _ = os_result([UNSCANNED, other], Action.FAIL, several=True)
    assert violations == []
    _, violations, _ = os_result(
        [EOL, UNSCANNED.model_copy(update={"source": "b.json"})], Action.FAIL, several=True
    )
    assert [v.message.split(":")[0] for v in violations] == ["t.json", "b.json"]  # each names its report


def test_a_grype_report_that_cannot_tell_is_a_note_when_the_rule_is_on() -> None:
    unknown = ReportOs(source="g.json", scanner="grype", name="debian 10")
    result, violations, notes = os_result([unknown], Action.WARN, several=False)
    assert result is not None and not result.triggered and violations == []
    assert notes == [
        "unsupported_os: end of life not checked for g.json: the Grype report does not say whether debian 10 "
        "still gets security fixes (Grype writes `distro-eol` alerts when alerts.enable-eol-distro-warnings is on)"
    ]
    assert os_result([unknown], Action.OFF, several=False)[2] == []


GRYPE: dict[str, object] = {
    "matches": [],
    "source": {"type": "image", "target": {"userInput": "debian:10"}},
    "distro": {"name": "debian", "version": "10", "idLike": []},
    "descriptor": {"name": "grype", "version": "0.110.0", "configuration": {"alerts": {"enable-eol-distro-warnings": True}}},
}  # fmt: skip


def _alerts(*kinds: str) -> list[dict[str, object]]:
    return [
        {
            "package": {"name": f"pkg{n}", "version": "1", "type": "deb"},
            "alerts": [{"type": kind, "message": f"Package is from {kind}", "metadata": {"name": "debian"}}],
        }
        for n, kind in enumerate(kinds)
    ]


def test_grype_alerts_say_end_of_life_and_unchecked_packages() -> None:
    def read(report: dict[str, object]) -> ReportOs:
        [found] = read_report("g.json", json.dumps(report).encode()).os
        return found

    assert (read(GRYPE).end_of_life, read(GRYPE).packages_scanned) == (False, None)
    eol = read({**GRYPE, "alertsByPackage": _alerts("distro-eol", "distro-eol")})
    assert (eol.name, eol.end_of_life, eol.packages_scanned) == ("debian 10", True, None)
    unchecked = read({**GRYPE, "alertsByPackage": _alerts("distro-unknown", "distro-disabled", "distro-eol")})
    assert (unchecked.end_of_life, unchecked.packages_scanned, unchecked.unscanned) == (True, False, 2)
    older = {**GRYPE, "descriptor": {"name": "grype", "version": "0.80.0"}}  # no EOL alerts yet: cannot tell
    nameless = read({**GRYPE, "distro": {"name": ""}, "alertsByPackage": _alerts("distro-eol")})
    assert (nameless.name, nameless.end_of_life) == ("an unknown distribution", True)
    assert read(older).end_of_life is None
    _, violations, _ = os_result([unchecked], Action.FAIL, several=False)
    assert [v.message for v in violations][1] == (
        "Grype did not check 2 packages of debian 10 for vulnerabilities (distro-unknown or distro-disabled: a "
        "distribution it does not know or has no data for), so a clean report is not a clean image"
    )


def test_malformed_grype_alerts_are_refused() -> None:
    run = Run(
        ["check", "-"], stdin=json.dumps({**GRYPE, "alertsByPackage": [{"alerts": "distro-eol"}]}).encode()
    )
    assert run.code == 2 and "alertsByPackage[0].alerts" in run.err


def test_strict_warns_on_an_end_of_life_os_and_default_notes_it(tmp_path: Path) -> None:
    report = {
        "SchemaVersion": 2,
        "CreatedAt": "2026-11-27T08:00:00Z",
        "ArtifactName": "alpine:3.9",
        "ArtifactType": "container_image",
        "Metadata": {"OS": {"Family": "alpine", "Name": "3.9.4", "EOSL": True}, "ImageConfig": {"config": {"User": "10001"}}},
        "Results": [{"Target": "alpine:3.9 (alpine 3.9.4)", "Class": "os-pkgs", "Type": "alpine"}],
    }  # fmt: skip
    path = tmp_path / "trivy.json"
    path.write_text(json.dumps(report))
    default = Run(["check", str(path)])
    assert default.code == 0 and "gate: PASS" in default.out and f"note: {EOL_MESSAGE}" in default.out
    record = tmp_path / "record.json"
    strict = Run(["check", str(path), "--policy", "builtin:strict", "--json", str(record)])
    assert strict.code == 0 and "gate: WARN" in strict.out
    assert f"WARN unsupported-os: The image's OS is supported and scanned: {EOL_MESSAGE}" in strict.out
    [violation] = [
        v for v in json.loads(record.read_text())["violations"] if v["rule"] == UNSUPPORTED_OS_RULE
    ]
    assert (violation["id"], violation["action"], violation["kind"]) == (OS_END_OF_LIFE, "warn", "image")
    policy = write_policy(
        tmp_path, 'version = 1\nextends = "builtin:strict"\n[settings]\nunsupported_os = "fail"\n'
    )
    assert Run(["check", str(path), "--policy", str(policy)]).code == 1
