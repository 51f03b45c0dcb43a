"""The reference point of issue 2's targets, measured beside the gate: a typed decoder that reads only the
six fields a minimal gate needs per finding (pydantic `model_validate_json`) and counts the findings that are
critical or high and fixable. It is not the gate (no policy, no explanations, no outputs); run.py measures it
so the gate's figures can be read against the floor of the technique on the same machine, in the same run.

    python bench/decode_floor.py REPORT      # prints the count; Trivy or Grype JSON
"""

from __future__ import annotations

import gc
import sys

from pydantic import BaseModel


class _TrivyVulnerability(BaseModel):
    VulnerabilityID: str
    PkgName: str = ""
    InstalledVersion: str = ""
    FixedVersion: str = ""
    Severity: str = ""
    Status: str = ""


class _TrivyResult(BaseModel):
    Vulnerabilities: list[_TrivyVulnerability] | None = None


class _GrypeFix(BaseModel):
    state: str = ""
    versions: list[str] = []


class _GrypeVulnerability(BaseModel):
    id: str
    severity: str = ""
    fix: _GrypeFix | None = None


class _GrypeArtifact(BaseModel):
    name: str
    version: str = ""


class _GrypeMatch(BaseModel):
    vulnerability: _GrypeVulnerability
    artifact: _GrypeArtifact


class _Report(BaseModel):
    Results: list[_TrivyResult] | None = None
    matches: list[_GrypeMatch] | None = None


def main(path: str) -> int:
    """Decode the report at `path` and print how many findings are critical or high with a fix."""
    gc.disable()  # as the gate does
    with open(path, "rb") as handle:
        report = _Report.model_validate_json(handle.read())
    gated = {"CRITICAL", "HIGH"}
    count = sum(
        1
        for result in report.Results or ()
        for v in result.Vulnerabilities or ()
        if v.Severity in gated and v.FixedVersion
    )
    count += sum(
        1
        for m in report.matches or ()
        if m.vulnerability.severity.upper() in gated
        and m.vulnerability.fix is not None
        and m.vulnerability.fix.state == "fixed"
    )
    print(count)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
