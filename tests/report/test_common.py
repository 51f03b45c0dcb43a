"""Stable keys, pseudo-paths, advisory links, security scores, the final FROM, and result selection."""

from __future__ import annotations

import json
import re
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pydantic_core
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gate.model import Cvss, Finding, FindingKind, Image, Package, ReportTimes, Scan, Severity, Vex, VexStatus
from gate.policy.decision import ImageDecision
from gate.policy.engine import evaluate
from gate.policy.schema import load_policy
from gate.report import _common, codequality, gitlab, sarif
from gate.report._common import (
    OnePerLine,
    Results,
    advisory_url,
    final_from_line,
    image_key,
    image_keys,
    item_count,
    items,
    json_chunks,
    pseudo_path,
    security_score,
    to_json,
)
from tests.conftest import REAL, TODAY, need_shared, write_policy
from tests.report.helpers import (
    DATA,
    decide,
    fixture_decision,
    one_finding,
    readable_fixtures,
    synthetic_scan,
)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("ghcr.io/org/app:1.2@sha256:" + "a" * 64, "org/app"),
        ("docker.io/library/alpine:3.19", "alpine"),
        ("alpine:3.19 (alpine 3.19.1)", "alpine"),
        ("alpine@sha256:" + "e" * 64, "alpine"),
        ("localhost:5000/foo/bar:1", "foo/bar"),
        ("registry.example.com:5000/team/api", "team/api"),
        ("https://github.com/org/repo", "org/repo"),
        ("../fixtures/report.json", "fixtures/report.json"),
        ("/build/app.tar", "build/app.tar"),
        # Trivy on Windows: the key of the same path with `/` (the drive goes as a registry would)
        ("C:\\build\\app.tar", "build/app.tar"),
        ("C:\\build\\app.tar (alpine 3.19.1)", "build/app.tar"),
        ("D:\\app.tar", "app.tar"),
        ("out\\oci", "out/oci"),
        ("user input with spaces", "user-input-with-spaces"),
        ('"."', "image"),
        ("", "image"),
    ],
)
def test_image_key(name: str, key: str) -> None:
    assert image_key(name) == key


@pytest.mark.parametrize("name", ["(" * 200_000, "a (" * 70_000 + "b", "\t(" * 100_000 + ") x"])
def test_image_key_of_a_hostile_name_takes_linear_time(name: str) -> None:
    # A few milliseconds here; cutting Trivy's `(...)` by a regular expression took minutes on such a name.
    start = time.perf_counter()
    image_key(name)
    assert time.perf_counter() - start < 5.0


@given(st.text(st.sampled_from("a (\t)/:"), max_size=12))
def test_image_key_drops_a_trailing_parenthesis_as_trivy_writes_it(name: str) -> None:
    # `alpine:3.19 (alpine 3.19.1)`: from the first `(`, with the blanks before it, when the name ends in `)`
    trivy = re.sub(r"\s*\(.*\)$", "", " ".join(name.split()))
    assert image_key(name) == image_key(trivy or "image")


def test_image_key_ignores_tag_and_digest() -> None:
    assert image_key("ghcr.io/org/app:pr-12") == image_key("ghcr.io/org/app:main@sha256:" + "1" * 64)


def test_image_keys_are_distinct() -> None:
    need_shared()
    one = decide(REAL / "trivy" / "trivy-integ--alpine-39.json")
    two = one.model_copy(update={"images": one.images * 3})
    assert image_keys(two) == [
        "testdata/fixtures/images/alpine-39.tar.gz",
        "testdata/fixtures/images/alpine-39.tar.gz-2",
        "testdata/fixtures/images/alpine-39.tar.gz-3",
    ]


def test_a_numbered_key_never_takes_another_images_own_key() -> None:
    # GitHub refuses two runs of one category: `org/app` twice must not become the third image's `org/app-2`.
    need_shared()
    one = decide(REAL / "trivy" / "trivy-integ--alpine-39.json")
    names = ("ghcr.io/org/app:1.0", "org/app-2:3.0", "quay.io/org/app:1.0")
    images = tuple(one.images[0].model_copy(update={"name": name}) for name in names)
    assert image_keys(one.model_copy(update={"images": images})) == ["org/app", "org/app-2", "org/app-3"]


