"""`decode_floor.py` with msgspec instead of pydantic: the same six fields per finding, the same count.

A second reference point for issue 2's targets, measured when msgspec is installed (`make bench` installs it;
the gate does not use it). It shows what a decoder that skips the fields it does not read, without building
them, costs on the same machine in the same run: the floor of a gate whose wire types were msgspec structs.

    python bench/decode_floor_msgspec.py REPORT      # prints the count; Trivy or Grype JSON
"""

from __future__ import annotations

import gc
import sys

import msgspec


class _TrivyVulnerability(msgspec.Struct):
    VulnerabilityID: str
    PkgName: str = ""
    InstalledVersion: str = ""
    FixedVersion: str = ""
    Severity: str = ""
    Status: str = ""


class _TrivyResult(msgspec.Struct):
    Vulnerabilities: list[_TrivyVulnerability] | None = None


class _GrypeFix(msgspec.Struct):
    state: str = ""
    versions: list[str] = []


class _GrypeVulnerability(msgspec.Struct):
    id: str
    severity: str = ""
    fix: _GrypeFix | None = None


class _GrypeArtifact(msgspec.Struct):
    name: str
    version: str = ""


class _GrypeMatch(msgspec.Struct):
    vulnerability: _GrypeVulnerability
    artifact: _GrypeArtifact


class _Report(msgspec.Struct):
    Results: list[_TrivyResult] | None = None
    matches: list[_GrypeMatch] | None = None


def main(path: str) -> int:
    """Decode the report at `path` and print how many findings are critical or high with a fix.

    The count is decode_floor.py's, written again: importing it from there would import pydantic too, into a
    measurement of a decoder without it."""
    gc.disable()  # as the gate does
    with open(path, "rb") as handle:
        report = msgspec.json.decode(handle.read(), type=_Report)
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
