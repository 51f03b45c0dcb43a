"""Metamorphic relations of `gate merge` over records of real reports (docs/baseline.md, "Many images").

One `gate check --json` per image (a CI matrix), under builtin:default, builtin:strict and a policy with budgets,
image checks and waivers (used by one image only, unused by every image, expired), then:

1. order: a permutation of the records changes only the order of the images (and what follows it: the list
   order in the record and reports); each image's SARIF file, the verdict and the counts are byte for byte the
   same, also for records of several policies;
2. one record: the merge writes what its own gate check wrote (every output, the log, the exit code);
3. parts: the verdict is the worst image's, the counts are the sums, every violation of every record is kept
   (but a waiver-unused one of a waiver another image used);
4. duplicates: a record given twice is refused; one image decided by two policies stays two decisions, noted;
   records of more than a day apart, or merged more than a day later, are refused;
5. waivers: used by one image, a waiver is unused in none; unused by all, it is unused in every image it was
   reviewed in;
6. splitting: records of one gate check over several images, or of one per image, merge into what one gate
   check over all the reports writes.
"""

from __future__ import annotations

import io
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gate.cli import main
from tests.conftest import GENERATED, REAL, TODAY, need_shared

DAY = TODAY.isoformat()
# The images of the matrix: their reports and (generated images only) the podman inspect of the image.
IMAGES: dict[str, tuple[str, str | None]] = {
    "alpine39": ("trivy/trivy-integ--alpine-39.json", None),
    "stretch": ("trivy/trivy-integ--debian-stretch.json", None),
    "grype-alpine": ("grype/kubevuln--alpine-cve.json", None),
    "busybox": ("grype/defectdojo-grype--many_vulns_with_epss_values.json", None),
    "root-env": ("a-root-implicit-secrets", "podman"),
    "root-key": ("c-root-explicit-secret-files", "podman"),
    "nobody": ("g-nobody-8080", "podman"),
}
PLAIN = ["alpine39", "stretch", "grype-alpine", "busybox"]
INSPECTED = ["root-env", "root-key", "nobody"]  # a check of several takes one --image-metadata per image
# waivers[0]: alpine39 only; [1]: grype-alpine only; [2]: busybox only (expiring soon); [3]: no image; [4] expired;
# [5]: waivers[0] but for a package no image ships (no image, though its facts are those of a used waiver).
CUSTOM = """extends = "builtin:default"
[settings]
waiver_unused = "fail"
[[rules]]
id = "medium-budget"
action = "fail"
match = { kind = "vulnerability", severity = "medium" }
max = 5
[[rules]]
id = "hygiene"
action = "warn"
image = { labels = ["org.opencontainers.image.source"], healthcheck = "required", max_layers = 20, forbidden_ports = [22] }
[[waivers]]
id = "CVE-2019-14697"
reason = "musl of Alpine 3.9"
expires = 2027-06-30
[[waivers]]
id = "CVE-2023-0464"
reason = "libssl3"
expires = 2027-06-30
owner = "team-a"
[[waivers]]
id = "CVE-2021-28831"
reason = "busybox"
expires = 2026-12-05
[[waivers]]
id = "CVE-1999-0001"
reason = "nothing ships it"
expires = 2027-06-30
[[waivers]]
id = "CVE-2023-5363"
reason = "expired"
expires = 2026-01-01
[[waivers]]
id = "CVE-2019-14697"
reason = "musl of Alpine 3.9"
expires = 2027-06-30
packages = ["libc-utils"]
"""
POLICIES = ["builtin:default", "builtin:strict", "custom"]
FLAGS = ["--json", "--summary", "--junit", "--gitlab-report", "--codequality", "--comment"]
ORDER = {"pass": 0, "warn": 1, "fail": 2}


@dataclass
class Run:
    code: int
    out: str
    err: str


def gate(*args: str, today: date = TODAY) -> Run:
    out, err = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(b""), encoding="utf-8")
    code = main(list(args), stdout=out, stderr=err, stdin=stdin, env={}, today=today)
    return Run(code, out.getvalue(), err.getvalue())