@pytest.mark.parametrize(
    "part", ["@babel/core", "org.foo:bar", "a b", "../../etc/passwd", "/app/x.py", "%41"]
)
def test_pseudo_path_is_what_github_accepts(part: str) -> None:
    path = pseudo_path("team/app", part)
    assert path.startswith("container-images/team/app/")
    assert not re.search(r"[:@\s]", path)
    assert "/../" not in path and not path.endswith("/..") and "//" not in path


def test_long_names_give_short_distinct_keys_and_paths() -> None:
    # Every SARIF result and code-quality issue repeats the key and the package's path part: a 100,000
    # character name must not be copied into each of them.
    long_a, long_b = "a" * 100_000, "a" * 99_999 + "b"
    assert len(image_key(long_a)) == 200 and image_key(long_a) != image_key(long_b)
    assert image_key(long_a) == image_key(long_a + ":tag")
    path = pseudo_path(image_key(long_a), long_b)
    assert len(path) < 450 and path != pseudo_path(image_key(long_a), long_a)


def test_advisory_url_only_from_well_formed_ids() -> None:
    assert advisory_url("CVE-2024-1234") == "https://nvd.nist.gov/vuln/detail/CVE-2024-1234"
    assert advisory_url("GHSA-v6rh-hp5x-86rv") == "https://github.com/advisories/GHSA-v6rh-hp5x-86rv"
    assert advisory_url("GO-2023-1571") == "https://osv.dev/vulnerability/GO-2023-1571"
    assert advisory_url("CVE-2024-1234)](https://evil") is None
    assert advisory_url("aws-access-key-id") is None


@pytest.mark.parametrize(
    "finding_id",
    [
        "CVE-\u0662\u0660\u0662\u0664-\u0661\u0662\u0663\u0664",  # Arabic-Indic digits
        "CVE-2024-\uff11\uff12\uff13\uff14",  # fullwidth digits
        "GO-\u0968\u0966\u0968\u0969-1571",  # Devanagari digits
        "PYSEC-2024-\u0661",
        "RUSTSEC-2024-\u0661",
        "OSV-2024-\u0661",
        "DLA-\u0661-1",
        "DSA-1-\u0661",
        "USN-\u0661-1",
    ],
)
def test_advisory_url_needs_ascii_digits(finding_id: str) -> None:
    assert advisory_url(finding_id) is None
    ascii_id = "".join(str(int(c)) if c.isdigit() else c for c in finding_id)
    assert advisory_url(ascii_id) is not None


def _finding(severity: Severity, *scores: float) -> Finding:
    cvss = tuple(Cvss(source="nvd", version="3", score=s) for s in scores)
    return Finding(kind=FindingKind.VULNERABILITY, id="CVE-1", severity=severity, cvss=cvss, scanner="trivy")


