"""Bad inputs are refused with one clear line; odd but real encodings are read."""

from __future__ import annotations

import base64
import codecs
import json

import pytest

from gate.errors import InputError
from gate.ingest import read_report
from gate.model import FixState, ReportOs, Severity
from gate.policy.matching import chosen_cvss
from gate.policy.settings import CvssSource
from tests.conftest import REAL, need_shared

CLEAN_TRIVY = {"SchemaVersion": 2, "ArtifactName": "alpine:3.19", "ArtifactType": "container_image"}
CLEAN_GRYPE = {"matches": [], "source": {"type": "image", "target": {"userInput": "alpine:3.19"}},
               "descriptor": {"name": "grype", "version": "0.80.0"}}  # fmt: skip


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"   \n\t\n", "empty"),
        (b"null", "null"),
        (b"[]", "empty list"),
        (b"{}", "not a Trivy or Grype report"),
        (b"42", "a number"),
        (b'"report"', "a string"),
        (b"true", "true"),
        (b'{"SchemaVersion": 2, "Results": [', "truncated"),
        (b'{"matches": [{"vulnerability": ', "truncated"),
        (b"<html><body>502 Bad Gateway</body></html>", "not JSON \\(it starts with '<html>"),
        # Only log lines (the scan failed): text, not "a number" or "false" because of its first letter.
        (
            b"2024-05-01T10:00:00Z\tFATAL\tscan failed\n",
            r"not JSON \(it starts with '2024-05-01T10:00:00Z FATAL scan failed'\)",
        ),
        (b"fatal: image not found\n", r"not JSON \(it starts with 'fatal: image not found'\)"),
        (b"null junk", "not JSON"),
        (b"-1.5e3\n", "the document is a number"),
        # No finding and no word of what was scanned: a placeholder (`echo '{"SchemaVersion": 2}' > r.json`),
        # not a clean scan, which names its artifact.
        (
            b'{"SchemaVersion": 2}',
            r"^r\.json: the report holds no findings and does not say what was scanned \(trivy writes ArtifactName "
            r"and Metadata\); give the report the scan wrote, or re-run the scan$",
        ),
        (b'{"SchemaVersion": 2, "Results": []}', "does not say what was scanned"),
        (b'{"matches": [], "source": {}}', r"does not say what was scanned \(grype writes source\.type"),
        (b'{"matches": [], "descriptor": {"name": "grype"}}', "does not say what was scanned"),
        # The scanner's closing log in the file (2>&1), or a second document: the first line after the JSON.
        (
            json.dumps(CLEAN_TRIVY).encode() + "\n\n\U0001f4e3 Notices:\n  - Version 0.77.0\n".encode(),
            r"^r\.json: text follows the JSON document \('\U0001f4e3 Notices:'\); a report file holds the "
            r"scanner's JSON alone: write it with trivy -o/--output or grype --file, and keep the scanner's log",
        ),
        (
            '{"SchemaVersion": 2, "ArtifactName": "\u00e9"} {"a": 1}'.encode(),
            r"follows the JSON document \('\{\"a\": 1\}'\)",
        ),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (b'{"a":' * 3000 + b"1" + b"}" * 3000, "nested too deeply"),
        (b'{"SchemaVersion": 2, "Results": "none"}', r"Results: expected an array \(got 'none'\)"),
        (b'{"SchemaVersion": "2"}', "SchemaVersion"),
        (b'{"SchemaVersion": 3, "Results": []}', "SchemaVersion 3 is not supported"),
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": 7}]}]}',
            "VulnerabilityID",
        ),
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [{"PkgName": "x"}]}]}',
            r"Vulnerabilities\[0\]\.VulnerabilityID: missing; the report is malformed",
        ),
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "Severity": "CRITICL"}]}]}',
            r"Results\[0\]\.Vulnerabilities\[0\]\.Severity: not a severity word gate knows .* \(got 'CRITICL'\)",
        ),
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Secrets": [{"RuleID": "aws", "Severity": "SEVERE"}]}]}',
            "Secrets.0..Severity: not a severity word",
        ),
        (
            b'{"matches": [{"vulnerability": {"id": "CVE-1", "severity": "Urgent"}}], "source": {}}',
            r"matches\[0\]\.vulnerability\.severity: not a severity word",
        ),
        (
            b'{"matches": [{"vulnerability": {"id": "CVE-1", "fix": {"state": "patched"}}}], "source": {}}',
            r"matches\[0\]\.vulnerability\.fix\.state: not a fix state gate knows",
        ),
        (
            b'{"SchemaVersion": 2, "Results": [{"target": "t", "vulnerabilities": [{"VulnerabilityID": "CVE-1"}]}]}',
            r"Results\[0\]\.Target: missing",
        ),
        # A blank ID names nothing: GitLab refuses a report with an empty identifier list.
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": "  "}]}]}',
            r"Vulnerabilities\[0\]\.VulnerabilityID: empty; every finding a scanner writes has an ID",
        ),
        (b'{"matches": [{"vulnerability": {"id": ""}}], "source": {}}', r"vulnerability\.id: empty"),
        # Invisible characters (bidi marks, a zero-width space, a control byte) are as blank in every output.
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": "\\u200f"}]}]}',
            r"Vulnerabilities\[0\]\.VulnerabilityID: empty; every finding a scanner writes has an ID \(got '\\u200f'\)",
        ),
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Secrets": [{"RuleID": " \\u202e\\u200b\\u0001 "}]}]}',
            r"Secrets\[0\]\.RuleID: empty",
        ),
        (
            b'{"matches": [{"vulnerability": {"id": "\\u2066\\u2069"}}], "source": {}}',
            r"vulnerability\.id: empty",
        ),
        # A finding list under a key Trivy does not write (another case, a typo, another name) would read
        # as a clean result: the report was rewritten.
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "vulnerabilities": [{"VulnerabilityID": "CVE-1"}]}]}',
            r"^r.json: Results\[0\]\.vulnerabilities: not a key Trivy writes \(it writes Vulnerabilities\), so what "
            r"it holds would go unchecked; give the report as trivy wrote it$",
        ),
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t"}, {"Target": "u", "Vulnerabilites": []}]}',
            r"Results\[1\]\.Vulnerabilites: not a key Trivy writes \(it writes Vulnerabilities\)",
        ),
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Leaks": [{"RuleID": "aws-access-key-id"}]}]}',
            r"Results\[0\]\.Leaks: not a key Trivy writes \(it writes Secrets\)",
        ),
        (
            b'{"SchemaVersion": 2, "results": [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": "CVE-1"}]}]}',
            r"^r.json: results: not a key Trivy writes \(it writes Results\)",
        ),
        (b'{"SchemaVersion": 2, "Findings": [{"Target": "t"}]}', r"Findings: .* \(it writes Results\)"),
        (
            b'{"SchemaVersion": 2, "Vulnerabilities": [{"VulnerabilityID": "CVE-1"}]}',
            r"^r.json: Vulnerabilities: not a key Trivy writes \(it writes Results\[\]\.Vulnerabilities\)",
        ),
        (
            b'[{"Target": "t", "Misconfiguration": []}]',
            r"^r.json: \[0\]\.Misconfiguration: not a key Trivy writes",
        ),
        # Findings as the values of an object, or a result list nested in one, are as misplaced as a list.
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulns": {"0": {"VulnerabilityID": "CVE-1"}}}]}',
            r"^r.json: Results\[0\]\.Vulns: not a key Trivy writes \(it writes Vulnerabilities\)",
        ),
        (
            b'{"SchemaVersion": 2, "Results": [], "Extra": {"Results": [{"Target": "t"}]}}',
            r"^r.json: Extra: not a key Trivy writes \(it writes Results\)",
        ),
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Extra": {"b": {"c": {"d": {"Vulnerabilities": '
            b'[{"VulnerabilityID": "CVE-1"}]}}}}}]}',
            r"^r.json: Results\[0\]\.Extra: not a key Trivy writes \(it writes Vulnerabilities\)",
        ),
        # Keys the decoder declares only to name other formats (a GitLab report's `vulnerabilities`, docker
        # inspect's `RepoTags`) are not Trivy's either.
        (
            b'{"SchemaVersion": 2, "Results": [], "vulnerabilities": [{"VulnerabilityID": "CVE-1"}]}',
            r"^r.json: vulnerabilities: not a key Trivy writes \(it writes Results\[\]\.Vulnerabilities\)",
        ),
        (
            b'[{"Target": "t", "RepoTags": [{"VulnerabilityID": "CVE-1"}]}]',
            r"^r.json: \[0\]\.RepoTags: not a key Trivy writes \(it writes Vulnerabilities\)",
        ),
        (
            b'{"matches": [], "Matches": [{"vulnerability": {"id": "CVE-1"}}], "source": {}}',
            r"^r.json: Matches: not a key Grype writes \(it writes matches\), so what it holds would go unchecked",
        ),
        (b'{"matches": {}, "source": {}}', r"matches: expected an array \(got an object\)"),
        # A finding Trivy's VEX or ignore rules suppressed is checked like any other, and located like one.
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t"}, {"Target": "u", "ExperimentalModifiedFindings":'
            b' [{"Type": "vulnerability", "Finding": {"VulnerabilityID": 5}}]}]}',
            r"Results\[1\]\.ExperimentalModifiedFindings\[0\]\.Finding\.VulnerabilityID: expected text \(got 5\); the",
        ),
        (
            b'[{"Target": "u", "ExperimentalModifiedFindings": [{"Type": "secret", "Finding": {"Title": "x"}}]}]',
            r"^r.json: \[0\]\.ExperimentalModifiedFindings\[0\]\.Finding\.RuleID: missing; the report is malformed$",
        ),
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": "CVE-1",'
            b' "Status": "fixd"}]}]}',
            r"Results\[0\]\.Vulnerabilities\[0\]\.Status: expected 'fixed', 'affected', .*'unknown' \(got 'fixd'\); "
            r"the report is malformed$",
        ),
        # A score no CVSS version gives would match no `cvss` rule: NaN is no number, 11 no score.
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": "CVE-1",'
            b' "CVSS": {"nvd": {"V3Score": NaN}}}]}]}',
            r"Vulnerabilities\[0\]\.CVSS\.nvd\.V3Score: expected a finite number \(not NaN or an infinity\) "
            r"\(got nan\); the report is malformed$",
        ),
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": "CVE-1",'
            b' "CVSS": {"ghsa": {"V40Score": 11}}}]}]}',
            r"CVSS\.ghsa\.V40Score: must be at most 10\.0 \(got 11\)",
        ),
        (
            b'{"matches": [{"vulnerability": {"id": "CVE-1", "cvss": [{"metrics": {"baseScore": -1}}]},'
            b' "artifact": {"name": "a"}}], "source": {}}',
            r"matches\[0\]\.vulnerability\.cvss\[0\]\.metrics\.baseScore: must be at least 0\.0 \(got -1\)",
        ),
        (
            b'{"matches": [{"vulnerability": {"id": "CVE-1", "epss": [{"cve": "CVE-1", "epss": NaN}]},'
            b' "artifact": {"name": "a"}}], "source": {}}',
            r"matches\[0\]\.vulnerability\.epss\[0\]\.epss: expected a finite number",
        ),
        # A suppressed finding of a type Trivy does not write, or none at all, is not dropped unseen.
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "u", "ExperimentalModifiedFindings":'
            b' [{"Type": "vuln", "Status": "ignored", "Finding": {"VulnerabilityID": "CVE-1"}}]}]}',
            r"^r.json: Results\[0\]\.ExperimentalModifiedFindings\[0\]\.Type: 'vuln' is not a finding type Trivy "
            r"writes \(vulnerability, secret, misconfiguration, license\); the report is malformed$",
        ),
        (
            b'[{"Target": "u", "ExperimentalModifiedFindings": [{"Status": "ignored", "Finding": {"RuleID": "x"}}]}]',
            r"^r.json: \[0\]\.ExperimentalModifiedFindings\[0\]\.Type: missing; the report is malformed$",
        ),
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "u", "ExperimentalModifiedFindings":'
            b' [{"Type": "vulnerability", "Status": "ignored"}]}]}',
            r"^r.json: Results\[0\]\.ExperimentalModifiedFindings\[0\]\.Finding: missing; the report is malformed$",
        ),
        # The key and the shape the report lacks, in JSON's words: not a validator's type names.
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": ["CVE-1"]}]}',
            r"Results\[0\]\.Vulnerabilities\[0\]: expected an object \(got 'CVE-1'\)",
        ),
        (
            b'{"matches": [{"artifact": {"name": "x", "version": "1"}}], "source": {}}',
            r"matches\[0\]\.vulnerability: missing; the report is malformed",
        ),
        (b'{"SchemaVersion": "2"}', r"SchemaVersion: expected a whole number \(got '2'\)"),
        # Text that is not JSON text: another encoding, a surrogate without its pair, broken UTF-16.
        (
            b'{"SchemaVersion": 2, "ArtifactName": "caf\xe9", "Results": []}',
            r"not UTF-8 \(byte 0xe9 at offset 41\); JSON reports are UTF-8",
        ),
        (
            b'{"SchemaVersion": 2, "ArtifactName": "a\\ud800", "Results": []}',
            r"a lone UTF-16 surrogate \(",
        ),
        (
            b'\xff\xfe{\x00"',
            r"not valid UTF-16-LE text \(truncated data at byte 4\); the file is truncated or damaged",
        ),
        (
            b'{"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": 7}]}]}',
            r"VulnerabilityID: expected text \(got 7\)",
        ),
        (b'{"matches": [], "descriptor": {"name": "grype"}, "source": {"type": 5}}', "source.type"),
        (b'{"matches": []}', "not a Grype report"),
        (b'{"version": "2.1.0", "runs": []}', "SARIF"),
        (b'[{"Id": "sha256:ab", "RepoTags": ["a:1"], "Config": {"User": ""}}]', "--image-metadata"),
        # What `skopeo inspect --config` and `--raw` write: image metadata, not "not a Trivy or Grype report".
        (
            b'{"architecture": "amd64", "os": "linux", "config": {"User": "app"}, "rootfs": {"diff_ids": []}}',
            r"this is image metadata \(an OCI or Docker image config, manifest or index\); pass it with --image-metadata",
        ),
        (
            b'{"schemaVersion": 2, "config": {"digest": "sha256:ab"}, "layers": []}',
            "image config, manifest or index.*--image-metadata",
        ),
        (b'{"schemaVersion": 2, "manifests": [{"digest": "sha256:ab"}]}', "--image-metadata"),
        (b'{"matches": [], "Results": [], "source": {}, "descriptor": {}}', "both Trivy and Grype"),
        # A Kubernetes report keeps its findings under Resources: with a SchemaVersion it is still not an image's.
        (
            b'{"SchemaVersion": 2, "ClusterName": "prod", "Resources": [{"Kind": "Pod", "Results": []}]}',
            r"^r.json: this is a Trivy Kubernetes report; the gate reads image reports",
        ),
        (b"\xff\xfe{\x00\xd8", "UTF-16"),
        (
            '{"SchemaVersion": 2}'.encode("utf-32"),
            r"^r.json: the text is UTF-32, which no scanner writes; write",
        ),
        (codecs.BOM_UTF32_BE + '{"SchemaVersion": 2}'.encode("utf-32-be"), "the text is UTF-32"),
        (b"\xff\xfe\x00\xd8", "not valid UTF-16"),
    ],
)
def test_bad_input_is_refused(content: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=reason) as info:
        read_report("r.json", content)
    message = str(info.value)
    assert message.startswith("r.json: ")
    assert "\n" not in message
    assert "should be" not in message.lower() and "dict" not in message and "instance of" not in message
    assert len(message) < 400


