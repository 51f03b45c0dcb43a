"""`gate merge` over the decision records of a CI matrix, and `gate check` with --baseline and merged reports."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gate.cli import main
from gate.report.record import load_record
from tests.conftest import REAL, ROOT, TESTDATA, TODAY, need_shared, write_policy

DAY = TODAY.isoformat()
JUICE = "trivy/securecodebox-trivy--juice-shop-v12.10.2.json"
JUICE_CLEAN = "trivy/securecodebox-trivy--juice-shop-v12.10.2-empty-results.json"
ALPINE_TRIVY = "trivy/trivy-integ--alpine-310.json"
ALPINE_GRYPE = str(TESTDATA / "merge" / "grype-alpine-310.json")
# A matrix of three images: one fails, one warns, one passes under builtin:default (tests/policy golden table).
MATRIX = [
    "trivy/trivy-integ--alpine-39.json",
    "trivy/ci-steadybit-shop--steadybit-orders.json",
    "grype/grype-explain--keycloak-test.json",
]


class Run:
    def __init__(self, args: list[str], today: date = TODAY) -> None:
        out, err = io.StringIO(), io.StringIO()
        stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
        self.code = main(args, stdout=out, stderr=err, stdin=stdin, env={}, today=today)
        self.out, self.err = out.getvalue(), err.getvalue()


def real(name: str) -> str:
    return str(REAL / name)


def _records(tmp_path: Path, names: list[str]) -> list[str]:
    paths = []
    for i, name in enumerate(names):
        path = tmp_path / f"decision-{i}.json"
        run = Run(["check", real(name), "--today", DAY, "--json", str(path)])
        assert run.code in (0, 1), run.err
        paths.append(str(path))
    return paths


def test_a_matrix_merged_equals_one_check_of_all_images(tmp_path: Path) -> None:
    need_shared()
    records = _records(tmp_path, MATRIX)
    merged = tmp_path / "merged.json"
    run = Run(["merge", *records, "--json", str(merged)])
    assert run.code == 1, run.err
    assert run.out.startswith("gate: FAIL:")
    together = tmp_path / "together.json"
    assert Run(["check", *map(real, MATRIX), "--today", DAY, "--json", str(together)]).code == 1
    assert merged.read_text(encoding="utf-8") == together.read_text(encoding="utf-8")
    data = json.loads(merged.read_text(encoding="utf-8"))
    assert [i["verdict"] for i in data["images"]] == ["fail", "warn", "pass"]
    assert data["verdict"] == "fail"


def test_a_waiver_one_image_used_is_not_unused_in_the_merge_either(tmp_path: Path) -> None:
    # One job per image: the waiver is used in api:2.0.0 and unused in api:2.0.1. One gate check over both
    # images does not call it unused, and neither may the merge of the two records.
    policy = write_policy(tmp_path, 'extends = "builtin:default"\n[settings]\nwaiver_unused = "fail"\n'
                      '[[waivers]]\nid = "CVE-2024-5535"\nreason = "r"\nexpires = 2027-01-31\n')  # fmt: skip
    reports = [str(TESTDATA / "reports" / name) for name in ("trivy-fail.json", "trivy-clean.json")]
    records = []
    for i, report in enumerate(reports):
        records.append(str(tmp_path / f"d{i}.json"))
        Run(["check", report, "--policy", str(policy), "--today", DAY, "--json", records[-1]])
    merged, together = tmp_path / "merged.json", tmp_path / "together.json"
    run = Run(["merge", *records, "--json", str(merged)])
    assert "waiver-unused" not in run.out
    check = Run(["check", *reports, "--policy", str(policy), "--today", DAY, "--json", str(together)])
    assert run.code == check.code
    assert json.loads(merged.read_text())["images"] == json.loads(together.read_text())["images"]


def test_every_waiver_of_one_id_is_reviewed_on_its_own_in_check_and_merge(tmp_path: Path) -> None:
    # api:2.0.0 ships both CVEs, api:2.0.1 neither. waivers[1] is waivers[0] for the other image: unused in
    # every image. waivers[3], for api:2.0.1 only, is unused beside waivers[2] of its ID, which api:2.0.0
    # used.
    policy = tmp_path / "gate.toml"
    waiver = '[[waivers]]\nid = "{}"\nreason = "{}"\nexpires = 2027-01-31\n{}\n'
    policy.write_text('extends = "builtin:default"\n[settings]\nwaiver_unused = "fail"\n'
                      + waiver.format("CVE-2024-5535", "r", 'images = ["*/api:2.0.0"]')
                      + waiver.format("CVE-2024-5535", "r", 'images = ["*/api:2.0.1"]')
                      + waiver.format("CVE-2024-4741", "r", "")
                      + waiver.format("CVE-2024-4741", "vendored copy", 'images = ["*/api:2.0.1"]'))  # fmt: skip
    reports = [str(TESTDATA / "reports" / name) for name in ("trivy-fail.json", "trivy-clean.json")]
    records = []
    for i, report in enumerate(reports):
        records.append(str(tmp_path / f"d{i}.json"))
        Run(["check", report, "--policy", str(policy), "--today", DAY, "--json", records[-1]])
    together, merged = tmp_path / "together.json", tmp_path / "merged.json"
    check = Run(["check", *reports, "--policy", str(policy), "--today", DAY, "--json", str(together)])
    run = Run(["merge", *records, "--json", str(merged)])
    assert check.code == run.code == 1, check.err + run.err
    assert merged.read_text(encoding="utf-8") == together.read_text(encoding="utf-8")
    data = json.loads(together.read_text(encoding="utf-8"))
    fail, clean = data["images"]
    assert fail["verdict"] == "pass"
    assert [(w["index"], w["state"]) for w in fail["waivers"]] == [(0, "used"), (2, "used")]
    assert clean["verdict"] == "fail"
    assert [(w["id"], w["index"], w["reason"]) for w in clean["waivers"]] == [
        ("CVE-2024-5535", 1, "r"),
        ("CVE-2024-4741", 3, "vendored copy"),
    ]
    assert sorted((v["waiver_index"], v["id"]) for v in clean["violations"]) == [
        (1, "CVE-2024-5535"),
        (3, "CVE-2024-4741"),
    ]
    schema = json.loads((ROOT / "docs" / "decision-record.schema.json").read_text(encoding="utf-8"))
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(data)) == []
    assert "FAIL waiver-unused: No unused waivers: 2 waivers unused" in run.out
    # Records of an older gate name no index: they load, and merge as that gate merged them (a waiver is its
    # facts, a violation its waiver's ID), so here nothing is left unused.
    old = []
    for record in records:
        doc = json.loads(Path(record).read_text(encoding="utf-8"))
        for image in doc["images"]:
            for w in image["waivers"]:
                del w["index"]
            for v in image["violations"]:
                v.pop("waiver_index", None)
        old.append(_write(tmp_path, f"old-{Path(record).name}", json.dumps(doc)))
    again = tmp_path / "again.json"
    assert Run(["merge", *old, "--json", str(again)]).code == 0
    clean = json.loads(again.read_text(encoding="utf-8"))["images"][1]
    assert [(w["id"], w["index"]) for w in clean["waivers"]] == [("CVE-2024-4741", None)]
    assert clean["violations"] == []


def test_a_record_whose_waiver_violation_names_no_waiver_of_its_image_is_refused(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, 'extends = "builtin:default"\n[[waivers]]\nid = "CVE-0000-0001"\nreason = "r"\n'
                      "expires = 2027-01-31\n")  # fmt: skip
    record = tmp_path / "d.json"
    Run(["check", str(TESTDATA / "reports" / "trivy-clean.json"), "--policy", str(policy), "--today", DAY,
         "--json", str(record)])  # fmt: skip
    doc = json.loads(record.read_text(encoding="utf-8"))
    [violation] = doc["images"][0]["violations"]
    assert violation["waiver_index"] == 0
    violation["waiver_index"] = 7  # would drop the warning of another waiver in a merge
    run = Run(["merge", _write(tmp_path, "edited.json", json.dumps(doc))])
    assert run.code == 2
    assert "names waiver index 7, which none of its waivers has; the record was edited or damaged" in run.err


def test_merged_records_of_two_policies_compare_waivers_by_their_facts(tmp_path: Path) -> None:
    # One job per policy: the CVE-2024-5535 waiver is waivers[0] of one and waivers[1] of the other. An index
    # says where a waiver is in its own policy only: across policies a waiver is its facts, as it was before.
    waiver = '[[waivers]]\nid = "{}"\nreason = "r"\nexpires = 2027-01-31\n'
    first, second = tmp_path / "first.toml", tmp_path / "second.toml"
    first.write_text('extends = "builtin:default"\n' + waiver.format("CVE-2024-5535"), encoding="utf-8")
    second.write_text('extends = "builtin:default"\n' + waiver.format("CVE-0000-0001")
                      + waiver.format("CVE-2024-5535"), encoding="utf-8")  # fmt: skip
    records = [str(tmp_path / "d0.json"), str(tmp_path / "d1.json")]
    Run(["check", str(TESTDATA / "reports" / "trivy-fail.json"), "--policy", str(first), "--today", DAY,
         "--json", records[0]])  # fmt: skip
    Run(["check", str(TESTDATA / "reports" / "trivy-clean.json"), "--policy", str(second), "--today", DAY,
         "--json", records[1]])  # fmt: skip
    merged = tmp_path / "merged.json"
    run = Run(["merge", *records, "--json", str(merged)])
    assert run.code == 1, run.err  # CVE-2024-4741 fails api:2.0.0
    data = json.loads(merged.read_text(encoding="utf-8"))
    assert data["policy"] == f"{first}, {second}"
    fail, clean = data["images"]
    [violation] = fail["violations"]
    assert violation["rule"] == "fixable-critical-high" and "waiver_index" not in violation  # not a waiver's
    # CVE-0000-0001 (index 0 of the second policy) is not the waiver at index 0 of the first, which was used.
    assert [(w["id"], w["index"]) for w in clean["waivers"]] == [("CVE-0000-0001", 0)]
    assert [(v["id"], v["waiver_index"]) for v in clean["violations"]] == [("CVE-0000-0001", 0)]


def test_records_of_different_days_are_refused(tmp_path: Path) -> None:
    # A stale artifact of an earlier run: its waivers were still in force then.
    names = ("trivy-fail.json", "trivy-clean.json", "trivy-warn.json")
    records = [str(tmp_path / f"{day}.json") for day in ("2026-06-01", DAY, "2026-11-28")]
    for name, record in zip(names, records, strict=True):
        Run(["check", str(TESTDATA / "reports" / name), "--today", Path(record).stem, "--json", record])
    run = Run(["merge", records[0], records[1]])
    assert run.code == 2
    assert "the records were decided on 2026-06-01 and 2026-11-27" in run.err
    assert Run(["merge", records[1], records[2]]).code == 0  # a matrix that ran over midnight: one run


def test_records_merged_days_after_their_run_are_refused(tmp_path: Path) -> None:
    # The merge job re-run on its own days later: the waiver that passed the image has expired since.
    policy = tmp_path / "gate.toml"
    waiver = f'[[waivers]]\nid = "{{}}"\nreason = "r"\nexpires = {TODAY + timedelta(days=1)}\n'
    policy.write_text('extends = "builtin:default"\n' + waiver.format("CVE-2024-5535")
                      + waiver.format("CVE-2024-4741"), encoding="utf-8")  # fmt: skip
    record = str(tmp_path / "d.json")
    report = str(TESTDATA / "reports" / "trivy-fail.json")
    waived = Run(["check", report, "--policy", str(policy), "--today", DAY, "--json", record])
    assert waived.code == 0, waived.err
    later = TODAY + timedelta(days=3)
    assert Run(["check", report, "--policy", str(policy)], today=later).code == 1
    run = Run(["merge", record], today=later)
    assert run.code == 2
    assert run.err == (
        f"gate: error: the records were decided on {DAY} and today is {later}; waivers and ages depend on the "
        "day, so re-run the gate check jobs (or give --today to merge them as of their day)\n"
    )
    assert Run(["merge", record], today=TODAY + timedelta(days=1)).code == 0  # the run went over midnight
    assert Run(["merge", record, "--today", DAY], today=later).code == 0  # asked for as of that day
    assert Run(["merge", record, "--today", "2026-13-01"]).code == 2


def test_merge_of_passing_and_warning_records_exits_0(tmp_path: Path) -> None:
    need_shared()
    run = Run(["merge", *_records(tmp_path, MATRIX[1:])])
    assert run.code == 0, run.err
    assert run.out.startswith("gate: WARN:")


def test_record_round_trip_keeps_the_ratchet_and_the_scanners(tmp_path: Path) -> None:
    need_shared()
    record = tmp_path / "d.json"
    main = tmp_path / "main.json"  # the target branch's report: here the same content as the PR's
    main.write_bytes(Path(real(ALPINE_TRIVY)).read_bytes())
    args = ["check", real(ALPINE_TRIVY), ALPINE_GRYPE, "--baseline", str(main), "--today", DAY]
    assert Run([*args, "--json", str(record)]).code == 0
    decision = load_record(record.read_bytes(), str(record))
    [image] = decision.images
    assert image.scanners == ("trivy", "grype")
    assert image.baseline is not None
    # Grype's CVE-2019-1563 is the one finding the Trivy-only baseline lacks.
    assert (image.baseline.new, image.baseline.existing, len(image.baseline.fixed)) == (1, 4, 0)
    assert [o.finding.id for o in image.outcomes if o.finding.baseline == "new"] == ["CVE-2019-1563"]
    again = tmp_path / "again.json"
    assert Run(["merge", str(record), "--json", str(again)]).code == 0
    assert again.read_text(encoding="utf-8") == record.read_text(encoding="utf-8")


def test_a_record_with_a_scope_all_rule_and_a_baseline_merges(tmp_path: Path) -> None:
    # A scope = "all" rule counts the findings the baseline had too: the record is as gate check wrote it.
    need_shared()
    policy = write_policy(tmp_path, 'extends = "builtin:default"\n[[rules]]\nid = "any-medium"\ntitle = "t"\naction = "fail"\n'
                      'scope = "all"\nmatch = { kind = "vulnerability", severity = ["critical", "medium"] }\n')  # fmt: skip
    record = tmp_path / "d.json"
    baseline = ["--baseline", real(ALPINE_TRIVY)]
    args = [
        "check",
        real(MATRIX[0]),
        *baseline,
        "--policy",
        str(policy),
        "--today",
        DAY,
        "--json",
        str(record),
    ]
    assert Run(args).code == 1
    [image] = load_record(record.read_bytes(), str(record)).images
    rule = next(r for r in image.rules if r.rule_id == "any-medium")
    assert (rule.matched, image.baseline and image.baseline.new) == (6, 2)  # 2 new, 4 existing
    again = tmp_path / "again.json"
    run = Run(["merge", str(record), "--json", str(again)])
    assert run.code == 1, run.err
    assert again.read_text(encoding="utf-8") == record.read_text(encoding="utf-8")


def test_a_job_without_a_baseline_is_noted_in_the_merge_as_in_one_check(tmp_path: Path) -> None:
    # One job gates its image against the target branch's, the other has no baseline: one gate check of both
    # notes that the second counts every finding, and so does the merge of their records.
    reports = TESTDATA / "reports"
    pr, main, other = (str(reports / n) for n in ("trivy-fail.json", "trivy-clean.json", "grype-kev.json"))
    together = tmp_path / "together.json"
    Run(["check", pr, other, "--baseline", main, "--today", DAY, "--json", str(together)])
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    Run(["check", pr, "--baseline", main, "--today", DAY, "--json", str(first)])
    Run(["check", other, "--today", DAY, "--json", str(second)])
    merged = tmp_path / "merged.json"
    run = Run(["merge", str(first), str(second), "--json", str(merged)])
    assert run.code == 1, run.err
    assert "no baseline of this image was given; every finding counts" in run.out
    assert merged.read_text(encoding="utf-8") == together.read_text(encoding="utf-8")


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_merge_refuses_bad_records(tmp_path: Path) -> None:
    need_shared()
    [good] = _records(tmp_path, MATRIX[:1])
    data = json.loads(Path(good).read_text(encoding="utf-8"))
    future = _write(tmp_path, "future.json", json.dumps({**data, "record_version": 2}))
    old = dict(data, images=[{k: v for k, v in data["images"][0].items() if k != "outcomes"}])
    cases = [
        ([future], "decision record version 2 is not supported"),
        ([_write(tmp_path, "old.json", json.dumps(old))], "incomplete or damaged"),
        ([real(JUICE)], "not a gate decision record"),
        ([_write(tmp_path, "bad.json", "{")], "not JSON"),
        ([str(tmp_path / "missing.json")], "no such file"),
        ([good, good], "give each record once"),
    ]
    for args, text in cases:
        run = Run(["merge", *args])
        assert run.code == 2, (args, run.out)
        assert text in run.err, run.err
        assert run.err.count("\n") == 1  # one line, no traceback


def test_merge_refuses_a_record_with_a_lone_surrogate(tmp_path: Path) -> None:
    # JSON can spell "\\ud800", which json.loads reads and no UTF-8 output can carry: the record written back by
    # --json was an internal error once the log was out. The scanner reports' readers refuse it; so do records.
    # json.loads also reads the surrogate's own bytes (b"\\xed\\xa0\\x80"), in UTF-8 and in UTF-16.
    record = tmp_path / "decision.json"
    assert Run(["check", str(TESTDATA / "reports" / "trivy-fail.json"), "--json", str(record)]).code == 1
    text = record.read_text(encoding="utf-8")
    for n, data in enumerate(
        [
            text.replace('"subject": "findings"', '"subject": "\\ud800"', 1).encode("utf-8"),
            text.replace('"subject": "findings"', '"subject": "\ud800"', 1).encode("utf-8", "surrogatepass"),
            text.replace('"subject": "findings"', '"subject": "\udfff"', 1).encode("utf-16", "surrogatepass"),
        ]
    ):
        (tmp_path / f"surrogate-{n}.json").write_bytes(data)
        merged = tmp_path / f"merged-{n}.json"
        run = Run(["merge", str(tmp_path / f"surrogate-{n}.json"), "--json", str(merged)])
        assert run.code == 2, run.err
        assert "lone UTF-16 surrogate" in run.err and run.err.count("\n") == 1
        assert not merged.exists()


def test_merge_refuses_a_record_edited_to_pass(tmp_path: Path) -> None:
    record = tmp_path / "decision.json"
    assert Run(["check", str(TESTDATA / "reports" / "trivy-fail.json"), "--json", str(record)]).code == 1
    data = json.loads(record.read_text(encoding="utf-8"))
    top = _write(tmp_path, "top.json", json.dumps({**data, "verdict": "pass"}))
    image = dict(data["images"][0], verdict="pass")
    both = _write(tmp_path, "both.json", json.dumps({**data, "verdict": "pass", "images": [image]}))
    none = _write(tmp_path, "none.json", json.dumps({**data, "verdict": "pass", "images": []}))
    ruleless = dict(image, rules=[])  # rules gone, violations kept: the verdicts agree with no rules
    no_rules = _write(tmp_path, "norules.json", json.dumps({**data, "verdict": "pass", "images": [ruleless]}))
    passing = [dict(r, triggered=False) for r in image["rules"]]  # every rule says it did not trigger
    quiet = _write(
        tmp_path,
        "quiet.json",
        json.dumps({**data, "verdict": "pass", "images": [dict(image, rules=passing)]}),
    )
    # Consistently edited: the failing rule says it matched nothing, its violations are gone.
    silenced = [dict(r, triggered=False, matched=0) if r["triggered"] else r for r in image["rules"]]
    hushed = dict(image, rules=silenced, violations=[])
    silent = _write(
        tmp_path, "silent.json", json.dumps({**data, "verdict": "pass", "violations": [], "images": [hushed]})
    )
    # The failing rule removed with its violations: its findings still name it.
    kept = [r for r in image["rules"] if not r["triggered"]]
    cut = _write(tmp_path, "cut.json", json.dumps({**data, "verdict": "pass", "violations": [],
                                                    "images": [dict(image, rules=kept, violations=[])]}))  # fmt: skip
    for path, text in [
        (top, "the record's verdict is pass but its images give fail"),
        (both, "is pass but its rule results give fail; the record was edited or damaged"),
        (none, "the record decides no image; the record was edited or damaged"),
        (no_rules, "has no rule results; the record was edited or damaged"),
        (quiet, "rule 'fixable-critical-high' of 'registry.example.com/team/api:2.0.0' matched 2"),
        (
            silent,
            "rule 'fixable-critical-high' of 'registry.example.com/team/api:2.0.0' says it matched 0 but caught 2",
        ),
        (cut, "were caught by rule 'fixable-critical-high', which has no result"),
    ]:
        run = Run(["merge", path])
        assert run.code == 2, run.out
        assert text in run.err and run.err.count("\n") == 1


def test_merge_names_a_bad_record_in_json_words_on_one_short_line(tmp_path: Path) -> None:
    record = tmp_path / "decision.json"
    assert Run(["check", str(TESTDATA / "reports" / "trivy-fail.json"), "--json", str(record)]).code == 1
    data = json.loads(record.read_text(encoding="utf-8"))
    long_name = "evil\n::error::x" * 500  # a record is untrusted: a fork's job may have written it
    ruleless = dict(data["images"][0], name=long_name, rules=[])
    renamed = dict(data["images"][0], name=long_name)
    named = _write(tmp_path, "named.json", json.dumps({**data, "images": [ruleless]}))
    twice = _write(tmp_path, "twice.json", json.dumps({**data, "images": [renamed]}))
    for args, text in [
        ([_write(tmp_path, "v.json", json.dumps({**data, "record_version": {"a": [1]}}))], "expected a whole number (got an object)"),
        ([_write(tmp_path, "v2.json", json.dumps({**data, "record_version": "2" * 5000}))], "version '22222"),
        ([_write(tmp_path, "deep.json", "[" * 100_000)], "not JSON (nested too deeply)"),
        ([_write(tmp_path, "big.json", '{"a": 1' + "0" * 5000 + "}")], "not JSON (a number too long to read)"),
        ([named], "xev… has no rule results"),
        ([twice, twice], "xev… is also in"),
    ]:  # fmt: skip
        run = Run(["merge", *args])
        assert run.code == 2, run.out
        assert text in run.err and run.err.count("\n") == 1, run.err
        assert len(run.err) < 400, run.err  # the value is cut short, never echoed whole
        assert "{'a'" not in run.err and "recursion" not in run.err and "sys." not in run.err


def test_merge_refuses_a_failing_rule_edited_to_warn_or_within_its_budget(tmp_path: Path) -> None:
    # Each edit keeps the verdicts, violations and match counts consistent; only the findings' outcomes still
    # say what the rule did to them. They merged to a pass (exit 0) before.
    record = tmp_path / "decision.json"
    assert Run(["check", str(TESTDATA / "reports" / "trivy-fail.json"), "--json", str(record)]).code == 1
    data = json.loads(record.read_text(encoding="utf-8"))
    image = data["images"][0]
    assert [o["action"] for o in image["outcomes"]] == ["fail", "fail"]

    def edited(name: str, rule: dict[str, object], verdict: str, violations: list[Any]) -> str:
        rules = [dict(r, **rule) if r["triggered"] else r for r in image["rules"]]
        changed = dict(image, verdict=verdict, rules=rules, violations=violations)
        return _write(tmp_path, name, json.dumps({**data, "verdict": verdict, "images": [changed]}))

    warned = [dict(v, action="warn") for v in image["violations"]]
    for path, text in [
        (
            edited("warn.json", {"action": "warn"}, "warn", warned),
            "has action fail but the rules that caught",
        ),
        (edited("budget.json", {"max": 1000, "triggered": False}, "pass", []), "which did not trigger"),
    ]:
        run = Run(["merge", path])
        assert run.code == 2, run.out
        assert text in run.err and run.err.count("\n") == 1, run.err


def test_merge_refuses_a_record_whose_counts_say_it_failed(tmp_path: Path) -> None:
    # The images edited to pass, rule and violations and all, but the counts gate outputs reads still say 2
    # failed: the record contradicts itself, and merged to a pass before.
    record = tmp_path / "decision.json"
    assert Run(["check", str(TESTDATA / "reports" / "trivy-fail.json"), "--json", str(record)]).code == 1
    data = json.loads(record.read_text(encoding="utf-8"))
    assert data["counts"]["failed"] == 2
    image = data["images"][0]
    kept = [r for r in image["rules"] if not r["triggered"]]
    outcomes = [dict(o, action=None, rules=[]) for o in image["outcomes"]]
    image = dict(image, verdict="pass", rules=kept, violations=[], outcomes=outcomes)
    edited = _write(tmp_path, "edited.json", json.dumps({**data, "verdict": "pass", "images": [image]}))
    run = Run(["merge", edited])
    assert run.code == 2, run.out
    assert (
        "counts.failed is 2 but its images have 0 failed violations" in run.err and run.err.count("\n") == 1
    )


def _skip_unless_available(run: Run, flag: str) -> None:
    if run.code == 2 and f"{flag} is not available" in run.err:
        pytest.skip(f"{flag} is not wired into gate.cli yet (gate/report renderers)")


def test_merge_writes_one_sarif_per_image(tmp_path: Path) -> None:
    need_shared()
    records = _records(tmp_path, MATRIX)
    out = tmp_path / "sarif"
    run = Run(["merge", *records, "--sarif", str(out) + "/"])
    _skip_unless_available(run, "--sarif")
    assert run.code == 1, run.err
    files = sorted(p.name for p in out.iterdir())
    assert len(files) == 3
    categories = set()
    for path in out.iterdir():
        document = json.loads(path.read_text(encoding="utf-8"))
        assert len(document["runs"]) == 1
        categories.add(document["runs"][0]["automationDetails"]["id"])
    assert len(categories) == 3  # one category per image, so code scanning keeps all three


def test_merge_gives_images_of_one_repository_the_categories_gate_check_gives(tmp_path: Path) -> None:
    # Two variants of one repository in a matrix: the same category twice would leave code scanning one of them.
    report = json.loads((TESTDATA / "reports" / "trivy-fail.json").read_text(encoding="utf-8"))
    reports, records = [], []
    for n, tag in enumerate(("2.0.0-alpine", "2.0.0-debian")):
        report["ArtifactName"] = f"registry.example.com/team/api:{tag}"
        report["Metadata"].update(
            ImageID="sha256:" + str(n) * 64, RepoTags=[report["ArtifactName"]], RepoDigests=[]
        )
        reports.append(_write(tmp_path, f"{tag}.json", json.dumps(report)))
        records.append(str(tmp_path / f"{tag}.record.json"))
        assert Run(["check", reports[-1], "--today", DAY, "--json", records[-1]]).code == 1
    out = tmp_path / "sarif"
    run = Run(["merge", *records, "--sarif", str(out) + "/"])
    _skip_unless_available(run, "--sarif")
    merged = [json.loads(p.read_text(encoding="utf-8"))["runs"][0] for p in sorted(out.iterdir())]
    together = tmp_path / "together.sarif"
    _skip_unless_available(Run(["check", *reports, "--today", DAY, "--sarif", str(together)]), "--sarif")
    runs = json.loads(together.read_text(encoding="utf-8"))["runs"]
    assert [r["automationDetails"]["id"] for r in merged] == [
        "container-gate/team/api/",
        "container-gate/team/api-2/",
    ]
    assert merged == runs  # the same runs, results and fingerprints as one gate check of both


def test_merge_names_and_categorises_the_platforms_of_one_image_whatever_the_order(tmp_path: Path) -> None:
    # A multi-architecture build gated per platform (one job each, `trivy image --input app.tar`): each file keeps
    # its platform's category and its name in either order of the records (`app.tar-2.sarif` was whichever came
    # second).
    report = json.loads((TESTDATA / "reports" / "trivy-fail.json").read_text(encoding="utf-8"))
    records = {}
    for n, arch in enumerate(("amd64", "arm64")):
        report["ArtifactName"] = "app.tar"
        report["Metadata"].update(ImageID="sha256:" + str(n) * 64, RepoTags=["example.com/app:pr-7"])
        report["Metadata"]["ImageConfig"] = {"os": "linux", "architecture": arch}
        path = _write(tmp_path, f"{arch}.json", json.dumps(report))
        records[arch] = str(tmp_path / f"{arch}.record.json")
        assert Run(["check", path, "--today", DAY, "--json", records[arch]]).code == 1
    seen = []
    for order in (["amd64", "arm64"], ["arm64", "amd64"]):
        out = tmp_path / "-".join(order)
        run = Run(["merge", *(records[arch] for arch in order), "--sarif", str(out) + "/"])
        _skip_unless_available(run, "--sarif")
        seen.append(
            {
                p.name: json.loads(p.read_text(encoding="utf-8"))["runs"][0]["automationDetails"]["id"]
                for p in out.iterdir()
            }
        )
    assert (
        seen[0]
        == seen[1]
        == {
            "app.tar-linux-amd64.sarif": "container-gate/app.tar/linux-amd64/",
            "app.tar-linux-arm64.sarif": "container-gate/app.tar/linux-arm64/",
        }
    )


def test_merge_writes_one_summary(tmp_path: Path) -> None:
    need_shared()
    records = _records(tmp_path, MATRIX)
    summary = tmp_path / "summary.md"
    run = Run(["merge", *records, "--summary", str(summary)])
    _skip_unless_available(run, "--summary")
    assert run.code == 1, run.err
    text = summary.read_text(encoding="utf-8")
    assert "alpine-39" in text
    assert "keycloak" in text


CHECK_CASES = [
    # (arguments, exit code, text in stdout + stderr)
    (["check", real(JUICE), "--baseline", real(JUICE)], 2, "is the report being gated"),
    (["check", real(JUICE), "--baseline", real(JUICE_CLEAN)], 1, "185 new, 0 fixed, 0 still present: worse"),
    (["check", real(JUICE_CLEAN), "--baseline", real(JUICE)], 0, "0 new, 185 fixed, 0 still present: better"),
    (["check", real(ALPINE_TRIVY), ALPINE_GRYPE], 0, "3 found by trivy and grype, 1 only by trivy, 1 only by grype"),
    (["check", real(ALPINE_TRIVY), real(JUICE), "--baseline", real(JUICE_CLEAN)], 1,
     "no baseline of this image was given; every finding counts"),
    (["check", real(ALPINE_TRIVY), real(JUICE), "--baseline", real("grype/kubevuln--alpine-cve.json")], 2,
     "matches no image checked"),
    (["check", real(JUICE), "--baseline", real("trivy/trivy-integ--alpine-39.json")], 1,
     "is of another repository"),
    (["check", real(JUICE), "--baseline", "missing.json"], 2, "missing.json: no such file"),
    (["check", "-", "--baseline", "-"], 2, "stdin ('-') can be read only once"),
    (["merge"], 2, "DECISION.json"),
    (["merge", real(JUICE), "--sarif", "-"], 2, "--sarif takes a directory"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "code", "text"), CHECK_CASES, ids=[" ".join(c[0][:1] + c[0][2:]) for c in CHECK_CASES]
)
def test_cli_cases(args: list[str], code: int, text: str) -> None:
    need_shared()
    run = Run([*args, "--today", DAY] if args[0] == "check" else args)
    assert run.code == code, run.out + run.err
    assert text in run.out + run.err


def test_summary_shows_the_ratchet_and_what_one_scanner_found(tmp_path: Path) -> None:
    need_shared()
    summary = tmp_path / "summary.md"
    args = [
        "check",
        real(ALPINE_TRIVY),
        ALPINE_GRYPE,
        "--baseline",
        real("trivy/trivy-integ--alpine-39.json"),
    ]
    run = Run([*args, "--today", DAY, "--summary", str(summary)])
    _skip_unless_available(run, "--summary")
    assert run.code == 0, run.err
    text = summary.read_text(encoding="utf-8")
    # Against Alpine 3.9: the musl CVE is fixed, the OpenSSL ones are still there (another version),
    # Grype's CVE-2019-1563 is new.
    assert "#### Against the baseline" in text
    assert "| New | Fixed | Still present |\n| --- | --- | --- |\n| 1 | 2 | 4 |" in text
    assert "**better ✅**" in text  # 2 CRITICAL fixed outweigh 1 LOW added
    assert "#### Found by one scanner only" in text
    assert "2 of 5 findings reported by only one of the scanners (trivy, grype)." in text


def test_a_platform_scoped_waiver_waives_its_platform_only_in_check_and_merge(tmp_path: Path) -> None:
    # A multi-architecture build, one report per platform of one image name: CVE-2024-5535 is waived on arm64
    # only (written `linux/aarch64`, the report says arm64/v8); CVE-2024-4741 has a waiver per platform, and
    # the arm64 build does not ship it, so the arm64 waiver is unused though its amd64 twin is used.
    policy = tmp_path / "gate.toml"
    waiver = '[[waivers]]\nid = "{}"\nreason = "r"\nexpires = 2027-01-31\nplatforms = ["{}"]\n'
    policy.write_text('extends = "builtin:default"\n'
                      + waiver.format("CVE-2024-5535", "linux/aarch64")
                      + waiver.format("CVE-2024-4741", "linux/amd64")
                      + waiver.format("CVE-2024-4741", "linux/arm64"))  # fmt: skip
    report = json.loads((TESTDATA / "reports" / "trivy-fail.json").read_text(encoding="utf-8"))
    reports, records = [], []
    for n, (arch, variant) in enumerate((("amd64", ""), ("arm64", "v8"))):
        report["ArtifactName"] = "app.tar"
        report["Metadata"].update(ImageID="sha256:" + str(n) * 64, RepoTags=["example.com/app:pr-7"])
        report["Metadata"]["ImageConfig"] = {"os": "linux", "architecture": arch, "variant": variant}
        if arch == "arm64":
            vulns = report["Results"][0]["Vulnerabilities"]
            report["Results"][0]["Vulnerabilities"] = [
                v for v in vulns if v["VulnerabilityID"] != "CVE-2024-4741"
            ]
        reports.append(_write(tmp_path, f"{arch}.json", json.dumps(report)))
        records.append(str(tmp_path / f"{arch}.record.json"))
        Run(["check", reports[-1], "--policy", str(policy), "--today", DAY, "--json", records[-1]])
    together = tmp_path / "together.json"
    check = Run(["check", *reports, "--policy", str(policy), "--today", DAY, "--json", str(together)])
    assert check.code == 1, check.err
    written = json.loads(together.read_text(encoding="utf-8"))
    schema = json.loads((ROOT / "docs" / "decision-record.schema.json").read_text(encoding="utf-8"))
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(written)) == []
    amd, arm = written["images"]
    assert (amd["image"]["platform"], arm["image"]["platform"]) == ("linux/amd64", "linux/arm64/v8")
    assert [w["waiver"] for w in amd["waived"]] == ["CVE-2024-4741"]
    assert [v["id"] for v in amd["violations"] if v["rule"] == "fixable-critical-high"] == ["CVE-2024-5535"]
    assert [w["waiver"] for w in arm["waived"]] == ["CVE-2024-5535"]
    assert arm["verdict"] == "warn"
    assert [(w["id"], w["state"], w["platforms"]) for w in amd["waivers"]] == [
        ("CVE-2024-4741", "used", ["linux/amd64"])
    ]
    assert [(w["id"], w["state"], w["platforms"]) for w in arm["waivers"]] == [
        ("CVE-2024-5535", "used", ["linux/aarch64"]),
        ("CVE-2024-4741", "unused", ["linux/arm64"]),
    ]
    assert [v["id"] for v in arm["violations"] if v["rule"] == "waiver-unused"] == ["CVE-2024-4741"]
    # The records of one job per platform keep the scope, and merge into what one check of both decides.
    [status, _] = load_record(Path(records[1]).read_bytes(), records[1]).images[0].waivers
    assert status.platforms == ("linux/aarch64",)
    merged = tmp_path / "merged.json"
    run = Run(["merge", *records, "--json", str(merged)])
    assert run.code == check.code == 1
    assert merged.read_text(encoding="utf-8") == together.read_text(encoding="utf-8")
    # A record of an older gate has no `platforms`: read as a waiver without that scope.
    data = json.loads(Path(records[1]).read_text(encoding="utf-8"))
    for w in data["images"][0]["waivers"]:
        del w["platforms"]
    old = _write(tmp_path, "old.json", json.dumps(data))
    assert {s.platforms for s in load_record(Path(old).read_bytes(), old).images[0].waivers} == {None}


def test_an_image_two_records_decide_is_noted_and_platforms_are_not(tmp_path: Path) -> None:
    # One job per policy (or per scanner) over one image: both decisions count, and the log says so once.
    report = str(TESTDATA / "reports" / "trivy-fail.json")
    records = []
    for policy in ("builtin:default", "builtin:strict"):
        records.append(str(tmp_path / f"{policy[8:]}.json"))
        assert Run(["check", report, "--policy", policy, "--today", DAY, "--json", records[-1]]).code == 1
    run = Run(["merge", *records])
    assert run.code == 1, run.err
    name = load_record(Path(records[0]).read_text(encoding="utf-8"), records[0]).images[0].name
    note = (
        f"note: {name!r} is decided in {records[0]} too, so its findings count in both decisions; to decide it "
        "once on every scanner's findings, give its reports to one gate check"
    )
    assert run.out.count(note) == 1, run.out
    # The same name for two platforms is two images: no note.
    report_data = json.loads((TESTDATA / "reports" / "trivy-fail.json").read_text(encoding="utf-8"))
    platforms = []
    for arch in ("amd64", "arm64"):
        report_data["Metadata"]["ImageConfig"] = {"os": "linux", "architecture": arch}
        report_data["Metadata"]["ImageID"] = ""
        path = _write(tmp_path, f"{arch}.json", json.dumps(report_data))
        platforms.append(str(tmp_path / f"{arch}.record.json"))
        assert Run(["check", path, "--today", DAY, "--json", platforms[-1]]).code == 1
    assert "too, so its findings count" not in Run(["merge", *platforms]).out


def test_the_merged_record_is_refused_among_its_records_when_the_merge_reviewed_every_waiver(
    tmp_path: Path,
) -> None:
    # Each image uses the waiver the other leaves unused: the merge drops both from the `unused` review, so no
    # image of the merged record is byte for byte one of its records'. Given again, it is still refused.
    need_shared()
    policy = tmp_path / "gate.toml"
    waiver = '[[waivers]]\nid = "{}"\nreason = "r"\nexpires = 2027-06-30\n'
    policy.write_text('extends = "builtin:default"\n' + waiver.format("CVE-2019-14697")
                      + waiver.format("CVE-2026-41254"))  # fmt: skip
    records = []
    for i, name in enumerate(MATRIX[:2]):
        records.append(str(tmp_path / f"d{i}.json"))
        run = Run(["check", real(name), "--policy", str(policy), "--today", DAY, "--json", records[-1]])
        assert run.code == 0, run.err
    merged = str(tmp_path / "merged.json")
    assert Run(["merge", *records, "--json", merged]).code == 0
    for args in ([*records, merged], [merged, records[1]]):
        run = Run(["merge", *args])
        assert run.code == 2, run.out
        assert "give each record once (is the merged record among the inputs?)" in run.err
        assert run.err.count("\n") == 1


def test_each_image_sarif_of_records_of_two_policies_names_its_own_policy_whatever_the_order(
    tmp_path: Path,
) -> None:
    # One job per image, each under its own policy: an image's SARIF file is that image's decision, so its run
    # names the policy that decided it, not every record's policy in the order the records were given.
    records = []
    for name, policy in (("trivy-fail.json", "builtin:default"), ("trivy-warn.json", "builtin:strict")):
        report = json.loads((TESTDATA / "reports" / name).read_text(encoding="utf-8"))
        report["ArtifactName"] = f"registry.example.com/{name[:-5]}:1"  # two repositories: no `-2` key
        path = _write(tmp_path, name, json.dumps(report))
        records.append(str(tmp_path / f"{name}.record.json"))
        assert Run(["check", path, "--policy", policy, "--today", DAY, "--json", records[-1]]).code in (0, 1)
    seen: list[dict[str, bytes]] = []
    for order in (records, records[::-1]):
        out = tmp_path / f"sarif-{len(seen)}"
        run = Run(["merge", *order, "--sarif", f"{out}/"])
        _skip_unless_available(run, "--sarif")
        assert run.code == 1, run.err
        seen.append({p.name: p.read_bytes() for p in out.iterdir()})
    assert seen[0] == seen[1]
    runs = [json.loads(text)["runs"][0] for text in seen[0].values()]
    assert sorted(r["properties"]["policy"] for r in runs) == ["builtin:default", "builtin:strict"]


def test_a_record_read_from_stdin_is_named_stdin_in_notes_and_refusals(tmp_path: Path) -> None:
    # `gate merge - other.json < one.json`: the log and the refusal name standard input, as a bad record's
    # message does, not a bare '-'.
    report = str(TESTDATA / "reports" / "trivy-fail.json")
    records = []
    for policy in ("builtin:default", "builtin:strict"):
        records.append(str(tmp_path / f"{policy[8:]}.json"))
        assert Run(["check", report, "--policy", policy, "--today", DAY, "--json", records[-1]]).code == 1
    for args, code in ((["-", records[1]], 1), (["-", records[0]], 2)):
        out, err = io.StringIO(), io.StringIO()
        stdin = io.TextIOWrapper(io.BytesIO(Path(records[0]).read_bytes()), encoding="utf-8")
        assert main(["merge", *args], stdout=out, stderr=err, stdin=stdin, env={}, today=TODAY) == code
        text = out.getvalue() + err.getvalue()
        assert " in <stdin>" in text, text
        assert " in - " not in text and " in -;" not in text


def test_each_image_sarif_of_a_matrix_run_over_midnight_is_the_sarif_of_its_job(tmp_path: Path) -> None:
    # The second job ran after midnight: the merge is of its day, but the first image was decided the day
    # before, and its SARIF file says so, as its own job's did.
    records, sarifs = [], []
    for name, day in (("trivy-fail.json", DAY), ("trivy-warn.json", (TODAY + timedelta(days=1)).isoformat())):
        report = json.loads((TESTDATA / "reports" / name).read_text(encoding="utf-8"))
        report["ArtifactName"] = f"registry.example.com/{name[:-5]}:1"  # two repositories: no `-2` key
        path = _write(tmp_path, name, json.dumps(report))
        records.append(str(tmp_path / f"{name}.record.json"))
        sarifs.append(tmp_path / f"{name}.sarif")
        run = Run(["check", path, "--today", day, "--json", records[-1], "--sarif", str(sarifs[-1])])
        _skip_unless_available(run, "--sarif")
        assert run.code in (0, 1), run.err
    out = tmp_path / "sarif"
    run = Run(["merge", *records, "--sarif", f"{out}/"], today=TODAY + timedelta(days=1))
    assert run.code == 1, run.err
    assert sorted(p.read_bytes() for p in out.iterdir()) == sorted(p.read_bytes() for p in sarifs)