@pytest.mark.parametrize(
    ("severity", "scores", "expected"),
    [
        (Severity.CRITICAL, (9.8,), 9.8),
        (Severity.CRITICAL, (9.0,), 9.5),  # GitHub files 9.0 as high: keep critical critical
        (Severity.HIGH, (9.8,), 8.0),  # the scanner's severity wins over an out-of-band score
        (Severity.HIGH, (7.5,), 7.5),
        (Severity.MEDIUM, (), 5.5),
        (Severity.LOW, (), 2.0),
        (Severity.NEGLIGIBLE, (), 1.0),
        (Severity.UNKNOWN, (), 0.0),
        (Severity.UNKNOWN, (6.1,), 6.1),
    ],
)
def test_security_score(severity: Severity, scores: tuple[float, ...], expected: float) -> None:
    assert security_score(_finding(severity, *scores), severity) == expected


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("FROM alpine\n", 1),
        ("FROM golang AS build\nRUN go build\n\nFROM alpine:3.19\nCOPY --from=build /x /x\n", 4),
        ("# syntax=docker/dockerfile:1\nfrom alpine\n", 2),
        ("FROM a\nRUN echo \\\n  FROM not-an-instruction\n", 1),
        ("FROM a\nRUN echo \\\n# comment inside\n  FROM still-continued\nFROM b\n", 5),
        ("# escape=`\nFROM a\nRUN x `\nFROM not-this\nFROM c\n", 5),
        ("FROM a\nRUN <<EOF\nFROM inside-heredoc\nEOF\n", 1),
        ("FROM a\nRUN <<-EOT\n  FROM inside\n  EOT\nFROM b\n", 5),
        ("RUN x\n", None),
        ("", None),
        ("# FROM commented\n", None),
        # BuildKit drops a UTF-8 byte order mark before the first line (an editor on Windows writes one)
        ("\ufeffFROM alpine\n", 1),
        ("\ufeff# escape=`\nFROM a\nWORKDIR C:\\\nFROM b\n", 4),
        # directives in any order: `# escape=` after `# syntax=` still sets the escape character
        ("# syntax=docker/dockerfile:1\n# escape=`\nFROM a AS build\nWORKDIR C:\\\nFROM b\n", 5),
        ("# Syntax = docker/dockerfile:1\n# ESCAPE = `\nFROM a\nWORKDIR C:\\\nFROM b\n", 5),
        # an unknown directive ends them: the `# escape=` after it is a comment
        ("# unknown=x\n# escape=`\nFROM a\nWORKDIR C:\\\nFROM b\n", 3),
        # only a line feed ends a line, as BuildKit reads the file
        ("FROM a\r\nRUN x\r\nFROM b\r\n", 3),
        # a heredoc is a word of its own, of RUN, COPY or ADD, and its body follows the instruction's last line
        ("FROM golang AS build\nRUN echo $((1<<SHIFT))\nFROM alpine\n", 3),
        ('FROM a\nRUN echo "<<EOF"\nFROM b\n', 3),
        ("FROM a\nENV A <<EOF\nFROM b\n", 3),
        ("FROM a\nONBUILD RUN <<EOF\nFROM inside\nEOF\nFROM b\n", 5),
        ("FROM a\nRUN <<EOF \\\n  && true\nFROM inside\nEOF\nFROM b\n", 6),
        ("FROM a\nCOPY <<one 2<<-two /x/\nFROM in-one\none\n\tFROM in-two\n\ttwo\nFROM b\n", 7),
        ('FROM a\nLABEL x="a\u2028b\x0cc\x85d\x1ee"\nFROM b\n', 3),
    ],
)
def test_final_from_line(text: str, line: int | None) -> None:
    assert final_from_line(text) == line


@pytest.mark.parametrize(
    "first", ["# syntax=x" + " " * 200_000 + "y", "# escape=" + "\t" * 200_000, "#" * 200_000]
)
def test_a_hostile_first_line_is_read_in_linear_time(first: str) -> None:
    """A pull request's Dockerfile is untrusted: a long run of blanks in a directive took seconds per 10,000."""
    started = time.perf_counter()
    assert final_from_line(f"{first}\nFROM a\n") == 2
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize(("setting", "level"), [("warn", "warning"), ("fail", "error")])
def test_a_finding_only_a_built_in_rule_flags_is_a_result_of_that_rule(
    tmp_path: Path, setting: str, level: str
) -> None:
    # A medium finding no policy rule catches, under investigation per VEX: the built-in vex-under-investigation
    # rule warns (or fails) about it, and its result says so (it was a note "no rule of the policy gates it").
    policy = write_policy(
        tmp_path,
        f'version = 1\nextends = "builtin:default"\n[settings]\nvex_under_investigation = "{setting}"\n',
    )
    scan = synthetic_scan(1)
    vex = Vex(status=VexStatus.UNDER_INVESTIGATION, statement="checking", source="app.vex.json")
    finding = scan.findings[0].model_copy(update={"severity": Severity.MEDIUM, "vex": vex})
    decision = evaluate(
        scan.model_copy(update={"findings": (finding,)}), load_policy(str(policy)), today=TODAY
    )
    image = decision.images[0]
    assert [(v.rule_id, v.action.value) for v in image.violations if v.finding is not None] == [
        ("vex-under-investigation", setting)
    ]
    (item,) = [i for i in items(image) if i.finding is not None]
    assert (item.level, item.rules) == (level, ("vex-under-investigation",))
    result = next(
        r for r in json.loads(sarif.render(decision))["runs"][0]["results"] if r["ruleId"] == finding.id
    )
    assert result["level"] == level
    assert result["properties"]["policyRules"] == ["vex-under-investigation"]
    assert "rule vex-under-investigation" in result["message"]["text"]
    (entry,) = json.loads(gitlab.render(decision))["vulnerabilities"]
    assert entry["description"].endswith("container-gate policy rules: vex-under-investigation")