@pytest.mark.parametrize(
    ("report", "shown"),
    [
        (
            {**CLEAN_TRIVY, "Results": [{"Target": "t", "x" * 10_000: [{"VulnerabilityID": "CVE-1"}]}]},
            "Results[0]." + "x" * 59 + "…",
        ),
        (
            {**CLEAN_TRIVY, "\x1b[31m\n::error::x": [{"VulnerabilityID": "CVE-1"}]},
            "?[31m?::error::x",
        ),
        ({**CLEAN_GRYPE, "Matche\n": []}, "Matche?"),
    ],
)
def test_a_misplaced_key_is_named_short_and_printable(report: dict[str, object], shown: str) -> None:
    """The key is the report's text: any length, any characters (a newline would start a CI log command)."""
    with pytest.raises(InputError) as caught:
        read_report("r.json", json.dumps(report).encode())
    assert str(caught.value).startswith(f"r.json: {shown}: not a key ")
    assert str(caught.value).isprintable()


@pytest.mark.parametrize(
    "report",
    [
        {**CLEAN_TRIVY, "ArtifactName": "a" * 5000},
        {**CLEAN_GRYPE, "source": {"type": "image", "target": {"userInput": "a" * 5000}}},
    ],
)
def test_an_artifact_name_longer_than_any_path_is_refused(report: dict[str, object]) -> None:
    # Every output names the image (the record once per violation): a huge name would be copied thousands
    # of times. No image reference or Linux path is over 4,096 characters.
    with pytest.raises(InputError, match="artifact's name is 5,000 characters long"):
        read_report("r.json", json.dumps(report).encode())