def written(folder: Path, sarif: str = "sarif/") -> list[str]:
    """Every output flag, each to its own file in `folder` (`--sarif` as given: a directory or a file)."""
    args = [arg for flag in FLAGS for arg in (flag, str(folder / flag.strip("-")))]
    return [*args, "--sarif", str(folder / sarif)]


def outputs(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def log(run: Run) -> str:
    """The log without the lines naming the SARIF files gate merge wrote (gate check writes one file)."""
    return "".join(line for line in run.out.splitlines(True) if not line.startswith("gate: wrote "))


@dataclass
class Matrix:
    root: Path
    policies: dict[str, str]  # name -> --policy value

    def check_args(self, policy: str, images: list[str]) -> list[str]:
        args = ["check"]
        for image in images:
            report, inspect = IMAGES[image]
            args.append(str(GENERATED / report / "trivy.docker-archive.json" if inspect else REAL / report))
        for image in images:
            report, inspect = IMAGES[image]
            if inspect:
                args += ["--image-metadata", str(GENERATED / report / "podman-inspect.json")]
        return [*args, "--policy", self.policies[policy], "--today", DAY]

    def folder(self, *parts: str) -> Path:
        path = self.root.joinpath(*parts)
        shutil.rmtree(path, ignore_errors=True)
        return path

    def record(self, policy: str, image: str) -> str:
        return str(self.root / "jobs" / policy.replace(":", "-") / image / "json")

    def records(self, policy: str, images: list[str]) -> list[str]:
        return [self.record(policy, image) for image in images]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Matrix:
    """One job per image and policy, each writing every output (the record, `jobs/<policy>/<image>/json`)."""
    need_shared()
    root = tmp_path_factory.mktemp("matrix")
    custom = root / "gate.toml"
    custom.write_text(CUSTOM, encoding="utf-8")
    m = Matrix(
        root,
        {"builtin:default": "builtin:default", "builtin:strict": "builtin:strict", "custom": str(custom)},
    )
    for policy in POLICIES:
        for image in IMAGES:
            folder = Path(m.record(policy, image)).parent
            run = gate(*m.check_args(policy, [image]), *written(folder, "sarif"))
            assert run.code in (0, 1), run.err
            (folder.parent / f"{image}.log").write_text(run.out, encoding="utf-8")
            (folder.parent / f"{image}.code").write_text(str(run.code), encoding="utf-8")
    return m


def load(path: Path | str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return data


def by_image(items: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Entries of the record's top-level lists grouped by image, each as sorted JSON."""
    out: dict[str, list[str]] = {}
    for item in items:
        out.setdefault(item["image"], []).append(json.dumps(item, sort_keys=True))
    return out


def order_free(folder: Path) -> dict[str, Any]:
    """What a merge wrote, less the order of the images: the record's images as a multiset, its top-level
    lists image by image, the GitLab and code-quality entries as multisets, and each SARIF file as it is."""
    record = load(folder / "json")
    return {
        "head": {key: record[key] for key in ("record_version", "verdict", "today", "counts")},
        "policies": sorted(record["policy"].split(", ")),
        "images": Counter(json.dumps(image, sort_keys=True) for image in record["images"]),
        "violations": by_image(record["violations"]),
        "waived": by_image(record["waived"]),
        "gitlab": Counter(
            json.dumps(v, sort_keys=True) for v in load(folder / "gitlab-report")["vulnerabilities"]
        ),
        "codequality": Counter(json.dumps(v, sort_keys=True) for v in load(folder / "codequality")),
        "sarif": {p.name: p.read_bytes() for p in sorted((folder / "sarif").iterdir())},
    }


def permutations(items: list[str]) -> Iterator[list[str]]:
    """A few fixed orders of `items`: reversed, rotated by one, and odd places before even ones."""
    yield items[::-1]
    yield items[1:] + items[:1]
    yield items[1::2] + items[::2]


@pytest.mark.parametrize("policy", POLICIES)
def test_1_the_order_of_the_records_changes_only_the_order_of_the_images(matrix: Matrix, policy: str) -> None:
    records = matrix.records(policy, list(IMAGES))
    first = matrix.folder("r1", policy, "given")
    run = gate("merge", *records, *written(first))
    again = matrix.folder("r1", policy, "again")
    assert gate("merge", *records, *written(again)).code == run.code
    assert outputs(again) == outputs(first)  # deterministic
    want = order_free(first)
    blocks = sorted(block.strip("\n") for block in log(run).split("\n\n")[1:])
    for n, order in enumerate(permutations(records)):
        folder = matrix.folder("r1", policy, str(n))
        other = gate("merge", *order, *written(folder))
        assert other.code == run.code, other.err
        assert order_free(folder) == want
        assert log(other).split("\n\n")[0] == log(run).split("\n\n")[0]  # the verdict line
        assert sorted(block.strip("\n") for block in log(other).split("\n\n")[1:]) == blocks


def test_1_the_order_of_records_of_several_policies_changes_no_image_sarif(matrix: Matrix) -> None:
    # One image per policy: each image's SARIF file says the policy that decided it, whatever the order.
    records = [
        matrix.record(p, i) for p, i in zip(POLICIES, ["alpine39", "busybox", "root-env"], strict=True)
    ]
    seen = []
    for n, order in enumerate([records, *permutations(records)]):
        folder = matrix.folder("r1-policies", str(n))
        assert gate("merge", *order, *written(folder)).code == 1
        seen.append(order_free(folder))
    assert all(s == seen[0] for s in seen)
    policies = [json.loads(text)["runs"][0]["properties"]["policy"] for text in seen[0]["sarif"].values()]
    assert sorted(policies) == sorted(matrix.policies.values())


@pytest.mark.parametrize("policy", POLICIES)
def test_2_the_merge_of_one_record_is_its_check(matrix: Matrix, policy: str) -> None:
    for image in IMAGES:
        job = Path(matrix.record(policy, image)).parent
        folder = matrix.folder("r2", policy, image)
        run = gate("merge", str(job / "json"), *written(folder, "sarif"))
        assert run.code == int((job.parent / f"{image}.code").read_text(encoding="utf-8")), image
        assert log(run) == (job.parent / f"{image}.log").read_text(encoding="utf-8")
        assert outputs(folder) == outputs(job), image


@pytest.mark.parametrize("policy", ["builtin:default", "builtin:strict"])
def test_2_each_image_sarif_of_the_merge_is_its_jobs(matrix: Matrix, policy: str) -> None:
    # Without waivers to review, the merge changes no image: each file is the one its job wrote.
    folder = matrix.folder("r2-sarif", policy)
    assert gate("merge", *matrix.records(policy, list(IMAGES)), "--sarif", f"{folder}/").code == 1
    jobs = sorted((Path(matrix.record(policy, image)).parent / "sarif").read_bytes() for image in IMAGES)
    assert sorted(p.read_bytes() for p in folder.iterdir()) == jobs


def check_parts(merged: dict[str, Any], parts: list[dict[str, Any]]) -> None:
    """Relations 3 and 5 of the merged record and the records it merged."""
    images = [image for part in parts for image in part["images"]]
    assert [i["name"] for i in merged["images"]] == [i["name"] for i in images]
    assert merged["verdict"] == max((i["verdict"] for i in merged["images"]), key=ORDER.__getitem__)
    used = {w["index"] for i in images for w in i["waivers"] if w["matched"]}
    unused = {w["index"] for i in images for w in i["waivers"] if w["state"] == "unused"} - used
    for mine, its in zip(merged["images"], images, strict=True):
        kept = [v for v in its["violations"] if v["rule"] != "waiver-unused"]
        assert [v for v in mine["violations"] if v["rule"] != "waiver-unused"] == kept
        assert ORDER[mine["verdict"]] <= ORDER[its["verdict"]]
        if mine["verdict"] != its["verdict"]:  # only a waiver another image used can lift a verdict
            assert any(v["rule"] == "waiver-unused" for v in its["violations"])
        # Relation 5: a waiver is unused where it was reviewed and no image used it.
        was = {w["index"] for w in its["waivers"] if w["state"] == "unused"}
        is_now = {w["index"] for w in mine["waivers"] if w["state"] == "unused"}
        flagged = {v.get("waiver_index") for v in mine["violations"] if v["rule"] == "waiver-unused"}
        assert flagged == is_now == was & unused
    for count in ("findings", "waived", "suppressed"):
        assert merged["counts"][count] == sum(part["counts"][count] for part in parts), count
    severities: Counter[str] = Counter()
    for part in parts:
        severities.update(part["counts"]["severity"])
    assert merged["counts"]["severity"] == dict(severities)
    for action in ("fail", "warn"):
        assert merged["counts"][f"{action}ed"] == sum(v["action"] == action for v in merged["violations"])
    every = Counter(json.dumps(v, sort_keys=True) for v in merged["violations"])
    for part in parts:
        for v in part["violations"]:
            assert v["rule"] == "waiver-unused" or every[json.dumps(v, sort_keys=True)] > 0, v


@pytest.mark.parametrize("policy", POLICIES)
def test_3_and_5_the_merge_is_the_worst_and_the_sum_of_its_parts(matrix: Matrix, policy: str) -> None:
    records = matrix.records(policy, list(IMAGES))
    out = matrix.folder("r3", policy)
    run = gate("merge", *records, "--json", str(out / "merged.json"))
    merged = load(out / "merged.json")
    assert run.code == (1 if merged["verdict"] == "fail" else 0)
    check_parts(merged, [load(r) for r in records])


def test_5_a_waiver_one_image_used_is_unused_in_none_and_one_no_image_used_in_every_image(
    matrix: Matrix,
) -> None:
    records = matrix.records("custom", list(IMAGES))
    out = matrix.folder("r5")
    assert gate("merge", *records, "--json", str(out / "merged.json")).code == 1
    merged = load(out / "merged.json")
    for image in merged["images"]:
        unused = [(v["id"], v["waiver_index"]) for v in image["violations"] if v["rule"] == "waiver-unused"]
        assert unused == [("CVE-1999-0001", 3), ("CVE-2019-14697", 5)], image["name"]
        assert [(v["id"], v["action"]) for v in image["violations"] if v["rule"] == "waiver-expired"] == [
            ("CVE-2023-5363", "fail")
        ]
    # In its own job, each image calls unused the waivers the others used.
    alone = load(matrix.record("custom", "stretch"))["images"][0]
    indexes = sorted(v["waiver_index"] for v in alone["violations"] if v["rule"] == "waiver-unused")
    assert indexes == [0, 1, 2, 3, 5]


def test_4_a_record_given_twice_is_refused_and_two_decisions_of_one_image_stay_two(
    matrix: Matrix, tmp_path: Path
) -> None:
    record = matrix.record("custom", "alpine39")
    copy = tmp_path / "copy.json"
    shutil.copy(record, copy)
    for args in (
        [record, record],
        [record, str(copy)],
        [matrix.record("custom", "busybox"), str(copy), record],
    ):
        run = gate("merge", *args)
        assert run.code == 2, run.out
        assert "give each record once" in run.err
    # The same image under two policies (a matrix over policies): two decisions, noted once, both counted.
    records = [matrix.record("builtin:default", "alpine39"), record]
    run = gate("merge", *records, "--json", str(tmp_path / "two.json"))
    assert run.code == 1, run.err
    assert run.out.count("is decided in") == 1
    two = load(tmp_path / "two.json")
    assert two["policy"] == f"builtin:default, {matrix.policies['custom']}"
    check_parts(two, [load(r) for r in records])


def test_4_records_of_other_days_are_merged_within_a_day_and_refused_beyond(
    matrix: Matrix, tmp_path: Path
) -> None:
    # A job run past midnight: its record is of the next day; the merge is of that day.
    late = Path(tmp_path / "late.json")
    args = matrix.check_args("custom", ["busybox"])
    run = gate(*[a if a != DAY else "2026-11-28" for a in args], "--json", str(late))
    assert run.code == 1, run.err
    records = [matrix.record("custom", "alpine39"), str(late)]
    for order in (records, records[::-1]):
        run = gate("merge", *order, "--json", str(tmp_path / "merged.json"), today=date(2026, 11, 28))
        assert run.code == 1, run.err
        merged = load(tmp_path / "merged.json")
        assert merged["today"] == "2026-11-28"
        check_parts(merged, [load(r) for r in order])
    later = gate(*[a if a != DAY else "2026-11-29" for a in args], "--json", str(late))
    assert later.code == 1
    run = gate("merge", *records, today=date(2026, 11, 29))
    assert run.code == 2
    assert "the records were decided on 2026-11-27 and 2026-11-29" in run.err
    run = gate("merge", records[0], today=date(2026, 11, 29))
    assert run.code == 2
    assert "today is 2026-11-29" in run.err


@pytest.mark.parametrize("policy", POLICIES)
def test_6_a_split_run_merges_into_one_check_of_all_images(matrix: Matrix, policy: str) -> None:
    for group in (PLAIN, INSPECTED):
        together = matrix.folder("r6", policy, group[0], "together")
        check = gate(*matrix.check_args(policy, group), *written(together, "sarif"))
        assert check.code in (0, 1), check.err
        runs = load(together / "sarif")["runs"]
        # One job per image, and two jobs of several images each.
        halves = [group[: len(group) // 2], group[len(group) // 2 :]]
        jobs = []
        for n, half in enumerate(halves):
            jobs.append(str(matrix.folder("r6", policy, group[0], f"half{n}.json")))
            assert gate(*matrix.check_args(policy, half), "--json", jobs[-1]).code in (0, 1)
        for name, records in (("singles", matrix.records(policy, group)), ("halves", jobs)):
            folder = matrix.folder("r6", policy, group[0], name)
            run = gate("merge", *records, *written(folder))
            assert (run.code, log(run)) == (check.code, check.out), name
            mine, its = outputs(folder), outputs(together)
            assert {k: v for k, v in mine.items() if not k.startswith("sarif")} == {
                k: v for k, v in its.items() if k != "sarif"
            }
            # gate check writes one SARIF file of all images; the merge one per image, each a run of that file.
            files = [load(folder / k)["runs"] for k in mine if k.startswith("sarif/")]
            assert sorted(json.dumps(r, sort_keys=True) for r in runs) == sorted(
                json.dumps(run, sort_keys=True) for [run] in files
            )


def test_6_a_job_with_a_baseline_and_one_without_merge_into_one_check_of_both(matrix: Matrix) -> None:
    base = ["--baseline", str(REAL / "trivy/trivy-integ--alpine-39-ignore-cveids.json")]
    jobs = [[*matrix.check_args("custom", ["alpine39"]), *base], matrix.check_args("custom", ["stretch"])]
    records = []
    for n, args in enumerate(jobs):
        records.append(str(matrix.folder("r6-baseline", f"{n}.json")))
        assert gate(*args, "--json", records[-1]).code == 1
    together = matrix.folder("r6-baseline", "together")
    check = gate(*matrix.check_args("custom", ["alpine39", "stretch"]), *base, *written(together, "sarif"))
    merged = matrix.folder("r6-baseline", "merged")
    run = gate("merge", *records, *written(merged, "sarif"))
    assert (run.code, log(run)) == (check.code, check.out)
    assert "no baseline of this image was given" in run.out
    mine, its = outputs(merged), outputs(together)
    assert {k: v for k, v in mine.items() if not k.startswith("sarif")} == {
        k: v for k, v in its.items() if k != "sarif"
    }