def test_items_dedupe_and_order() -> None:
    need_shared()
    decision = decide(REAL / "grype" / "defectdojo-grype--check_all_fields.json")
    image = decision.images[0]
    found = items(image)
    keys = [(i.rule_id, i.package, i.version, i.where) for i in found]
    assert len(keys) == len(set(keys))  # Django 3.2.9 GHSA-v6rh-hp5x-86rv is reported twice, kept once
    levels = [i.level for i in found]
    assert levels == sorted(levels, key=["error", "warning", "note"].index)


def test_items_cover_every_active_finding() -> None:
    need_shared()
    for path in readable_fixtures():
        image = fixture_decision(path).images[0]
        distinct = {
            (
                o.finding.kind,
                o.finding.id,
                o.finding.package.name if o.finding.package else o.finding.target,
                o.finding.package.version if o.finding.package else "",
            )
            for o in image.outcomes
        }
        checks = [v for v in image.violations if v.finding is None]
        assert len(items(image)) == len(distinct) + len(checks), path.name
        assert item_count(image) == len(items(image)), path.name
        assert item_count(image, suppressed=True) == len(items(image, suppressed=True)), path.name


def test_shared_results_are_the_items_of_each_image() -> None:
    """One full list serves both views: left out, the suppressed results leave the list without them, in order
    (a fixture with suppressed findings and one with waived findings, which sort among them)."""
    need_shared()
    for decision in (
        fixture_decision(REAL / "trivy" / "ci-steadybit-shop--steadybit-orders.json"),
        decide(REAL / "trivy" / "trivy-integ--alpine-39.json", "waivers.toml"),
    ):
        image = decision.images[0]
        results = Results()
        assert results.count(image, suppressed=True) == item_count(image, suppressed=True)  # not built yet
        assert results.items(image) == items(image)
        assert results.items(image, suppressed=True) == items(image, suppressed=True)
        assert results.count(image) == len(items(image))
        assert results.count(image, suppressed=True) == len(items(image, suppressed=True))
        assert any(i.suppressed or i.waived for i in results.items(image, suppressed=True))


def test_the_renderers_of_one_run_build_each_image_s_results_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from gate.cli.check import renderers

    need_shared()
    decision = fixture_decision(REAL / "trivy" / "ci-steadybit-shop--steadybit-orders.json")
    built: list[ImageDecision] = []

    def counted(image: ImageDecision, *, suppressed: bool = False) -> list[_common.Item]:
        built.append(image)
        return items(image, suppressed=suppressed)

    monkeypatch.setattr(_common, "items", counted)
    render = renderers()
    for output in ("sarif", "gitlab_report", "summary", "comment"):
        render[output](decision)
    assert built == list(decision.images)


def test_the_json_renderers_encode_what_they_render() -> None:
    """The CLI writes `encode` (bytes in pieces); `render` is the text: the same, with `##` broken and one final
    newline."""
    need_shared()
    decision = fixture_decision(REAL / "trivy" / "ci-steadybit-shop--steadybit-orders.json")
    for encode, render in (
        (sarif.encode, sarif.render),
        (gitlab.encode, gitlab.render),
        (codequality.encode, codequality.render),
    ):
        data = b"".join(encode(decision))
        assert data == render(decision).encode("utf-8")
        assert data.endswith((b"}\n", b"]\n"))
    assert _common.json_bytes({"a": "##[error]"}) == [b'{\n  "a": "#\\u0023[error]"\n}', b"\n"]