def test_clean_trivy_report_reads_with_no_findings() -> None:
    scan = read_report("r.json", json.dumps(CLEAN_TRIVY).encode())
    assert scan.scanner == "trivy"
    assert scan.findings == ()
    assert scan.is_image


def test_clean_grype_report_reads_with_no_findings() -> None:
    scan = read_report("r.json", json.dumps(CLEAN_GRYPE).encode())
    assert scan.scanner == "grype"
    assert scan.findings == ()


def test_grype_kev_status_is_false_only_when_the_report_carries_kev_data() -> None:
    def match(cve: str, **intel: object) -> dict[str, object]:
        return {"vulnerability": {"id": cve, **intel}, "artifact": {"name": "openssl", "version": "3.0.1"}}

    listed = match("CVE-2023-44487", knownExploited=[{"cve": "CVE-2023-44487"}])
    scored = match("CVE-2024-1", epss=[{"cve": "CVE-2024-1", "epss": 0.2, "percentile": 0.9}])
    for matches, expected in (
        ([listed, match("CVE-2024-2")], [True, False]),
        ([scored, match("CVE-2024-2")], [False, False]),
        ([match("CVE-2024-1"), match("CVE-2024-2")], [None, None]),  # no KEV data: unknown
    ):
        scan = read_report("r.json", json.dumps({**CLEAN_GRYPE, "matches": matches}).encode())
        assert [f.kev for f in scan.findings] == expected


@pytest.mark.parametrize(
    "encode",
    [
        lambda t: t.encode("utf-8"),
        lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
        lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"),
        lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
        lambda t: codecs.BOM_UTF16_LE + t.replace("\n", "\r\n").encode("utf-16-le") + b"\n",
        lambda t: codecs.BOM_UTF8 * 2 + t.encode("utf-8"),
    ],
    ids=["utf8", "utf8-bom", "utf16le", "utf16be", "utf16-crlf-stray-byte", "utf8-two-boms"],
)
def test_encodings(encode: object) -> None:
    assert callable(encode)
    text = json.dumps(CLEAN_GRYPE, indent=1)
    scan = read_report("r.json", encode(text))
    assert scan.scanner == "grype"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_named(encoding: str) -> None:
    with pytest.raises(InputError, match="UTF-16 without a byte-order mark; write the report as UTF-8"):
        read_report("r.json", json.dumps(CLEAN_GRYPE).encode(encoding))


