"""SARIF: schema-valid and acceptable to GitHub code scanning for every real fixture; stable identities."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gate.errors import OutputError
from gate.ingest import read_report
from gate.model import Package, Severity
from gate.policy.decision import Decision
from gate.policy.engine import evaluate
from gate.policy.schema import load_policy
from gate.report import sarif
from gate.report._common import FileLocation
from tests.conftest import REAL, TODAY, need_shared, write_policy
from tests.report.helpers import (
    decide,
    fixture_decision,
    github_sarif_problems,
    one_finding,
    readable_fixtures,
    schema,
    synthetic_scan,
)


def _validator() -> jsonschema.protocols.Validator:
    document = schema("sarif-schema-2.1.0.json")
    cls = jsonschema.validators.validator_for(document)
    return cls(document)


def _log(decision: Decision, **options: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(sarif.render(decision, **options))
    return loaded


@pytest.mark.parametrize("path", readable_fixtures(), ids=lambda p: p.name)
def test_every_fixture_gives_sarif_github_accepts(path: Path) -> None:
    log = _log(fixture_decision(path))
    errors = [e.message for e in _validator().iter_errors(log)]
    assert errors == []
    assert github_sarif_problems(log) == []


def test_fixtures_were_found() -> None:
    need_shared()
    assert len(readable_fixtures()) > 90


def test_dockerfile_location_and_problems() -> None:
    need_shared()
    decision = decide(REAL / "trivy" / "trivy-integ--alpine-39.json")
    log = _log(decision, location=FileLocation(path="docker/app image/Dockerfile", line=7))
    assert github_sarif_problems(log) == []
    for result in log["runs"][0]["results"]:
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "docker/app%20image/Dockerfile"
        assert physical["region"]["startLine"] == 7


def test_run_shape_rules_levels_and_messages() -> None:
    need_shared()
    run = _log(decide(REAL / "trivy" / "trivy-integ--alpine-39.json"))["runs"][0]
    assert run["automationDetails"]["id"] == "container-gate/testdata/fixtures/images/alpine-39.tar.gz/"
    assert run["tool"]["driver"]["name"] == "container-gate"
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    cve = rules["CVE-2019-14697"]
    assert cve["properties"]["security-severity"] == "9.8"
    assert "security" in cve["properties"]["tags"]
    assert cve["helpUri"] == "https://nvd.nist.gov/vuln/detail/CVE-2019-14697"
    assert "| musl | 1.1.20-r4 | 1.1.20-r5 | CRITICAL |" in cve["help"]["markdown"]
    assert rules["non-root-user"]["name"] == "ImageCheck"
    levels = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]): r["level"]
        for r in run["results"]
    }
    prefix = "container-images/testdata/fixtures/images/alpine-39.tar.gz/"
    assert levels[("CVE-2019-14697", prefix + "musl")] == "error"
    assert levels[("non-root-user", prefix + "image-config")] == "warning"
    assert levels[("CVE-2019-1549", prefix + "libssl1.1")] == "note"
    first = run["results"][0]["message"]["text"]
    assert first.startswith(
        "CVE-2019-14697 in musl 1.1.20-r4 (image testdata/fixtures/images/alpine-39.tar.gz)"
    )
    assert "Fails rule fixable-critical-high" in first
    assert run["properties"]["truncated"] is False


def test_waived_findings_are_suppressions_with_the_reason() -> None:
    need_shared()
    run = _log(decide(REAL / "trivy" / "trivy-integ--alpine-39.json", "waivers.toml"))["runs"][0]
    suppressed = {
        r["ruleId"] + " " + r["properties"]["package"]: r for r in run["results"] if "suppressions" in r
    }
    assert sorted(suppressed) == [
        "CVE-2019-14697 musl",
        "CVE-2019-1549 libcrypto1.1",
        "CVE-2019-1549 libssl1.1",
    ]
    musl = suppressed["CVE-2019-14697 musl"]["suppressions"][0]
    assert musl["kind"] == "external" and musl["status"] == "accepted"
    assert musl["justification"].startswith("musl is only linked by the build stage")
    assert musl["properties"] == {"waiver": "CVE-2019-14697", "expires": "2026-12-05"}
    # open results come before waived ones
    flags = ["suppressions" in r for r in run["results"]]
    assert flags == sorted(flags)


def test_fingerprints_survive_a_version_bump_and_the_dockerfile_option() -> None:
    need_shared()
    path = REAL / "trivy" / "trivy-integ--alpine-39.json"
    bumped = path.read_bytes().replace(b"1.1.20-r4", b"1.1.20-r9")  # musl moved on, still vulnerable
    other = evaluate(read_report(path.name, bumped), load_policy("builtin:default"), today=TODAY)
    assert other.images[0].outcomes != decide(path).images[0].outcomes

    def prints(log: dict[str, Any]) -> dict[str, str]:
        return {
            r["ruleId"] + "/" + r.get("properties", {}).get("package", ""): r["partialFingerprints"][
                "primaryLocationLineHash"
            ]
            for r in log["runs"][0]["results"]
        }

    before = prints(_log(decide(path)))
    assert before == prints(_log(other))
    assert before == prints(_log(decide(path), location=FileLocation(path="Dockerfile", line=3)))
    assert len(set(before.values())) == len(before)
    assert all(value.endswith(":1") for value in before.values())


def test_no_two_results_share_a_fingerprint_whatever_the_versions_say() -> None:
    # Three results of one package and rule (IDs that read alike on one line) and a version holding `|`: the
    # fallback of the last result (version `a`, place 4) was the fingerprint of the third (version `a|4`), so
    # GitHub would fold the two into one alert.
    scan = synthetic_scan(1)
    first = scan.findings[0].model_copy(
        update={"id": "CVE-2024-1", "package": Package(name="p", version="a", type="deb")}
    )
    findings = (
        first,
        first.model_copy(update={"id": "CVE-2024-1 "}),
        first.model_copy(
            update={"severity": Severity.HIGH, "package": Package(name="p", version="a|4", type="deb")}
        ),
        first.model_copy(update={"id": "CVE-2024-1  ", "severity": Severity.MEDIUM}),
    )
    decision = evaluate(
        scan.model_copy(update={"findings": findings}), load_policy("builtin:default"), today=TODAY
    )
    results = _log(decision)["runs"][0]["results"]
    assert [r["ruleId"] for r in results].count("CVE-2024-1") == 4
    prints = [r["partialFingerprints"]["primaryLocationLineHash"] for r in results]
    assert len(set(prints)) == len(prints)


def test_a_policy_title_of_only_invisible_characters_leaves_no_description_empty(tmp_path: Path) -> None:
    # GitHub takes an empty shortDescription for a missing one and refuses the whole file. A policy (which a pull
    # request may change) can give a rule a title of control or invisible characters, which the gate drops.
    policy = write_policy(
        tmp_path,
        'version = 1\n[[rules]]\nid = "hygiene"\ntitle = "\\ufffe\\u007f"\naction = "fail"\n'
        'image = { user = "non-root" }\n',
    )
    log = _log(evaluate(synthetic_scan(1), load_policy(str(policy)), today=TODAY))
    assert github_sarif_problems(log) == []
    (rule,) = [r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "non-root-user"]
    assert rule["shortDescription"]["text"] == "non-root-user"
    (result,) = [r for r in log["runs"][0]["results"] if r["ruleId"] == "non-root-user"]
    assert result["message"]["text"].endswith("Fails rule hygiene.")


def test_one_run_per_image_with_distinct_categories() -> None:
    need_shared()
    one = decide(REAL / "trivy" / "trivy-integ--alpine-39.json")
    other = decide(REAL / "grype" / "defectdojo-grype--check_all_fields.json")
    both = one.model_copy(update={"images": (*one.images, *other.images, *one.images)})
    log = _log(both)
    assert len(log["runs"]) == 3
    assert [r["automationDetails"]["id"] for r in log["runs"]] == [
        "container-gate/testdata/fixtures/images/alpine-39.tar.gz/",
        "container-gate/vulnerable-image/",
        "container-gate/testdata/fixtures/images/alpine-39.tar.gz-2/",
    ]
    assert github_sarif_problems(log) == []


def test_a_windows_path_has_the_category_of_the_same_path_with_slashes() -> None:
    # Trivy run on Windows names a tarball `C:\build\app.tar`. Keyed `C`, every tarball on drive C shared one
    # category, and the upload of one image's SARIF closed the alerts of another's.
    need_shared()
    one = decide(REAL / "trivy" / "trivy-integ--alpine-39.json")

    def category(name: str) -> str:
        image = one.images[0].model_copy(update={"name": name})
        run = _log(one.model_copy(update={"images": (image,)}))["runs"][0]
        return str(run["automationDetails"]["id"])

    assert category("C:\\build\\app.tar") == category("/build/app.tar") == "container-gate/build/app.tar/"
    assert category("C:\\build\\worker.tar") == "container-gate/build/worker.tar/"


def test_too_many_images_is_an_output_error() -> None:
    need_shared()
    one = decide(REAL / "trivy" / "trivy-integ--alpine-39.json")
    many = one.model_copy(update={"images": one.images * 21})
    with pytest.raises(OutputError, match="at most 20 runs"):
        sarif.render(many)


def test_cap_keeps_the_most_severe_and_says_so() -> None:
    decision = evaluate(synthetic_scan(6_000, text=100), load_policy("builtin:default"), today=TODAY)
    text = sarif.render(decision)
    log = json.loads(text)
    run = log["runs"][0]
    assert len(run["results"]) == 5_000
    assert run["properties"]["truncated"] is True
    assert run["properties"]["resultsTotal"] == 6_001  # 6,000 findings and the root-user check
    assert "1001 of 6001 results left out" in run["properties"]["truncation"]
    kept = {r["ruleId"] for r in run["results"]}
    severities = [r["properties"]["severity"] for r in run["results"]]
    assert severities.count("CRITICAL") == 1_500 and severities.count("HIGH") == 1_500
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == kept
    assert github_sarif_problems(log) == []
    assert len(gzip.compress(text.encode())) < 10_000_000


def test_serializer_drops_none_and_defaults() -> None:
    need_shared()
    text = sarif.render(decide(REAL / "trivy" / "trivy-integ--alpine-39.json"))
    assert "null" not in text
    assert '"ruleIndex": -1' not in text and '"language"' not in text and '"newlineSequences"' not in text
    assert '"level": "warning"' in text  # level is written even when it is SARIF's default


def test_waiver_rules_are_policy_checks_not_vulnerabilities() -> None:
    need_shared()
    run = _log(decide(REAL / "trivy" / "trivy-integ--alpine-39.json", "waivers.toml"))["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["waiver-expired"]["name"] == "PolicyCheck"
    assert rules["CVE-2019-1551"]["name"] == "PackageVulnerability"  # not mixed with the expired waiver
    expired = [r for r in run["results"] if r["ruleId"] == "waiver-expired"]
    assert len(expired) == 1 and expired[0]["level"] == "error"
    uri = expired[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "container-images/testdata/fixtures/images/alpine-39.tar.gz/waivers/CVE-2019-1551"


def test_findings_suppressed_before_the_gate_are_sarif_suppressions_with_their_statement() -> None:
    from gate.ingest import read_report
    from gate.policy.engine import evaluate
    from gate.policy.schema import load_policy
    from gate.report import sarif
    from tests.conftest import REAL, TODAY, need_shared

    need_shared()
    path = REAL / "trivy" / "ci-steadybit-shop--steadybit-orders.json"
    decision = evaluate(
        read_report(str(path), path.read_bytes()), load_policy("builtin:default"), today=TODAY
    )
    assert len(decision.images[0].suppressed) == 3
    results = json.loads(sarif.render(decision))["runs"][0]["results"]
    suppressed = [r for r in results if r.get("suppressions")]
    assert {r["ruleId"] for r in suppressed} == {"CVE-2026-25210", "CVE-2026-39304", "GHSA-2m67-wjpj-xhg9"}
    for result in suppressed:
        assert result["level"] == "note"
        assert result["suppressions"][0]["kind"] == "external"
        assert "Wait for upstream fix" in result["suppressions"][0]["justification"]
        assert result["properties"]["action"] == "suppressed"


def _link_free(text: str) -> bool:
    """True when every `[`, `]` and `\\` of a plain-text SARIF message is backslash-escaped (§3.11.6)."""
    return re.fullmatch(r"(?:[^\\\[\]]|\\[\\\[\]])*", text) is not None


def test_result_message_escapes_brackets_and_backslashes() -> None:
    # SARIF 2.1.0 §3.11.6: a plain-text message may embed links `[text](uri)`; literal `[`, `]` and `\\`
    # are escaped with a backslash, so report text cannot make one.
    package = Package(name="[click](https://evil.example) a\\b", version="1.0]", type="deb")
    log = json.loads(sarif.render(one_finding(package=package, fixed_versions=("[2.0](3)",))))
    message = log["runs"][0]["results"][0]["message"]["text"]
    assert message.startswith("CVE-2024-10000 in \\[click\\](https://evil.example) a\\\\b 1.0\\] (image ")
    assert "fixed in \\[2.0\\](3)" in message
    assert _link_free(message)
    rule = log["runs"][0]["tool"]["driver"]["rules"][0]
    assert "[click](https://evil.example)" in rule["help"]["text"]  # multiformat strings: not this rule


def test_long_result_message_is_cut_between_escapes() -> None:
    package = Package(name="[" * 300, version="]" * 300, type="deb")
    decision = one_finding(id="[" * 300, image="[" * 400, package=package, fixed_versions=("]" * 300,))
    log = json.loads(sarif.render(decision))
    message = log["runs"][0]["results"][0]["message"]["text"]
    assert len(message) <= 2000 and message.endswith("…")
    assert _link_free(message.removesuffix("…"))


def test_a_stale_report_is_a_result_github_accepts() -> None:
    need_shared()
    default = load_policy("builtin:default")
    limits = {"max_report_age_days": 30, "max_db_age_days": 30}
    policy = default.model_copy(update={"settings": default.settings.model_copy(update=limits)})
    path = REAL / "grype" / "ci-klass-web--grype-report.json"  # made 2026-06-23, database built 2026-06-22
    decision = evaluate(read_report(str(path), path.read_bytes()), policy, today=TODAY)
    log = _log(decision)
    assert [e.message for e in _validator().iter_errors(log)] == []
    assert github_sarif_problems(log) == []
    stale = [r for r in log["runs"][0]["results"] if r["ruleId"] == "stale-report"]
    places = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].rsplit("/", 1)[1] for r in stale
    ]
    assert places == ["database-age", "report-age"]
    assert all(r["level"] == "error" for r in stale)


def test_untrusted_properties_are_clipped() -> None:
    # A hostile report: a 1 MB package name, a 100 kB version and image, 10,000 fixed versions. Every property
    # of a result, a run and a suppression is shortened, so the file stays small and valid.
    package = Package(name="n" * 1_000_000, version="v" * 100_000, type="deb")
    fixed = tuple(f"{i}." + "x" * 200 for i in range(10_000))
    decision = one_finding(package=package, fixed_versions=fixed, image="registry.example/" + "i" * 100_000)
    text = sarif.render(decision)
    assert len(text) < 100_000
    log = json.loads(text)
    assert [e.message for e in _validator().iter_errors(log)] == []
    assert github_sarif_problems(log) == []
    run = log["runs"][0]
    props = run["results"][0]["properties"]
    assert len(props["package"]) == 200 and props["package"].endswith("…")
    assert len(props["installedVersion"]) == 100
    assert len(props["image"]) == 300
    assert len(run["properties"]["image"]) == 300
    assert len(props["fixedVersions"]) == 20
    assert all(len(v) == 100 for v in props["fixedVersions"])
    assert props["fixedVersions"][0].startswith("0.xx")
    assert props["fixedVersionsLeftOut"] == 9_980


def test_a_few_short_fixed_versions_are_listed_whole() -> None:
    log = json.loads(sarif.render(one_finding(fixed_versions=("1.1", "1.2"))))
    props = log["runs"][0]["results"][0]["properties"]
    assert props["fixedVersions"] == ["1.1", "1.2"]
    assert "fixedVersionsLeftOut" not in props