def test_two_stale_reports_of_one_image_are_two_items(tmp_path: Path) -> None:
    """Trivy's and Grype's reports of one image, both too old: two `report-age` violations, told apart by
    their messages (each names its report), so the SARIF file has a result for each, as the log counts them."""
    made = datetime(2026, 10, 1, tzinfo=timezone.utc)
    times = (
        ReportTimes(source="trivy.json", scanner="trivy", created=made),
        ReportTimes(source="grype.json", scanner="grype", created=made),
    )
    image_config = Image(reference="app:1", config_known=True, user="app")
    scan = Scan(source="trivy.json", scanner="trivy", artifact="app:1", image=image_config, times=times)
    policy = write_policy(tmp_path, 'extends = "builtin:default"\n[settings]\nmax_report_age_days = 7\n')
    image = evaluate(scan, load_policy(str(policy)), today=date(2026, 11, 27)).images[0]
    assert [v.id for v in image.violations] == ["report-age", "report-age"]
    stale = [i.violation.message for i in items(image) if i.violation]
    assert sorted(m.split()[0] for m in stale) == ["grype.json", "trivy.json"]
    assert item_count(image) == len(items(image)) == 2


def test_each_image_check_of_a_rule_with_several_is_an_image_check(tmp_path: Path) -> None:
    """A rule with two image checks gives one result per check; each is named by its check and points at the
    image config (the SARIF rule and the code-quality path), not at the other check as a policy check."""
    image_config = Image(
        reference="app:1",
        config_known=True,
        user="root",
        diff_ids=("sha256:" + "a" * 64, "sha256:" + "b" * 64),
    )
    scan = Scan(source="trivy.json", scanner="trivy", artifact="app:1", image=image_config)
    policy = write_policy(
        tmp_path, '[[rules]]\nid = "base"\naction = "fail"\nimage = { user = "non-root", max_layers = 1 }\n'
    )
    decision = evaluate(scan, load_policy(str(policy)), today=date(2026, 11, 27))
    image = decision.images[0]
    assert sorted(v.id for v in image.violations) == ["layer-count", "non-root-user"]
    found = {(i.rule_id, i.scope, i.rules) for i in items(image)}
    assert found == {("layer-count", "image-config", ("base",)), ("non-root-user", "image-config", ("base",))}
    entries = json.loads(codequality.render(decision))
    assert {e["location"]["path"].rsplit("/", 1)[-1] for e in entries} == {"image-config"}
    assert len({e["fingerprint"] for e in entries}) == 2


def test_waived_items_carry_the_waiver() -> None:
    need_shared()
    decision = decide(REAL / "trivy" / "trivy-integ--alpine-39.json", "waivers.toml")
    waived = [i for i in items(decision.images[0]) if i.waived is not None]
    assert {(i.rule_id, i.package) for i in waived} == {
        ("CVE-2019-14697", "musl"),
        ("CVE-2019-1549", "libcrypto1.1"),
        ("CVE-2019-1549", "libssl1.1"),
    }
    assert next(i for i in waived if i.package == "musl").level == "error"  # what it would have been
    assert (DATA / "waivers.toml").is_file()


_FINDING = Finding(
    kind=FindingKind.VULNERABILITY,
    id='CVE-2026-1\n"quoted"',
    scanner="trivy",
    package=Package(name="openssl", version="3.0.1"),
)
_COMMANDS = st.sampled_from(["##[error]x", "a ##vso[task.complete]", "###", "\\##"])
_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=8) | _COMMANDS | st.just(_FINDING)
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=9) | st.dictionaries(st.text(max_size=5) | _COMMANDS, inner, max_size=4)
    ),
    max_leaves=60,
)


@given(_DOCUMENTS)
def test_json_chunks_are_the_one_piece_encoding(document: Any) -> None:
    # Small pieces (3 items) so that lists are split at every depth, nested in dicts and in other lists.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_common, "_CHUNK", 3)
        pieces = list(json_chunks(document))
    joined = b"".join(pieces)
    assert joined == to_json(document).encode("utf-8")
    assert json.loads(joined) == json.loads(pydantic_core.to_json(document))  # the same document
    # GitHub's runner reads `##[cmd]` anywhere in a line; JSON lines never start with `::`
    assert b"##" not in joined
    assert not any(line.lstrip().startswith(b"::") for line in joined.splitlines())