def test_log_lines_before_the_document_are_skipped_and_named() -> None:
    data = (
        b"2026-01-01T00:00:00Z INFO Vulnerability scanning...\n[0000]  WARN odd\n"
        + json.dumps(CLEAN_TRIVY).encode()
    )
    scan = read_report("r.json", data)
    assert len(scan.warnings) == 1
    assert "skipped 2 lines" in scan.warnings[0]
    assert "Vulnerability scanning" in scan.warnings[0]


def test_keys_trivy_writes_but_gate_does_not_read_and_new_ones_are_ignored() -> None:
    report = {
        **CLEAN_TRIVY,
        "Trivy": {"Version": "0.58.0"},
        "ReportID": "0193",
        "ArtifactID": "sha256:ab",
        "Summary": {"Vulnerabilities": 0},  # a key some later Trivy may write: not a list of findings
        "Results": [
            {
                "Target": "alpine:3.19 (alpine 3.19.1)",
                "Class": "os-pkgs",
                "Packages": [{"ID": "musl@1.2.4", "Name": "musl"}],
                "MisconfSummary": {"Successes": 1, "Failures": 0},
                "CustomResources": [{"Type": "x"}],
                "Modules": ["a"],
                "MisconfigurationSummary": {"Failures": 0},  # like Misconfigurations, but no typo of it
                "Vulnerabilities": [{"VulnerabilityID": "CVE-2024-1", "PkgName": "musl", "Severity": "LOW"}],
            }
        ],
    }
    scan = read_report("r.json", json.dumps(report).encode())
    assert [f.id for f in scan.findings] == ["CVE-2024-1"]


def test_a_trivy_vulnerability_with_status_fixed_is_fixable_without_a_version() -> None:
    vulnerability = {"VulnerabilityID": "CVE-1", "PkgName": "a", "Severity": "HIGH", "Status": "fixed"}
    report = {**CLEAN_TRIVY, "Results": [{"Target": "t", "Vulnerabilities": [vulnerability]}]}
    [finding] = read_report("t.json", json.dumps(report).encode()).findings
    assert (finding.fix_state, finding.fixed_versions) == (FixState.FIXED, ())


@pytest.mark.parametrize(
    ("published", "day"),
    [
        ("2024-03-01T23:15:00Z", "2024-03-01"),
        ("2024-03-01T23:15:00.123456789Z", "2024-03-01"),
        ("2024-03-01T02:15:00+05:00", "2024-02-29"),  # a day older than its text: age_days counts from UTC
        ("2024-03-01T23:15:00-05:00", "2024-03-02"),
        ("2024-03-01", "2024-03-01"),
        ("2024-03-01T23:15:00", "2024-03-01"),  # no zone: as written
    ],
)
def test_a_trivy_published_date_is_its_utc_date(published: str, day: str) -> None:
    vulnerability = {"VulnerabilityID": "CVE-1", "Severity": "HIGH", "PublishedDate": published}
    report = {**CLEAN_TRIVY, "Results": [{"Target": "t", "Vulnerabilities": [vulnerability]}]}
    [finding] = read_report("t.json", json.dumps(report).encode()).findings
    assert finding.published is not None and finding.published.isoformat() == day


def test_legacy_trivy_list_form() -> None:
    data = [{"Target": "alpine:3.10 (alpine 3.10.2)", "Type": "alpine", "Vulnerabilities": [
        {"VulnerabilityID": "CVE-2019-1549", "PkgName": "openssl", "InstalledVersion": "1.1.1c-r0",
         "FixedVersion": "1.1.1d-r0", "Severity": "MEDIUM"}]}]  # fmt: skip
    scan = read_report("r.json", json.dumps(data).encode())
    assert [f.id for f in scan.findings] == ["CVE-2019-1549"]
    assert scan.findings[0].fixable


def test_report_times_are_read_from_trivy_and_both_grype_database_forms() -> None:
    trivy = read_report(
        "t.json", json.dumps({**CLEAN_TRIVY, "CreatedAt": "2026-11-20T08:15:02.48151632Z"}).encode()
    )
    [times] = trivy.times
    assert (times.source, times.scanner, times.db_built) == ("t.json", "trivy", None)
    assert times.created is not None and times.created.isoformat() == "2026-11-20T08:15:02.481516+00:00"
    descriptor = {"version": "0.80.0", "timestamp": "2026-11-26T10:00:00.5+01:00"}
    for db in (
        {"built": "2026-11-25T01:27:01Z"},
        {"status": {"built": "2026-11-25T01:27:01Z"}, "providers": {}},
    ):
        grype = read_report(
            "g.json", json.dumps({**CLEAN_GRYPE, "descriptor": {**descriptor, "db": db}}).encode()
        )
        [times] = grype.times
        assert times.created is not None and times.created.isoformat() == "2026-11-26T10:00:00.500000+01:00"
        assert times.db_built is not None and times.db_built.isoformat() == "2026-11-25T01:27:01+00:00"


@pytest.mark.parametrize(
    "descriptor",
    [
        {},
        {"timestamp": 1764234000, "db": "v5"},
        {"timestamp": "yesterday", "db": {"built": None}},
        {"db": []},
    ],
)
def test_grype_report_times_in_shapes_no_grype_writes_are_unknown_not_refused(
    descriptor: dict[str, object],
) -> None:
    scan = read_report("g.json", json.dumps({**CLEAN_GRYPE, "descriptor": descriptor}).encode())
    [times] = scan.times
    assert (times.created, times.db_built) == (None, None)


