"""The summary and comment through a real Markdown renderer: report text renders as text, nothing more.

markdown-it-py in its GFM-like mode (tables, strikethrough, autolinks by linkify-it-py) with raw HTML on, as
GitHub and GitLab render it, turns each summary and comment into HTML, which html.parser reads back. On every
real report, only the gate's own markup is there: headings, paragraphs, bold, tables, lists, `<details>` and
`<summary>`, the comment marker, and advisory links it built from well-formed IDs. Then real reports get hostile
text in every string a renderer may show (HTML, links, images, autolinks, mentions, references, `|` and
newlines, entities, backticks, zero-width and bidi characters), and so do a policy's waivers, a VEX statement,
image metadata and `gate merge`: each rendering must be the one of the same input with plain words in place of
the hostile text, element for element, link for link, table cell for table cell, and no text of it may read as
a mention, a reference or a URL (GitHub and GitLab find those in the rendered text, which a renderer cannot show).
"""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import re
from collections import Counter
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from gate.cli import main
from gate.report import summary
from gate.report._common import advisory_url
from gate.report._text import utf16_length
from tests.conftest import REAL, TESTDATA, TODAY, need_shared
from tests.report.helpers import fixture_decision, readable_fixtures

try:
    from markdown_it import MarkdownIt
except ImportError:  # pragma: no cover (the test extra installs it)
    pytest.skip("markdown-it-py is not installed", allow_module_level=True)
if importlib.util.find_spec("linkify_it") is None:  # pragma: no cover (the GFM-like preset autolinks with it)
    pytest.skip("linkify-it-py is not installed", allow_module_level=True)

# What a hostile report writes: raw HTML, Markdown links and images, autolinks, GitHub and GitLab mentions and
# references, table breakers, code, comments, entities, GitHub's own HTML and invisible characters.
HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "</td><script>alert(1)</script>",
    "[x](https://evil.example)",
    "![x](https://evil.example/a.png)",
    "[x](//evil.example)",
    "![x](//evil.example/a.png)",
    "{+added+} [-removed-]",
    "[[page]] [[_TOC_]]",
    "https://evil.example",
    "www.evil.com",
    "user@evil.com",
    "@octocat",
    "org/repo#1",
    "#12",
    "GH-12",
    "GL-12",
    "!3",
    "$4",
    "&5",
    "~label",
    '~"two words"',
    "%milestone",
    "%1",
    "[vulnerability:1]",
    "*iteration:1",
    "^alert#2",
    "gitlab-org/gitlab>",
    "a | b",
    "x\n| x | y |",
    "x\n\n| x | y |\n| --- | --- |",
    "`code` ``x``",
    "<!--",
    "-->",
    "\\|",
    "\\\\|",
    "&lt;script&gt;",
    "&#x3C;b&#x3E;",
    "<details>",
    "</details>",
    "<summary>",
    "\u200b\u200c\u200d\u2060zw",
    "\u202eevil\u202c\u2066x\u2069\u200f",
    "<https://evil.example>",
    "[x]: https://evil.example",
    "*em* _em_ **b** ~~s~~",
    "1. item",
    "- item",
    "> quote",
    "# heading",
    "---",
    "$1+1$ $$x$$",
    "<a href=https://evil.example>x</a>",
    "x\r| y |",
]
PLAIN = [f"plainword{n}" for n in range(len(HOSTILE))]
"""The same number of distinct plain words: the twin of a hostile report, finding for finding."""