def test_json_chunks_never_encode_a_long_list_in_one_piece() -> None:
    document = {"images": [{"outcomes": [_FINDING] * 2_000, "notes": []}]}
    pieces = list(json_chunks(document))
    assert max(len(p) for p in pieces) < len(b"".join(pieces)) / 3


@given(st.lists(_DOCUMENTS, max_size=9), st.integers(min_value=0, max_value=3))
def test_one_per_line_lists_hold_one_compact_item_per_line(entries: list[Any], depth: int) -> None:
    document: Any = OnePerLine(entries)
    for _ in range(depth):
        document = {"section": document, "after": [1]}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_common, "_CHUNK", 3)
        joined = b"".join(json_chunks(document))
    assert json.loads(joined) == json.loads(pydantic_core.to_json(document))  # the same document
    lines = joined.splitlines()
    if entries:  # an empty list is written `[]`
        start = next(n for n, line in enumerate(lines) if line.endswith(b"["))  # the line opening the list
        items = lines[start + 1 : start + 1 + len(entries)]
        assert [json.loads(line.rstrip(b",")) for line in items] == json.loads(pydantic_core.to_json(entries))
        assert lines[start + 1 + len(entries)].strip() in (b"]", b"],")
    assert b"##" not in joined
    assert not any(line.lstrip().startswith(b"::") for line in joined.splitlines())


def test_one_per_line_lists_are_split_into_pieces() -> None:
    pieces = list(json_chunks({"outcomes": OnePerLine([_FINDING] * 2_000)}))
    assert max(len(p) for p in pieces) < len(b"".join(pieces)) / 3
    assert b"".join(pieces).count(b"\n") == 2_000 + 4  # `{`, `"outcomes": [`, 2,000 findings, `]`, `}`


def _for_platform(platform: str, name: str | None = None) -> ImageDecision:
    """The image decision of `one_finding()` for `platform` (and renamed to `name`)."""
    [image] = one_finding().images
    assert image.image is not None
    config = image.image.model_copy(update={"platform": platform})
    return image.model_copy(update={"image": config, **({"name": name} if name else {})})


def test_two_images_of_one_name_are_titled_by_platform_in_the_log_summary_and_junit() -> None:
    from gate.report import junit, log, summary
    from gate.report._common import image_titles

    amd, arm = _for_platform("linux/amd64"), _for_platform("linux/arm64/v8")
    name = amd.name
    assert image_titles([amd, arm]) == [f"{name} (linux/amd64)", f"{name} (linux/arm64/v8)"]
    assert image_titles([amd]) == [name]  # alone, the name is enough
    assert image_titles([amd, amd]) == [
        name,
        name,
    ]  # the platform does not tell them apart: JUnit numbers them
    assert image_titles([amd, _for_platform("")]) == [f"{name} (linux/amd64)", name]  # unknown: the name
    # Two spellings of one platform are one platform, for titles as for keys (which number the second `-2`).
    plain = _for_platform("linux/arm64")
    assert image_titles([plain, arm]) == [name, name]
    keys = image_keys(one_finding().model_copy(update={"images": (plain, arm)}))
    assert keys[1] == f"{keys[0]}-2"
    both = one_finding().model_copy(update={"images": (amd, arm)})
    text = log.render_log(both)
    assert f"{name} (linux/amd64): FAIL" in text and f"{name} (linux/arm64/v8): FAIL" in text
    markdown = summary.render(both)
    assert "(linux/amd64): FAIL" in markdown and "(linux/arm64/v8): FAIL" in markdown
    suites = re.findall(r'<testsuite name="([^"]+)"', junit.render(both))
    assert suites == [f"{name} (linux/amd64)", f"{name} (linux/arm64/v8)"]