def test_grype_ignore_rules_are_told_apart_from_its_vex_and_matching_rules() -> None:
    packages = iter(range(100))

    def ignored(rule: dict[str, object]) -> dict[str, object]:
        match = {  # each in a package of its own: one match twice would be one finding
            "vulnerability": {"id": "CVE-1", "severity": "High"},
            "artifact": {"name": f"a{next(packages)}", "version": "1"},
        }
        return {**match, "appliedIgnoreRules": [rule]}

    report = {
        **CLEAN_GRYPE,
        "ignoredMatches": [
            ignored({"vulnerability": "CVE-1", "reason": "accepted"}),
            ignored({"vulnerability": "CVE-1", "vex-status": "not_affected", "vex-justification": "x"}),
            # One of Grype's default rules: an indirect match of a kernel-header package is a false match.
            ignored(
                {
                    "package": {"name": "linux-libc-dev", "upstream-name": "linux", "type": "deb"},
                    "match-type": "exact-indirect-match",
                }
            ),
            # A repository's own rule with a match type is still its own ignore rule, not Grype's.
            ignored({"package": {"name": "golang.org/x/net"}, "match-type": "exact-direct-match"}),
            ignored(
                {
                    "package": {"name": "golang.org/x/net", "type": "go-module"},
                    "match-type": "exact-indirect-match",
                }
            ),
            # A default rule a later Grype adds for more kernel-header packages is still one of its own.
            ignored(
                {
                    "package": {"name": "linux-aws-headers-.*", "upstream-name": "linux.*", "type": "deb"},
                    "match-type": "exact-indirect-match",
                }
            ),
            # A VEX status that does not suppress is no VEX statement to keep.
            ignored({"vulnerability": "CVE-1", "vex-status": "affected"}),
        ],
    }
    first, second, third, fourth, fourth_b, third_b, fifth = (
        f.suppressed for f in read_report("g.json", json.dumps(report).encode()).findings
    )
    assert first is not None and (first.status, first.by_ignore_rule) == ("ignored", True)
    assert second is not None and (second.status, second.source, second.by_ignore_rule) == (
        "not_affected",
        "grype VEX",
        False,
    )
    assert third is not None and (third.status, third.source, third.by_ignore_rule) == (
        "filtered",
        "grype matching rule",
        False,
    )
    assert fourth is not None and (fourth.status, fourth.by_ignore_rule) == ("ignored", True)
    assert fourth_b is not None and (fourth_b.status, fourth_b.by_ignore_rule) == ("ignored", True)
    assert third_b is not None and (third_b.status, third_b.by_ignore_rule) == ("filtered", False)
    assert fifth is not None and (fifth.status, fifth.by_ignore_rule) == ("affected", True)


def test_an_os_trivy_detected_but_did_not_scan_is_recorded() -> None:
    metadata = {"OS": {"Family": "alpine", "Name": "3.22.1"}}
    secrets_only = {
        **CLEAN_TRIVY,
        "Metadata": metadata,
        "Results": [{"Target": "/app/.env", "Class": "secret"}],
    }
    scan = read_report("t.json", json.dumps(secrets_only).encode())
    assert scan.os == (
        ReportOs(
            source="t.json", scanner="trivy", name="alpine 3.22.1", end_of_life=False, packages_scanned=False
        ),
    )
    assert scan.warnings == ()  # the unsupported-os rule says it, or notes it when off
    scanned = {
        **secrets_only,
        "Results": [{"Target": "img (alpine 3.22.1)", "Class": "os-pkgs", "Type": "alpine"}],
    }
    assert [o.packages_scanned for o in read_report("t.json", json.dumps(scanned).encode()).os] == [True]
    old = {**secrets_only, "Results": [{"Target": "img (alpine 3.22.1)", "Type": "alpine"}]}  # before Class
    assert [o.packages_scanned for o in read_report("t.json", json.dumps(old).encode()).os] == [None]
    # No OS named: a distroless or scratch image.
    assert read_report("t.json", json.dumps(CLEAN_TRIVY).encode()).os == ()


def test_trivy_end_of_service_life_os_is_recorded() -> None:
    metadata = {"OS": {"Family": "alpine", "Name": "3.9.4", "EOSL": True}}
    os_result = [{"Target": "img (alpine 3.9.4)", "Class": "os-pkgs", "Type": "alpine"}]
    scan = read_report(
        "t.json", json.dumps({**CLEAN_TRIVY, "Metadata": metadata, "Results": os_result}).encode()
    )
    assert [(o.name, o.end_of_life) for o in scan.os] == [("alpine 3.9.4", True)]
    supported = {"OS": {"Family": "alpine", "Name": "3.20.3"}}  # Trivy writes EOSL only when it is true
    report = {**CLEAN_TRIVY, "Metadata": supported, "Results": os_result}
    assert [o.end_of_life for o in read_report("t.json", json.dumps(report).encode()).os] == [False]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27T08:49:20.837374566Z", "2026-11-27T08:49:20.837374+00:00"),
        ("2024-07-10T12:17:44.60495+04:00", "2024-07-10T12:17:44.604950+04:00"),
        ("2024-01-27T00:30:56Z", "2024-01-27T00:30:56+00:00"),
        ("2024-01-27T00:30:56", "2024-01-27T00:30:56"),
        ("2024-01-27T00:30:56.1-0500", "2024-01-27T00:30:56.100000-05:00"),
    ],
)
def test_timestamps_parse_on_every_python(text: str, expected: str) -> None:
    from gate.ingest._text import parse_timestamp

    parsed = parse_timestamp(text)
    assert parsed is not None
    assert parsed.isoformat() == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2024-13-01T00:00:00Z", "2024-01-01T25:00:00"])
