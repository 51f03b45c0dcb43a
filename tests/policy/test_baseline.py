"""Baselines: only what a change introduced fails; the ratchet says new, fixed, still present, better or worse."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from gate.cli import main
from gate.errors import InputError, PolicyError
from gate.ingest import parse_report, read_report
from gate.model import Image, Scan, Severity
from gate.policy.baseline import attach, compare, mismatch_note, pair_baselines, platformless_note
from gate.policy.decision import Trend, Verdict
from gate.policy.engine import evaluate
from gate.policy.schema import load_policy
from tests.conftest import REAL, TODAY, need_shared, write_policy

JUICE = "trivy/securecodebox-trivy--juice-shop-v12.10.2.json"
JUICE_CLEAN = "trivy/securecodebox-trivy--juice-shop-v12.10.2-empty-results.json"
ALPINE = "trivy/trivy-integ--alpine-310.json"


def _scan(name: str) -> Scan:
    need_shared()
    return read_report(name, (REAL / name).read_bytes())


def _raw(name: str) -> dict[str, Any]:
    need_shared()
    data: dict[str, Any] = json.loads((REAL / name).read_bytes())
    return data


def _from(data: dict[str, Any], source: str) -> Scan:
    return parse_report(json.dumps(data).encode(), source)


def _vulns(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for result in data["Results"] for v in result.get("Vulnerabilities") or ()]


def test_a_report_against_itself_passes() -> None:
    juice = _scan(JUICE)
    policy = load_policy("builtin:default")
    # Without a baseline: 120 fixable critical or high findings fail.
    assert evaluate(juice, policy, today=TODAY).verdict is Verdict.FAIL
    marked, ratchet = compare(juice, juice)
    decision = evaluate(marked, policy, today=TODAY)
    assert decision.verdict is Verdict.PASS
    assert (ratchet.new, ratchet.existing, len(ratchet.fixed), ratchet.trend) == (0, 185, 0, Trend.SAME)
    rule = next(r for r in decision.images[0].rules if r.rule_id == "fixable-critical-high")
    assert (rule.matched, rule.existing) == (0, 120)
    assert "120 already in the baseline" in rule.explanation
    assert all(o.finding.baseline == "existing" for o in decision.images[0].outcomes)


def test_against_a_clean_report_every_finding_is_new_and_fails() -> None:
    juice, clean = _scan(JUICE), _scan(JUICE_CLEAN)
    assert clean.findings == ()
    marked, ratchet = compare(juice, clean)
    decision = evaluate(marked, load_policy("builtin:default"), today=TODAY)
    plain = evaluate(juice, load_policy("builtin:default"), today=TODAY)
    assert decision.verdict is Verdict.FAIL
    assert len(decision.violations) == len(plain.violations) == 130  # 122 failing + 8 warnings
    assert (ratchet.new, ratchet.existing, ratchet.fixed, ratchet.trend) == (185, 0, (), Trend.WORSE)
    assert ratchet.before[Severity.CRITICAL] == 0
    assert ratchet.after[Severity.CRITICAL] == 28


def test_a_version_bump_of_a_still_vulnerable_package_is_not_new() -> None:
    data = _raw(ALPINE)
    bumped = copy.deepcopy(data)
    for vuln in _vulns(bumped):
        if vuln["PkgName"] == "libssl1.1":
            assert vuln["InstalledVersion"] == "1.1.1c-r0"
            vuln["InstalledVersion"] = "1.1.1c-r1"  # rebuilt with a newer release, still below the fix
    baseline, current = _from(data, "main.json"), _from(bumped, "pr.json")
    assert {f.package.version for f in current.findings if f.package and f.package.name == "libssl1.1"} == {
        "1.1.1c-r1"
    }
    marked, ratchet = compare(current, baseline)
    assert [f.baseline for f in marked.findings] == ["existing"] * 4
    assert (ratchet.new, ratchet.existing, ratchet.fixed) == (0, 4, ())


def test_a_version_bump_of_a_language_package_is_not_new() -> None:
    data = _raw(JUICE)
    bumped = copy.deepcopy(data)
    lodash = [v for v in _vulns(bumped) if v["PkgName"] == "lodash"]
    assert lodash
    for vuln in lodash:
        vuln["InstalledVersion"] = "4.17.15"
    _, ratchet = compare(_from(bumped, "pr.json"), _from(data, "main.json"))
    assert ratchet.new == 0
    assert ratchet.existing == 185


def test_new_fixed_and_the_trend() -> None:
    data = _raw(ALPINE)
    changed = copy.deepcopy(data)
    vulns = changed["Results"][0]["Vulnerabilities"]
    gone = vulns.pop()  # the change fixed one finding ...
    added = copy.deepcopy(vulns[0])  # ... and brought a new, fixable HIGH one
    added.update(VulnerabilityID="CVE-2099-0001", Severity="HIGH")
    vulns.append(added)
    marked, ratchet = compare(_from(changed, "pr.json"), _from(data, "main.json"))
    assert [f.id for f in marked.findings if f.baseline == "new"] == ["CVE-2099-0001"]
    assert [(f.id, f.package.name if f.package else "") for f in ratchet.fixed] == [
        (gone["VulnerabilityID"], gone["PkgName"])
    ]
    assert (ratchet.new, ratchet.existing, ratchet.trend) == (1, 3, Trend.WORSE)
    decision = evaluate(marked, load_policy("builtin:default"), today=TODAY)
    assert [(v.rule_id, v.id) for v in decision.violations if v.action.value == "fail"] == [
        ("fixable-critical-high", "CVE-2099-0001")
    ]
    # Fixing without adding is better.
    only_fixed = copy.deepcopy(data)
    only_fixed["Results"][0]["Vulnerabilities"].pop()
    _, better = compare(_from(only_fixed, "pr.json"), _from(data, "main.json"))
    assert (better.new, len(better.fixed), better.trend) == (0, 1, Trend.BETTER)


def test_a_cve_is_new_even_when_the_baseline_has_another_cve_of_the_same_advisory() -> None:
    # In this real CentOS report CVE-2019-1559 and CVE-2018-0734 (openssl) are both fixed by RHSA-2019:2304,
    # which Trivy lists with each. Sharing the advisory does not make the baseline's CVE the new one.
    data = _raw("trivy/trivy-integ--centos-7.json")
    pair = [v for v in _vulns(data) if v["VulnerabilityID"] in ("CVE-2019-1559", "CVE-2018-0734")]
    assert {v["PkgName"] for v in pair} == {"openssl-libs"}
    assert all("RHSA-2019:2304" in v["VendorIDs"] for v in pair)
    main = copy.deepcopy(data)
    for result in main["Results"]:
        result["Vulnerabilities"] = [
            v for v in result.get("Vulnerabilities") or () if v["VulnerabilityID"] != "CVE-2019-1559"
        ]
    marked, ratchet = compare(_from(data, "pr.json"), _from(main, "main.json"))
    assert [f.id for f in marked.findings if f.baseline == "new"] == ["CVE-2019-1559"]
    assert ratchet.new == 1


def test_a_new_lockfile_with_packages_the_baseline_has_elsewhere_is_new() -> None:
    # A real repository scan: the pull request adds parser-sdk/nodejs (its lockfile's packages also occur
    # in other lockfiles of the baseline). Trivy gives lockfile packages no path, only the result's target.
    data = _raw("trivy/securecodebox-trivy--securecodebox-repo.json")
    added = "parser-sdk/nodejs/package-lock.json"
    main = copy.deepcopy(data)
    main["Results"] = [r for r in main["Results"] if r["Target"] != added]
    marked, ratchet = compare(_from(data, "pr.json"), _from(main, "main.json"))
    new = [f for f in marked.findings if f.baseline == "new"]
    assert {f.target for f in new} == {added}
    assert ratchet.new == len(new) == 5


def test_each_baseline_finding_vouches_for_one_finding() -> None:
    # A second secret of the same rule in a file that already had one is new; so is a third copy of a CVE.
    def report(secrets: int, name: str) -> Scan:
        found = [{"RuleID": "github-pat", "Severity": "CRITICAL", "Title": "GitHub PAT", "StartLine": 3 + i}
                 for i in range(secrets)]  # fmt: skip
        data = {"SchemaVersion": 2, "ArtifactName": "app:1", "ArtifactType": "container_image",
                "Results": [{"Target": "srv/app/deploy.env", "Class": "secret", "Secrets": found}]}  # fmt: skip
        return _from(data, name)

    marked, ratchet = compare(report(2, "pr.json"), report(1, "main.json"))
    assert [f.baseline for f in marked.findings] == ["existing", "new"]
    assert (ratchet.new, ratchet.existing, ratchet.fixed) == (1, 1, ())
    _, same = compare(report(2, "pr.json"), report(2, "main.json"))
    assert (same.new, same.existing) == (0, 2)


def test_the_ratchet_counts_what_an_ignore_rule_left_out_when_the_policy_does_not_honor_it() -> None:
    """With honor_scanner_ignores = false the engine gates a finding .trivyignore left out; the ratchet counts
    it too, so a new one is not '0 new ... same' beside the failure it caused."""

    def report(name: str, *ids: str, ignored: str = "") -> Scan:
        def vuln(vid: str) -> dict[str, Any]:
            return {
                "VulnerabilityID": vid,
                "PkgName": "musl",
                "InstalledVersion": "1",
                "Severity": "CRITICAL",
            }

        result: dict[str, Any] = {"Target": "app", "Class": "os-pkgs", "Type": "alpine",
                                  "Vulnerabilities": [vuln(i) for i in ids]}  # fmt: skip
        if ignored:
            result["ExperimentalModifiedFindings"] = [
                {
                    "Type": "vulnerability",
                    "Status": "ignored",
                    "Source": ".trivyignore",
                    "Finding": vuln(ignored),
                }
            ]
        data = {"SchemaVersion": 2, "ArtifactName": "app:1", "ArtifactType": "container_image",
                "Results": [result]}  # fmt: skip
        return _from(data, name)

    pr, main = report("pr.json", "CVE-1", ignored="CVE-2"), report("main.json", "CVE-1")
    _, honored = compare(pr, main)
    assert (honored.new, honored.existing, honored.trend) == (0, 1, Trend.SAME)
    marked, gated = compare(pr, main, honor_scanner_ignores=False)
    assert (gated.new, gated.existing, gated.trend) == (1, 1, Trend.WORSE)
    assert [f.baseline for f in marked.findings] == ["existing", "new"]


def test_a_version_bump_of_one_copy_does_not_take_the_untouched_copys_match() -> None:
    data = _raw(ALPINE)
    vulns = data["Results"][0]["Vulnerabilities"]
    main = copy.deepcopy(data)
    pr = copy.deepcopy(data)
    pr["Results"][0]["Vulnerabilities"] = [dict(vulns[0], InstalledVersion="9.9"), *vulns]  # one copy more
    marked, ratchet = compare(_from(pr, "pr.json"), _from(main, "main.json"))
    assert [f.baseline for f in marked.findings] == ["new"] + ["existing"] * len(vulns)
    assert ratchet.new == 1


def test_scope_all_counts_existing_findings(tmp_path: Path) -> None:
    juice = _scan(JUICE)
    policy_file = write_policy(
        tmp_path,
        'version = 1\nextends = "builtin:default"\n\n[[rules]]\nid = "fixable-critical-high"\n'
        'action = "fail"\nscope = "all"\nmatch = { kind = "vulnerability", severity = ">=high", fixable = true }\n',
    )
    marked, _ = compare(juice, juice)
    decision = evaluate(marked, load_policy(str(policy_file)), today=TODAY)
    assert decision.verdict is Verdict.FAIL
    failing = [v for v in decision.violations if v.rule_id == "fixable-critical-high"]
    assert len(failing) == 120


def test_scope_is_for_match_rules_only(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'version = 1\n[[rules]]\nid = "root"\nscope = "all"\nimage = { user = "non-root" }\n'
        '[[rules]]\nid = "x"\nscope = "some"\nmatch = { severity = ">=high" }\n[merge]\nseverity = "loudest"\n',
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(str(bad))
    text = "\n".join(caught.value.problems)
    assert "`scope` (new or all findings) applies to `match` rules only" in text
    assert "rules[1].scope" in text
    assert "merge.severity" in text


def _image(reference: str, image_id: str = "") -> Scan:
    image = Image(reference=reference, image_id=image_id)
    return Scan(source=f"{reference}.json", scanner="trivy", artifact=reference, artifact_type="container_image",
                image=image)  # fmt: skip


def test_pairing_by_repository_and_by_position() -> None:
    app_pr, web_pr = _image("ghcr.io/org/app:pr-7"), _image("ghcr.io/org/web:pr-7")
    app_main, web_main = _image("ghcr.io/org/app:main"), _image("ghcr.io/org/web:main")
    assert pair_baselines([app_pr, web_pr], [web_main, app_main]) == [app_main, web_main]
    assert pair_baselines([app_pr, web_pr], [web_main]) == [None, web_main]
    # One image and one baseline pair whatever their names; a note says so.
    renamed = _image("registry.local/app-candidate:7")
    assert pair_baselines([renamed], [app_main]) == [app_main]
    assert "another repository" in mismatch_note(renamed, app_main)
    assert mismatch_note(app_pr, app_main) == ""


def test_pairing_refuses_a_baseline_of_no_image_checked_and_two_for_one() -> None:
    app_pr, web_pr = _image("ghcr.io/org/app:pr-7"), _image("ghcr.io/org/web:pr-7")
    with pytest.raises(InputError, match=r"matches no image checked"):
        pair_baselines([app_pr, web_pr], [_image("ghcr.io/org/db:main")])
    with pytest.raises(InputError, match=r"already has the baseline"):
        pair_baselines([app_pr, web_pr], [_image("ghcr.io/org/app:main"), _image("ghcr.io/org/app:v1")])
    # The report's name (up to 4,096 characters) is quoted cut short, never whole.
    long_name = "ghcr.io/org/" + "d" * 4000 + ":main"
    with pytest.raises(
        InputError, match=r"\.json: the baseline is of 'ghcr\.io/org/d+…, which matches no"
    ) as caught:
        pair_baselines([app_pr, web_pr], [_image(long_name)])
    assert len(str(caught.value).split(".json: ", 1)[1]) < 400


def _platform_report(
    tag: str, arch: str, cves: list[str], *, image_id: str = "", grype: bool = False
) -> bytes:
    """A report of `ghcr.io/acme/shop:tag` built for linux/`arch` ("" leaves the architecture out), with a
    fixable critical finding in busybox for each of `cves`."""
    image_id = image_id or "sha256:" + f"{tag}-{arch}".encode().hex().ljust(64, "0")[:64]
    ref = f"ghcr.io/acme/shop:{tag}"
    config: dict[str, Any] = {"os": "linux", "config": {"User": "app"}, "rootfs": {"diff_ids": []}}
    if arch:
        config["architecture"] = arch
    if grype:
        matches = [
            {
                "vulnerability": {
                    "id": cve,
                    "severity": "Critical",
                    "fix": {"state": "fixed", "versions": ["2"]},
                },
                "artifact": {
                    "name": "busybox",
                    "version": "1",
                    "type": "apk",
                    "purl": "pkg:apk/alpine/busybox@1",
                },
            }
            for cve in cves
        ]
        target = {"userInput": ref, "imageID": image_id, "tags": [ref], "os": "linux", "architecture": arch}
        return json.dumps({"matches": matches, "source": {"type": "image", "target": target}}).encode()
    vulns = [
        {"VulnerabilityID": cve, "PkgName": "busybox", "InstalledVersion": "1", "FixedVersion": "2",
         "Severity": "CRITICAL"}
        for cve in cves
    ]  # fmt: skip
    return json.dumps(
        {
            "SchemaVersion": 2,
            "ArtifactName": ref,
            "ArtifactType": "container_image",
            "Metadata": {"ImageID": image_id, "RepoTags": [ref], "ImageConfig": config},
            "Results": [{"Target": "shop", "Class": "os-pkgs", "Type": "alpine", "Vulnerabilities": vulns}],
        }
    ).encode()


def _platform_scan(tag: str, arch: str, cves: list[str], *, grype: bool = False) -> Scan:
    return parse_report(_platform_report(tag, arch, cves, grype=grype), f"{tag}-{arch or 'unknown'}.json")


@pytest.mark.parametrize("grype", [False, True], ids=["trivy", "grype"])
def test_a_multi_arch_build_pairs_each_platform_with_its_own_baseline(grype: bool) -> None:
    """Both baselines are of the image's repository; the platform decides, and each image is decided against
    its own: the finding only the arm64 baseline has is new in the amd64 image."""
    amd64 = _platform_scan("pr-7", "amd64", ["CVE-2026-1", "CVE-2026-2"], grype=grype)
    arm64 = _platform_scan("pr-7", "arm64", ["CVE-2026-1", "CVE-2026-2"], grype=grype)
    base_amd64 = _platform_scan("main", "amd64", ["CVE-2026-1"], grype=grype)
    base_arm64 = _platform_scan("main", "arm64", ["CVE-2026-1", "CVE-2026-2"], grype=grype)
    assert amd64.image is not None and amd64.image.platform == "linux/amd64"
    for bases in ([base_amd64, base_arm64], [base_arm64, base_amd64]):
        assert pair_baselines([amd64, arm64], bases) == [base_amd64, base_arm64]
    assert pair_baselines([arm64, amd64], [base_amd64, base_arm64]) == [base_arm64, base_amd64]
    policy = load_policy("builtin:default")
    marked, ratchet = compare(amd64, base_amd64)
    assert [(f.id, f.baseline) for f in marked.findings] == [
        ("CVE-2026-1", "existing"),
        ("CVE-2026-2", "new"),
    ]
    assert ratchet.new == 1 and evaluate(marked, policy, today=TODAY).verdict is Verdict.FAIL
    marked, ratchet = compare(arm64, base_arm64)
    assert ratchet.new == 0 and evaluate(marked, policy, today=TODAY).verdict is not Verdict.FAIL
    # One baseline of one platform: the other platform's image has none (and gets the note in `gate check`).
    assert pair_baselines([amd64, arm64], [base_arm64]) == [None, base_arm64]


def test_platforms_are_compared_with_the_usual_aliases() -> None:
    amd64, arm64 = _platform_scan("pr-7", "x86_64", []), _platform_scan("pr-7", "aarch64", [])
    base_amd64, base_arm64 = _platform_scan("main", "amd64", []), _platform_scan("main", "arm64", [])
    assert pair_baselines([amd64, arm64], [base_arm64, base_amd64]) == [base_amd64, base_arm64]


def test_an_unknown_platform_keeps_the_refusal_and_says_what_would_pair() -> None:
    amd64, arm64 = _platform_scan("pr-7", "amd64", []), _platform_scan("pr-7", "arm64", [])
    base_amd64, unknown = _platform_scan("main", "amd64", []), _platform_scan("main", "", [])
    assert unknown.image is not None and unknown.image.platform == ""
    for bases in ([base_amd64, unknown], [unknown, base_amd64]):
        with pytest.raises(InputError, match=r"already has the baseline") as caught:
            pair_baselines([amd64, arm64], bases)
        assert "by platform when every report gives it" in str(caught.value)
        assert "none is given in main-unknown.json" in str(caught.value)
    # Images of unknown platform: today's refusal, with the same hint.
    pr_a, pr_b = _platform_scan("pr-7", "", []), _image("ghcr.io/acme/shop:pr-8")
    with pytest.raises(InputError, match=r"none is given in pr-7-unknown.json"):
        pair_baselines([pr_a, pr_b], [base_amd64, _platform_scan("main", "arm64", [])])
    # Two baselines of one platform are still two baselines for one image: no hint, the platforms are known.
    with pytest.raises(
        InputError, match=r"give one baseline per image \(Trivy and Grype reports of one image merge\)$"
    ):
        pair_baselines([amd64, arm64], [base_amd64, _platform_scan("v1", "amd64", [])])


def test_an_image_of_unknown_platform_beside_known_ones_is_named_in_the_refusal() -> None:
    """Every baseline gives its platform, and so does one image: the image that gives none is what keeps them
    apart, not a baseline for another platform (the run checks both platforms)."""
    amd64, unknown = _platform_scan("pr-7", "amd64", []), _platform_scan("pr-7", "", [])
    bases = [_platform_scan("main", "arm64", []), _platform_scan("main", "amd64", [])]
    for images in ([amd64, unknown], [unknown, amd64]):
        with pytest.raises(InputError, match=r"already has the baseline") as caught:
            pair_baselines(images, bases)
        assert "none is given in pr-7-unknown.json" in str(caught.value)
        assert "give a run only the baselines of the platforms it checks" not in str(caught.value)


def test_a_baseline_for_a_platform_no_image_is_for_is_refused() -> None:
    amd64, arm64 = _platform_scan("pr-7", "amd64", []), _platform_scan("pr-7", "arm64", [])
    with pytest.raises(InputError, match=r"for 'linux/s390x', and no image checked of its repository is for"):
        pair_baselines([amd64, arm64], [_platform_scan("main", "s390x", [])])


def test_one_image_and_one_baseline_pair_whatever_their_platforms() -> None:
    amd64, base_arm64 = _platform_scan("pr-7", "amd64", []), _platform_scan("main", "arm64", [])
    assert pair_baselines([amd64], [base_arm64]) == [base_arm64]
    note = mismatch_note(amd64, base_arm64)
    assert "is for 'linux/arm64' and the image for 'linux/amd64'" in note
    assert mismatch_note(amd64, _platform_scan("main", "amd64", [])) == ""
    assert mismatch_note(amd64, _platform_scan("main", "", [])) == ""
    assert pair_baselines([_image("registry.local/other:1")], [base_arm64]) == [base_arm64]


def test_gate_check_of_a_multi_arch_build_with_a_baseline_per_platform(tmp_path: Path) -> None:
    files = {
        "pr-amd64.json": _platform_report("pr-7", "amd64", ["CVE-2026-1", "CVE-2026-2"]),
        "pr-arm64.json": _platform_report("pr-7", "arm64", ["CVE-2026-1", "CVE-2026-2"]),
        "main-amd64.json": _platform_report("main", "amd64", ["CVE-2026-1"]),
        "main-arm64.json": _platform_report("main", "arm64", ["CVE-2026-1", "CVE-2026-2"]),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    record = tmp_path / "decision.json"
    args = [str(tmp_path / n) for n in ("pr-amd64.json", "pr-arm64.json")]
    for base in ("main-arm64.json", "main-amd64.json"):
        args += ["--baseline", str(tmp_path / base)]
    out, err = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
    code = main(
        ["check", *args, "--json", str(record)], stdout=out, stderr=err, stdin=stdin, env={}, today=TODAY
    )
    assert (code, err.getvalue()) == (1, "")
    images = json.loads(record.read_text(encoding="utf-8"))["images"]
    assert [(i["image"]["platform"], i["verdict"]) for i in images] == [
        ("linux/amd64", "fail"),
        ("linux/arm64", "pass"),
    ]
    assert [i["baseline"]["sources"] for i in images] == [
        [str(tmp_path / "main-amd64.json")],
        [str(tmp_path / "main-arm64.json")],
    ]
    assert [(i["baseline"]["new"], i["baseline"]["existing"]) for i in images] == [(1, 1), (0, 2)]


def test_attach_puts_the_ratchet_on_the_image() -> None:
    juice = _scan(JUICE)
    marked, ratchet = compare(juice, juice)
    decision = attach(evaluate(marked, load_policy("builtin:default"), today=TODAY), ratchet, note="a note")
    assert decision.images[0].baseline == ratchet
    assert decision.images[0].notes[-1] == "a note"
    assert ratchet.sources == (JUICE,)


def test_a_job_of_one_platform_given_every_platform_s_baseline_is_told_which_is_not_its_own() -> None:
    # A matrix job checks one image and was given the baselines of every platform: the refusal says which baseline
    # is for another platform, not only "one baseline per image" (the user gave one per platform).
    amd64 = _platform_scan("pr-7", "amd64", [])
    base_amd64, base_arm64 = _platform_scan("main", "amd64", []), _platform_scan("main", "arm64", [])
    for bases in ([base_arm64, base_amd64], [base_amd64, base_arm64]):
        with pytest.raises(InputError, match=r"already has the baseline") as caught:
            pair_baselines([amd64], bases)
        assert "the image is for 'linux/amd64' and main-arm64.json for 'linux/arm64'" in str(caught.value)
        assert "main-amd64.json for" not in str(caught.value)


def test_a_baseline_without_a_platform_for_every_platform_says_so(tmp_path: Path) -> None:
    """One baseline that gives no platform goes to the images of both platforms; each image is then decided
    against what may be the other platform's baseline, and the log says so."""
    files = {
        "pr-amd64.json": _platform_report("pr-7", "amd64", ["CVE-2026-1", "CVE-2026-2"]),
        "pr-arm64.json": _platform_report("pr-7", "arm64", ["CVE-2026-1", "CVE-2026-2"]),
        "main.json": _platform_report("main", "", ["CVE-2026-1", "CVE-2026-2"]),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    record = tmp_path / "decision.json"
    args = [str(tmp_path / n) for n in ("pr-amd64.json", "pr-arm64.json")]
    out, err = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
    code = main(
        ["check", *args, "--baseline", str(tmp_path / "main.json"), "--json", str(record)],
        stdout=out,
        stderr=err,
        stdin=stdin,
        env={},
        today=TODAY,
    )
    assert (code, err.getvalue()) == (0, "")
    images = json.loads(record.read_text(encoding="utf-8"))["images"]
    note = (
        f"the baseline {tmp_path / 'main.json'} gives no platform, so it was used for the images of every platform "
        "of its repository ('linux/amd64', 'linux/arm64')"
    )
    assert [any(n.startswith(note) for n in image["notes"]) for image in images] == [True, True]
    # One image, or images of one platform: nothing to say.
    assert platformless_note(_platform_scan("main", "", []), [_platform_scan("pr-7", "amd64", [])]) == ""
    amd64 = _platform_scan("pr-7", "amd64", [])
    assert (
        platformless_note(_platform_scan("main", "arm64", []), [amd64, _platform_scan("pr-7", "arm64", [])])
        == ""
    )