def test_images_of_one_repository_for_several_platforms_are_keyed_by_platform_in_any_order() -> None:
    # A multi-architecture build gated in one run (`trivy image --input app.tar` per platform, so one name): each
    # image keeps its SARIF category and pseudo-paths whatever the order of the reports; numbered keys swapped
    # between platforms when the reports came in another order, and GitHub moved the alerts with them.
    def on(name: str, platform: str) -> ImageDecision:
        return _for_platform(platform, name)

    def keys(*images: Any) -> list[str]:
        return image_keys(one_finding().model_copy(update={"images": images}))

    amd, arm, v7 = (
        on("app.tar", "linux/amd64"),
        on("app.tar", "linux/arm64/v8"),
        on("app.tar", "linux/arm/v7"),
    )
    assert keys(amd, arm, v7) == ["app.tar/linux-amd64", "app.tar/linux-arm64", "app.tar/linux-arm-v7"]
    assert keys(v7, arm, amd) == ["app.tar/linux-arm-v7", "app.tar/linux-arm64", "app.tar/linux-amd64"]
    # tags differ, the repository is one: still by platform (aarch64 is arm64, the default variant dropped)
    tagged = (
        on("ghcr.io/org/app:pr-7-amd64", "linux/x86_64"),
        on("ghcr.io/org/app:pr-7-arm64", "linux/aarch64"),
    )
    assert keys(*tagged) == ["org/app/linux-amd64", "org/app/linux-arm64"]
    assert keys(amd) == ["app.tar"]  # alone, or all for one platform: the repository's key as before
    assert keys(amd, amd) == ["app.tar", "app.tar-2"]
    assert keys(amd, on("app.tar", "")) == ["app.tar/linux-amd64", "app.tar"]


def test_annotations_and_code_quality_title_two_images_of_one_name_by_platform() -> None:
    from gate.report import annotations, codequality

    amd, arm = _for_platform("linux/amd64"), _for_platform("linux/arm64/v8")
    name = amd.name
    both = one_finding().model_copy(update={"images": (amd, arm)})
    errors = [line for line in annotations.render(both).splitlines() if line.startswith("::error ")]
    assert len(errors) == 2
    assert f"image {name} (linux/amd64): " in errors[0] and f"image {name} (linux/arm64/v8): " in errors[1]
    entries = [e for e in json.loads(codequality.render(both)) if e["check_name"] == "fixable-critical-high"]
    assert len(entries) == 2
    assert f"image {name} (linux/amd64): " in entries[0]["description"]
    assert f"image {name} (linux/arm64/v8): " in entries[1]["description"]
    alone = json.loads(codequality.render(one_finding().model_copy(update={"images": (amd,)})))
    assert all(f"image {name}: " in e["description"] for e in alone)  # one image: its name is enough


def test_a_long_name_is_shortened_before_the_platform_that_tells_two_images_apart() -> None:
    from gate.report import annotations, codequality, log, summary
    from gate.report._common import image_titles

    name = "registry.example.com/" + "/".join(["team-platform-services"] * 8) + "/app:feature-1234"

    amd, arm = _for_platform("linux/amd64", name), _for_platform("linux/arm64/v8", name)
    assert len(name) > 200
    titles = image_titles([amd, arm], limit=150)
    assert [len(t) for t in titles] == [150, 150]
    assert titles[0].endswith("… (linux/amd64)") and titles[1].endswith("… (linux/arm64/v8)")
    assert image_titles([amd, arm]) == [
        f"{name} (linux/amd64)",
        f"{name} (linux/arm64/v8)",
    ]  # no limit: whole
    both = one_finding(image=name).model_copy(update={"images": (amd, arm)})
    assert "(linux/amd64): FAIL" in log.render_log(both) and "(linux/arm64/v8): FAIL" in log.render_log(both)
    markdown = summary.render(both)
    assert "(linux/amd64): FAIL" in markdown and "(linux/arm64/v8): FAIL" in markdown
    errors = [line for line in annotations.render(both).splitlines() if line.startswith("::error ")]
    assert "(linux/amd64): " in errors[0] and "(linux/arm64/v8): " in errors[1]
    described = [e["description"] for e in json.loads(codequality.render(both))]
    assert any("(linux/amd64): " in d for d in described) and any(
        "(linux/arm64/v8): " in d for d in described
    )