def test_bad_timestamps_are_none(text: str) -> None:
    from gate.ingest._text import parse_timestamp

    assert parse_timestamp(text) is None


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        ("CRITICAL", Severity.CRITICAL),
        ("High", Severity.HIGH),
        (" medium ", Severity.MEDIUM),
        ("Negligible", Severity.NEGLIGIBLE),
        ("INFO", Severity.NEGLIGIBLE),
        ("Moderate", Severity.MEDIUM),
        ("UNKNOWN", Severity.UNKNOWN),
        ("", Severity.UNKNOWN),
    ],
)
def test_every_severity_word_scanners_write_is_read(word: str, severity: Severity) -> None:
    vulnerability = {"VulnerabilityID": "CVE-1", "Severity": word}
    report = {"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [vulnerability]}]}
    [finding] = read_report("r.json", json.dumps(report).encode()).findings
    assert finding.severity is severity


def test_the_severity_words_accepted_without_parsing_are_words_gate_reads_as_themselves() -> None:
    from gate.ingest._wire import _AS_WRITTEN

    # They skip the check a misspelt word fails: each must be a word Severity.parse knows, not one read as
    # UNKNOWN.
    assert {"CRITICAL", "Critical", "Negligible", "UNKNOWN"} <= _AS_WRITTEN
    for word in _AS_WRITTEN:
        assert Severity.parse(word).value == word.upper()


@pytest.mark.parametrize("level", [-1, 5, 9])
def test_a_vendor_severity_trivy_does_not_write_is_refused(level: int) -> None:
    vulnerability = {"VulnerabilityID": "CVE-1", "VendorSeverity": {"nvd": 4, "redhat": level}}
    report = {"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [vulnerability]}]}
    with pytest.raises(InputError, match=r"Vulnerabilities\[0\]\.VendorSeverity\.redhat: must be"):
        read_report("r.json", json.dumps(report).encode())


@pytest.mark.parametrize(
    ("source", "severity"),
    [
        ("nvd", Severity.MEDIUM),  # the vendor Trivy names as the source
        (None, Severity.CRITICAL),  # no source: the highest vendor's (fail closed)
        ("ghsa", Severity.CRITICAL),  # a source the map does not list: the same
    ],
)
def test_a_trivy_finding_without_severity_takes_its_vendor_severity(
    source: str | None, severity: Severity
) -> None:
    vulnerability: dict[str, object] = {"VulnerabilityID": "CVE-1", "VendorSeverity": {"nvd": 2, "alpine": 4}}
    if source is not None:
        vulnerability["SeveritySource"] = source
    report = {"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [vulnerability]}]}
    [finding] = read_report("r.json", json.dumps(report).encode()).findings
    assert finding.severity is severity


@pytest.mark.parametrize(
    ("source", "cvss", "chosen"),
    [
        # CVE-2018-12699 in binutils of a Debian image (defectdojo-trivy--issue_9333.json): Debian gives no score
        ("debian", {"nvd": 9.8, "redhat": 3.3}, ("nvd", 9.8)),
        ("nvd", {"nvd": 7.5, "redhat": 5.5}, ("nvd", 7.5)),  # Alpine's findings: the severity is NVD's
        ("ghsa", {"nvd": 9.8, "ghsa": 7.5, "redhat": 8.1}, ("ghsa", 7.5)),  # the advisory's own
        ("redhat", {"nvd": 9.8, "redhat": 8.1}, ("redhat", 8.1)),  # a Red Hat image
        ("debian", {"redhat": 8.1}, ("redhat", 8.1)),  # no vendor's, no NVD's: a third party's over none
        (None, {"nvd": 9.8, "redhat": 3.3}, ("redhat", 3.3)),  # no source named: all but NVD's are vendors
    ],
)
def test_the_vendor_cvss_of_a_trivy_finding_is_its_severity_sources(
    source: str | None, cvss: dict[str, float], chosen: tuple[str, float]
) -> None:
    # Trivy lists every source's scores, whatever the package: Red Hat's score of a Debian package is not the
    # vendor's, and read as it, a `cvss = ">=9"` rule under cvss_source = "vendor" passed NVD's 9.8.
    vulnerability: dict[str, object] = {
        "VulnerabilityID": "CVE-2018-12699",
        "Severity": "LOW",
        "CVSS": {name: {"V3Score": score} for name, score in cvss.items()},
    }
    if source is not None:
        vulnerability["SeveritySource"] = source
    report = {
        **CLEAN_TRIVY,
        "Results": [{"Target": "t", "Type": "debian", "Vulnerabilities": [vulnerability]}],
    }
    [finding] = read_report("r.json", json.dumps(report).encode()).findings
    vendor = chosen_cvss(finding, CvssSource.VENDOR)
    assert vendor is not None and (vendor.source, vendor.score) == chosen
    highest = chosen_cvss(finding, CvssSource.HIGHEST)  # `highest` still reads every source's
    assert highest is not None and highest.score == max(cvss.values())


@pytest.mark.parametrize("blank", ["", "  ", "\t\n"])
def test_a_trivy_finding_with_a_blank_severity_takes_its_vendor_severity(blank: str) -> None:
    # Blank says no more than empty: read as UNKNOWN, a critical finding would pass a gate on severity.
    vulnerability = {"VulnerabilityID": "CVE-1", "Severity": blank, "VendorSeverity": {"nvd": 4}}
    report = {"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [vulnerability]}]}
    [finding] = read_report("r.json", json.dumps(report).encode()).findings
    assert finding.severity is Severity.CRITICAL


@pytest.mark.parametrize(
    ("own", "related", "severity"),
    [
        # `grype --by-cve`: the CVE's record, which NVD has not scored, in place of the advisory that matched
        (None, ["High"], Severity.HIGH),
        ("Unknown", ["Medium", "Critical"], Severity.CRITICAL),  # the highest: fail closed
        ("Low", ["Critical"], Severity.LOW),  # the record's own word stands
        ("Negligible", ["High"], Severity.NEGLIGIBLE),
        (None, [None], Severity.UNKNOWN),
    ],
)
def test_a_grype_match_without_severity_takes_its_related_vulnerabilities(
    own: str | None, related: list[str | None], severity: Severity
) -> None:
    vulnerability: dict[str, object] = {"id": "CVE-1", "fix": {"versions": ["1.26.0"], "state": "fixed"}}
    if own is not None:
        vulnerability["severity"] = own
    others = [{"id": f"GHSA-{n}", **({"severity": s} if s else {})} for n, s in enumerate(related)]
    match = {"vulnerability": vulnerability, "relatedVulnerabilities": others, "artifact": {"name": "a"}}
    [finding] = read_report("r.json", json.dumps({"matches": [match], "source": {}}).encode()).findings
    assert finding.severity is severity


def test_a_real_grype_by_cve_match_without_severity_is_gated_as_its_advisory() -> None:
    need_shared()
    path = REAL / "grype" / "defectdojo-grype--issue_9618.json"
    findings = read_report(str(path), path.read_bytes()).findings
    [finding] = [f for f in findings if f.id == "CVE-2024-26308"]
    assert (finding.severity, finding.fixable) == (Severity.HIGH, True)  # GHSA-4265-ccf5-phj5: High


def test_a_grype_match_scored_for_several_cves_takes_the_highest_epss() -> None:
    # An advisory (GHSA, ALAS) lists the EPSS of each of its CVEs; Grype ranks a match by the highest (its
    # presenter's epssPercentile), and so does `--epss`. The first, or the one named like the match, could be the
    # lowest, and an `epss` limit would pass the advisory.
    scores = [
        {"cve": "CVE-2024-1", "epss": 0.001, "percentile": 0.2, "date": "2025-06-18"},
        {"cve": "CVE-2024-2", "epss": 0.9, "percentile": 0.99, "date": "2025-06-18"},
    ]
    for named in ("ALAS-2024-9", "CVE-2024-1"):
        vulnerability = {"id": named, "severity": "High", "epss": scores}
        match = {"vulnerability": vulnerability, "artifact": {"name": "a", "version": "1"}}
        [finding] = read_report("r.json", json.dumps({"matches": [match], "source": {}}).encode()).findings
        assert (finding.epss, finding.epss_percentile) == (0.9, 0.99)


@pytest.mark.parametrize(
    ("fix", "state"),
    [
        ({"versions": ["3.1.6-r0"], "state": "unknown"}, FixState.FIXED),  # versions outweigh "unknown"
        ({"versions": ["3.1.6-r0"]}, FixState.FIXED),
        ({"versions": ["3.1.6-r0"], "state": "wont-fix"}, FixState.WONT_FIX),  # Grype's word stands
        ({"versions": [], "state": "unknown"}, FixState.UNKNOWN),
    ],
)
def test_grype_fixed_versions_under_an_unknown_state_are_fixable(
    fix: dict[str, object], state: FixState
) -> None:
    vulnerability = {"id": "CVE-1", "severity": "Critical", "fix": fix}
    report = {
        "matches": [{"vulnerability": vulnerability, "artifact": {"name": "a", "version": "1"}}],
        "source": {},
    }
    [finding] = read_report("r.json", json.dumps(report).encode()).findings
    assert finding.fix_state is state
    assert finding.fixable is (state is FixState.FIXED)


def test_the_platform_of_the_image_from_trivy_and_grype() -> None:
    """Trivy's image config and Grype's target (or its config) give `os/architecture[/variant]`."""
    config = {"os": "linux", "architecture": "arm", "variant": "v7", "config": {}}
    image_id = "sha256:" + "a" * 64
    trivy = {
        "SchemaVersion": 2,
        "ArtifactName": "app:1",
        "ArtifactType": "container_image",
        "Metadata": {"ImageID": image_id, "ImageConfig": config},
        "Results": [],
    }
    scan = read_report("t.json", json.dumps(trivy).encode())
    assert scan.image is not None and scan.image.platform == "linux/arm/v7"

    def grype(**target: str) -> str:
        report = {"matches": [], "source": {"type": "image", "target": {"userInput": "app:1", **target}}}
        scan = read_report("g.json", json.dumps(report).encode())
        assert scan.image is not None
        return scan.image.platform

    assert grype(os="linux", architecture="arm", architectureVariant="v6") == "linux/arm/v6"
    assert grype(os="linux", architecture="amd64") == "linux/amd64"
    assert grype(architecture="amd64") == ""  # no os


@pytest.mark.parametrize(("status", "failed"), [("FAIL", True), ("fail", True), (None, True), ("  ", True),
                                                 ("PASS", False)])  # fmt: skip
def test_only_a_failed_trivy_misconfiguration_is_a_finding(status: str | None, failed: bool) -> None:
    misconfiguration = {"ID": "DS002", "Severity": "HIGH", "Status": status}
    report = {**CLEAN_TRIVY, "Results": [{"Target": "Dockerfile", "Misconfigurations": [misconfiguration]}]}
    findings = read_report("r.json", json.dumps(report).encode()).findings
    assert [(f.id, f.suppressed) for f in findings] == ([("DS002", None)] if failed else [])


@pytest.mark.parametrize(
    ("check", "aliases"),
    [
        ({"ID": "DS-0002"}, ("AVD-DS-0002", "DS002")),  # Trivy 0.6x and later
        ({"ID": "DS002", "AVDID": "AVD-DS-0002"}, ("AVD-DS-0002", "DS-0002")),  # earlier releases
        ({"ID": "AWS-0086"}, ("AVD-AWS-0086",)),
        ({"ID": "AVD-AWS-0143", "AVDID": "AVD-AWS-0143"}, ("AWS-0143",)),
        ({"ID": "KSV001", "AVDID": "AVD-KSV-0001"}, ("AVD-KSV-0001", "KSV-0001")),
        ({"ID": "custom-check", "AVDID": "custom-check"}, ()),
        ({"ID": "team-1", "AVDID": "AVD-TEAM-0001"}, ("AVD-TEAM-0001", "TEAM-0001")),
    ],
)
def test_a_trivy_check_has_the_names_of_every_trivy_release(
    check: dict[str, str], aliases: tuple[str, ...]
) -> None:
    # trivy-checks renamed DS002 / AVD-DS-0002 to DS-0002: a rule's ids or a waiver written for one release would
    # not name the same check in another's report.
    misconfiguration = {**check, "Severity": "HIGH", "Status": "FAIL"}
    report = {**CLEAN_TRIVY, "Results": [{"Target": "Dockerfile", "Misconfigurations": [misconfiguration]}]}
    [finding] = read_report("r.json", json.dumps(report).encode()).findings
    assert (finding.id, finding.aliases) == (check["ID"], aliases)


@pytest.mark.parametrize("status", ["EXCEPTION", "exception"])
def test_a_trivy_misconfiguration_excepted_by_the_scanner_is_suppressed_by_an_ignore_rule(
    status: str,
) -> None:
    # A failed check an exception of Trivy's configuration let through: gated under honor_scanner_ignores = false.
    misconfiguration = {"ID": "DS002", "Severity": "HIGH", "Status": status}
    report = {**CLEAN_TRIVY, "Results": [{"Target": "Dockerfile", "Misconfigurations": [misconfiguration]}]}
    [finding] = read_report("r.json", json.dumps(report).encode()).findings
    assert finding.id == "DS002"
    assert finding.suppressed is not None and finding.suppressed.by_ignore_rule
    assert "Status EXCEPTION" in finding.suppressed.source


@pytest.mark.parametrize("status", ["FAILED", "failure", "ERROR", "\u200bFAIL"])
def test_a_trivy_misconfiguration_status_trivy_does_not_write_is_refused(status: str) -> None:
    # Read as anything but a failure, a failed check would be dropped without a word.
    misconfiguration = {"ID": "DS002", "Severity": "HIGH", "Status": status}
    report = {**CLEAN_TRIVY, "Results": [{"Target": "Dockerfile", "Misconfigurations": [misconfiguration]}]}
    with pytest.raises(
        InputError, match=r"^r\.json: Results\[0\]\.Misconfigurations\[0\]\.Status: not a status Trivy writes"
    ):
        read_report("r.json", json.dumps(report).encode())


@pytest.mark.parametrize("artifact_type", ["CONTAINER_IMAGE", "container-image", "image", "", "\u200b"])
def test_a_trivy_artifact_type_trivy_does_not_write_is_refused(artifact_type: str) -> None:
    # Read as not an image, it would skip the image checks and pass an image never checked.
    report = {**CLEAN_TRIVY, "ArtifactType": artifact_type, "Metadata": {"RepoTags": ["alpine:3.19"]}}
    with pytest.raises(InputError, match=r"^r\.json: ArtifactType: expected 'container_image', 'filesystem'"):
        read_report("r.json", json.dumps(report).encode())


@pytest.mark.parametrize("artifact_type", ["container_image", "filesystem", "repository", "vm"])
def test_the_artifact_types_trivy_writes_are_read(artifact_type: str) -> None:
    scan = read_report("r.json", json.dumps({**CLEAN_TRIVY, "ArtifactType": artifact_type}).encode())
    assert scan.artifact_type == artifact_type
    assert scan.is_image is (artifact_type == "container_image")


@pytest.mark.parametrize("source_type", ["IMAGE", "Image", "container_image", "", "docker"])
def test_a_grype_source_type_grype_does_not_write_is_refused(source_type: str) -> None:
    # Read as not an image, it would skip the image checks and pass an image never checked.
    report = {**CLEAN_GRYPE, "source": {"type": source_type, "target": {"userInput": "alpine:3.19"}}}
    with pytest.raises(InputError, match=r"^r\.json: source\.type: expected 'image', 'directory'"):
        read_report("r.json", json.dumps(report).encode())


@pytest.mark.parametrize(
    ("source_type", "target"),
    [("image", {"userInput": "alpine:3.19"}), ("directory", "."), ("file", "app.jar"),
     ("sbom-file", "s.json"), ("purl-file", "purls.txt"), ("purl", "pkg:npm/a@1"), ("unknown", "unknown")],
)  # fmt: skip
def test_the_source_types_grype_writes_are_read(source_type: str, target: object) -> None:
    scan = read_report(
        "r.json", json.dumps({**CLEAN_GRYPE, "source": {"type": source_type, "target": target}}).encode()
    )
    assert scan.is_image is (source_type == "image")
    assert scan.artifact_type == ("container_image" if source_type == "image" else source_type)


@pytest.mark.parametrize(
    ("report", "where"),
    [
        ({**CLEAN_TRIVY, "Metadata": {"Size": -500_000_000}}, r"Metadata\.Size"),
        ({**CLEAN_GRYPE, "source": {"type": "image", "target": {"userInput": "a:1", "imageSize": -1}}},
         r"source\.target\.imageSize"),
    ],
)  # fmt: skip
def test_a_negative_image_size_in_a_report_is_refused(report: dict[str, object], where: str) -> None:
    # It would pass any image-size limit.
    with pytest.raises(InputError, match=rf"^r\.json: {where}: must be at least 0 \(got -"):
        read_report("r.json", json.dumps(report).encode())


MODIFIED_CRITICAL = {
    "VulnerabilityID": "CVE-1",
    "PkgName": "x",
    "InstalledVersion": "1",
    "Severity": "CRITICAL",
}


@pytest.mark.parametrize("status", ["filtered", "NOT_AFFECTED", "waived"])
def test_a_trivy_modified_finding_status_trivy_does_not_write_is_refused(status: str) -> None:
    # `filtered` would pass for Grype's own matching rules, which suppress even where ignore rules are not
    # honored.
    modified = {"Type": "vulnerability", "Status": status, "Finding": MODIFIED_CRITICAL}
    report = {**CLEAN_TRIVY, "Results": [{"Target": "t", "ExperimentalModifiedFindings": [modified]}]}
    with pytest.raises(
        InputError,
        match=r"^r\.json: Results\[0\]\.ExperimentalModifiedFindings\[0\]\.Status: expected 'ignored'",
    ):
        read_report("r.json", json.dumps(report).encode())


@pytest.mark.parametrize(("status", "ignore_rule"), [("ignored", True), ("not_affected", False),
                                                     ("fixed", False), ("affected", True),
                                                     ("under_investigation", True)])  # fmt: skip
def test_the_modified_finding_statuses_trivy_writes_are_read(status: str, ignore_rule: bool) -> None:
    modified = {"Type": "vulnerability", "Status": status, "Finding": MODIFIED_CRITICAL}
    report = {**CLEAN_TRIVY, "Results": [{"Target": "t", "ExperimentalModifiedFindings": [modified]}]}
    [finding] = read_report("r.json", json.dumps(report).encode()).findings
    assert finding.suppressed is not None and finding.suppressed.by_ignore_rule is ignore_rule


@pytest.mark.parametrize("status", ["filtered", "NOT_AFFECTED", "waived"])
def test_a_grype_vex_status_grype_does_not_write_is_refused(status: str) -> None:
    ignored = {
        "vulnerability": {"id": "CVE-1", "severity": "Critical"},
        "artifact": {"name": "x", "version": "1"},
        "appliedIgnoreRules": [{"vulnerability": "CVE-1", "vex-status": status}],
    }
    with pytest.raises(
        InputError, match=r"^r\.json: ignoredMatches\[0\]\.appliedIgnoreRules\[0\]\.vex-status: expected ''"
    ):
        read_report("r.json", json.dumps({**CLEAN_GRYPE, "ignoredMatches": [ignored]}).encode())


def test_a_grype_image_config_nested_too_deeply_is_refused() -> None:
    config = "[" * 100_000 + "]" * 100_000
    target = {"userInput": "a:1", "config": base64.b64encode(config.encode()).decode()}
    report = {**CLEAN_GRYPE, "source": {"type": "image", "target": target}}
    with pytest.raises(InputError, match=r"^r\.json: source\.target\.config is nested too deeply"):
        read_report("r.json", json.dumps(report).encode())


@pytest.mark.parametrize(
    ("config", "why"),
    [
        ("!!!", "is not base64"),  # not Python's "Only base64 data is allowed" or "Incorrect padding"
        (base64.b64encode(b"not json").decode(), "is not JSON once decoded"),  # not "Expecting value: ..."
        (base64.b64encode(b"[1]").decode(), "is not a JSON object"),
    ],
)
def test_a_grype_image_config_that_is_not_one_says_so_in_words(config: str, why: str) -> None:
    target = {"userInput": "a:1", "config": config}
    report = {**CLEAN_GRYPE, "source": {"type": "image", "target": target}}
    with pytest.raises(InputError, match=rf"^r\.json: source\.target\.config {why}; the report is damaged$"):
        read_report("r.json", json.dumps(report).encode())


@pytest.mark.parametrize("score", ["NaN", "Infinity", "-Infinity"])
def test_a_grype_risk_that_is_not_a_number_is_refused(score: str) -> None:
    match = {"vulnerability": {"id": "CVE-1", "severity": "High", "risk": 0.5}, "artifact": {"name": "x"}}
    document = json.dumps({**CLEAN_GRYPE, "matches": [match]}).replace("0.5", score)
    with pytest.raises(
        InputError, match=r"^r\.json: matches\[0\]\.vulnerability\.risk: expected a finite number"
    ):
        read_report("r.json", document.encode())