# Report fields whose values the gate reads as data, not text: left as they are so the report stays valid.
_DATA_KEYS = frozenset(
    {
        "Severity", "severity", "SchemaVersion", "schemaVersion", "$schema", "PublishedDate", "LastModifiedDate",
        "CreatedAt", "Created", "created", "timestamp", "Class", "Type", "type", "Status", "state",
        "ArtifactType", "SeveritySource", "DiffID", "Digest", "ImageID", "Family", "config", "manifest",
    }
)  # fmt: skip
# The gate's markup: its headings, tables and lists, bold rule titles, the notice of a cut (a blockquote naming
# `--json` in a code span), the advisory links and the folds.
_GATE_ELEMENTS = frozenset(
    {"h2", "h3", "h4", "p", "strong", "blockquote", "code", "table", "thead", "tbody", "tr", "th", "td", "ul"}
    | {"li", "a", "details", "summary"}
)
_MARKER = re.compile(r" container-gate:[A-Za-z0-9._/+-]+ ")
# What GitHub and GitLab find in rendered text (outside the gate's own links), which no Markdown renderer shows:
# mentions, issue, merge request, snippet, epic, label, milestone, vulnerability, iteration, alert and project
# references, URLs, and GitLab's second pass over `[text](url)`, `[[page]]` and its inline diffs.
_LIVE_TEXT = {
    "mention": re.compile(r"@[A-Za-z0-9]"),
    "reference": re.compile(r"(?<![A-Za-z0-9])(?:[#!$&%~]\d|GH-\d)|GL-\d"),
    "label or milestone": re.compile(r'(?<![\w\\])[~%][A-Za-z_"]'),
    "typed reference": re.compile(r"(?i)\[[a-z_]+:|\*iteration:"),
    "project": re.compile(r"[\w.-]>"),
    "url": re.compile(r"(?i)[a-z]+://|www\."),
    # GitLab renders a `[text](url)` it finds in the text again (a link, an image after `!`), `{+x+}` and `[-x-]`
    # as inline diffs, and `[[page]]` as a wiki link (with its cmark parser).
    "GitLab link": re.compile(r"\]\(|\[\["),
    "GitLab inline diff": re.compile(r"[\[{][+-]"),
}
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class _Html(HTMLParser):
    """What the renderer made: every tag with its attributes, comments, text, and each table's cells."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[str, ...]] = []
        self.texts: list[str] = []
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag, *(f"{k}={v}" for k, v in attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag, *(f"{k}={v}" for k, v in attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def handle_comment(self, data: str) -> None:
        self.events.append(("comment", "marker" if _MARKER.fullmatch(data) else data))

    def handle_decl(self, decl: str) -> None:
        self.events.append(("declaration", decl))

    def handle_pi(self, data: str) -> None:
        self.events.append(("processing instruction", data))

    def unknown_decl(self, data: str) -> None:
        self.events.append(("declaration", data))


@pytest.fixture(scope="module")
def render() -> Callable[[str], _Html]:
    md = MarkdownIt("gfm-like", {"html": True, "linkify": True})
    # GFM links `www.` and scheme URLs, not bare domains nor protocol-relative `//host` (linkify-it's defaults);
    # the text check finds `www.` as well.
    assert md.linkify is not None
    md.linkify.set({"fuzzy_link": False}).add("//", None)
    return lambda text: _Html(md.render(text))


def _links(page: _Html) -> list[tuple[str, ...]]:
    return [e for e in page.events if e[0] == "start" and e[1] in ("a", "img")]


def _own_markup(page: _Html, *, comment: bool) -> list[str]:
    """What in a rendering of a real report the gate did not put there."""
    problems = [f"<{e[1]}>" for e in page.events if e[0] == "start" and e[1] not in _GATE_ELEMENTS]
    problems += [f"{e[0]} {e[1]!r}" for e in page.events if e[0] not in ("start", "end", "comment")]
    comments = [e[1] for e in page.events if e[0] == "comment"]
    if comments != (["marker"] if comment else []):
        problems.append(f"comments {comments}")
    for event in _links(page):  # only the advisory link of a well-formed ID, as the gate builds it
        href = event[2].removeprefix("href=") if len(event) == 3 else ""
        if event[1] != "a" or not href or advisory_url(href.rsplit("/", 1)[-1]) != href:
            problems.append(f"link {event}")
    counts = Counter(e[1] for e in page.events if e[0] == "start")
    if counts["details"] != counts["summary"]:
        problems.append(f"{counts['details']} <details>, {counts['summary']} <summary>")
    return problems


def test_every_real_report_renders_only_the_gates_markup(render: Callable[[str], _Html]) -> None:
    need_shared()
    fixtures = readable_fixtures()
    assert len(fixtures) > 90
    for path in fixtures:
        decision = fixture_decision(path)
        for text, comment in ((summary.render(decision), False), (summary.render_comment(decision), True)):
            page = render(text)
            assert _own_markup(page, comment=comment) == [], path.name
            assert not _BIDI.search("".join(page.texts)), path.name


def _differences(hostile: _Html, plain: _Html) -> list[str]:
    """How a rendering of hostile text differs from the rendering of its plain twin, beyond the words."""
    problems = []
    if Counter(hostile.events) != Counter(plain.events):  # the order of rows follows the text, so a multiset
        extra = Counter(hostile.events) - Counter(plain.events)
        missing = Counter(plain.events) - Counter(hostile.events)
        problems.append(f"elements: hostile only {sorted(extra)[:5]}, plain only {sorted(missing)[:5]}")
    if set(_links(hostile)) - set(_links(plain)):
        problems.append(f"links {sorted(set(_links(hostile)) - set(_links(plain)))[:5]}")
    # Tables of one header, row by row and column by column: the same cells, but where the twin has a plain word.
    for header in {tuple(t[0]) for t in plain.tables + hostile.tables}:
        rows = {}
        for name, page in (("hostile", hostile), ("plain", plain)):
            rows[name] = [row for table in page.tables if tuple(table[0]) == header for row in table[1:]]
        if [len(r) for r in rows["hostile"]] != [len(r) for r in rows["plain"]]:
            problems.append(f"table {header}: rows {len(rows['hostile'])} vs {len(rows['plain'])}")
            continue
        for column, name in enumerate(header):
            cells = Counter(row[column] for row in rows["hostile"])
            fixed = Counter(row[column] for row in rows["plain"] if "plainword" not in row[column])
            if fixed - cells:
                problems.append(f"table {header} column {name}: {sorted(fixed - cells)[:3]} went missing")
    text, plain_text = "".join(hostile.texts), "".join(plain.texts)
    if _BIDI.search(text):
        problems.append("a bidi control")
    for what, pattern in _LIVE_TEXT.items():
        if len(pattern.findall(text)) > len(pattern.findall(plain_text)):
            found = [text[max(m.start() - 20, 0) : m.end() + 10] for m in pattern.finditer(text)]
            problems.append(f"{what}: {found[:5]}")
    return problems


def _inject(value: Any, words: list[str], start: int, mode: str) -> Any:
    """`value` with one of `words` (in turn, from `start`) added to every string the gate may show."""
    count = [start]

    def walk(item: Any, key: str) -> Any:
        if isinstance(item, dict):
            return {k: walk(v, k) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v, key) for v in item]
        if not isinstance(item, str) or key in _DATA_KEYS:
            return item
        word = words[count[0] % len(words)]
        count[0] += 1
        return {"append": f"{item} {word}", "prefix": f"{word} {item}", "replace": word}[mode]

    return walk(copy.deepcopy(value), "")


def _finding_ids(report: Any) -> list[str]:
    found: list[str] = []

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "VulnerabilityID" and isinstance(value, str):
                    found.append(value)
                if key == "vulnerability" and isinstance(value, dict) and isinstance(value.get("id"), str):
                    found.append(value["id"])
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(report)
    return found


def _policy(folder: Path, words: list[str], ids: list[str], start: int) -> Path:
    """A policy whose waivers (one expiring soon, one used, one unused, one expired) carry `words` too."""
    word = [json.dumps(words[(start + n) % len(words)]) for n in range(8)]
    waivers = [(json.dumps(i), "2026-12-01" if n == 0 else "2027-06-30") for n, i in enumerate(ids[:2])]
    waivers += [(word[6], "2027-06-30"), ('"CVE-2000-0001"', "2026-01-01")]
    lines = ["version = 1", 'extends = "builtin:default"']
    for n, (ident, expires) in enumerate(waivers):
        lines += ["[[waivers]]", f"id = {ident}", f"reason = {word[n]}", f"expires = {expires}"]
        lines.append(f"owner = {word[n + 4 if n < 2 else n]}")
    path = folder / "gate.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _gate(folder: Path, args: list[str]) -> dict[str, str]:
    """`gate ARGS --summary --comment` run in `folder` (so file names in the outputs match): both outputs."""
    args = [*args, "--today", TODAY.isoformat(), "--summary", "summary.md", "--comment", "comment.md"]
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        code = main(args, stdout=io.StringIO(), stderr=err, env={})
    assert code in (0, 1), err.getvalue()  # outputs written: not an input error
    return {name: (folder / name).read_text(encoding="utf-8") for name in ("summary.md", "comment.md")}


def _twins(tmp_path: Path, build: Callable[[Path, list[str]], list[str]]) -> dict[str, dict[str, str]]:
    outputs = {}
    for name, words in (("hostile", HOSTILE), ("plain", PLAIN)):
        folder = tmp_path / name
        folder.mkdir(parents=True)
        outputs[name] = _gate(folder, build(folder, words))
    return outputs


def _assert_twins(outputs: dict[str, dict[str, str]], render: Callable[[str], _Html]) -> None:
    for name in ("summary.md", "comment.md"):
        hostile = outputs["hostile"][name]
        assert _differences(render(hostile), render(outputs["plain"][name])) == [], name
        assert len(hostile.encode("utf-8")) < summary.MAX_SUMMARY_BYTES
        assert utf16_length(outputs["hostile"]["comment.md"]) <= summary.MAX_COMMENT_CHARS
    # The words reached the text: the comparison compared something.
    assert "plainword" in outputs["plain"]["summary.md"]


# Reports with vulnerabilities (OS and language packages, CVSS vectors, titles, descriptions), secrets, licences
# and misconfigurations, from both scanners.
_REPORTS = [
    "trivy/trivy-integ--alpine-39.json",
    "trivy/trivy-integ--secrets.json",
    "trivy/defectdojo-trivy--license_scheme.json",
    "trivy/defectdojo-trivy--misconfigurations_and_secrets.json",
    "trivy/ci-steadybit-k6--trivy-results.json",
    "grype/analysis-model--grype-report.json",
    "grype/defectdojo-grype--check_all_fields.json",
]


@pytest.mark.parametrize("mode", ["append", "prefix", "replace"])
@pytest.mark.parametrize("report", _REPORTS)
def test_hostile_report_renders_as_its_plain_twin(
    report: str, mode: str, tmp_path: Path, render: Callable[[str], _Html]
) -> None:
    need_shared()
    start = _REPORTS.index(report) * 7 + len(mode)  # each report and mode puts other words in other fields
    data = json.loads((REAL / report).read_text(encoding="utf-8"))

    def build(folder: Path, words: list[str]) -> list[str]:
        hostile = _inject(data, words, start, mode)
        (folder / "report.json").write_text(json.dumps(hostile), encoding="utf-8")
        return ["check", "report.json", "--policy", str(_policy(folder, words, _finding_ids(hostile), start))]

    _assert_twins(_twins(tmp_path, build), render)


def test_hostile_vex_statements_and_image_metadata(tmp_path: Path, render: Callable[[str], _Html]) -> None:
    need_shared()
    vex = json.loads((TESTDATA / "vex" / "cyclonedx-vex.json").read_text(encoding="utf-8"))
    inspect = json.loads((REAL / "other" / "docker-inspect--alpine.json").read_text(encoding="utf-8"))
    report = json.loads(
        (REAL / "grype" / "analysis-model--grype-report-wo-description.json").read_text("utf-8")
    )

    def build_vex(folder: Path, words: list[str]) -> list[str]:
        statements = copy.deepcopy(vex)
        for n, statement in enumerate(statements["vulnerabilities"]):
            statement["analysis"]["detail"] = " ".join(words[n * 5 : n * 5 + 5])
        (folder / "vex.json").write_text(json.dumps(statements), encoding="utf-8")
        (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
        return ["check", "report.json", "--vex", "vex.json"]

    _assert_twins(_twins(tmp_path / "vex", build_vex), render)

    def build_metadata(folder: Path, words: list[str]) -> list[str]:
        image = copy.deepcopy(inspect)
        config = image[0]["Config"]
        config["User"] = words[3]
        config["Labels"] = {word: word for word in words[:5]}
        config["ExposedPorts"] = {f"{80 + n}/tcp {word}": {} for n, word in enumerate(words[5:10])}
        (folder / "inspect.json").write_text(json.dumps(image), encoding="utf-8")
        alpine = json.loads((REAL / "trivy" / "trivy-integ--alpine-39.json").read_text(encoding="utf-8"))
        alpine["Metadata"] = {"ImageID": image[0]["Id"], "OS": alpine["Metadata"]["OS"]}
        (folder / "report.json").write_text(
            json.dumps(_inject(alpine, words, 11, "append")), encoding="utf-8"
        )
        return ["check", "report.json", "--image-metadata", "inspect.json"]

    _assert_twins(_twins(tmp_path / "metadata", build_metadata), render)


def test_hostile_records_merge_into_a_plain_summary(tmp_path: Path, render: Callable[[str], _Html]) -> None:
    need_shared()
    sources = [
        REAL / "trivy" / "trivy-integ--alpine-310.json",
        REAL / "grype" / "analysis-model--grype-report.json",
    ]

    def build(folder: Path, words: list[str]) -> list[str]:
        records = []
        for n, source in enumerate(sources):
            run = folder / f"run{n}"
            run.mkdir()
            report = _inject(json.loads(source.read_text(encoding="utf-8")), words, 3 * n, "append")
            (run / "report.json").write_text(json.dumps(report), encoding="utf-8")
            policy = _policy(run, words, _finding_ids(report), 5 * n)
            _gate(run, ["check", "report.json", "--policy", str(policy), "--json", "decision.json"])
            records.append(f"run{n}/decision.json")
        return ["merge", *records]

    _assert_twins(_twins(tmp_path, build), render)
