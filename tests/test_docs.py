"""The documentation says what the code does: README examples, docs/cli.md help texts, policy snippets.

Regenerate docs/cli.md with `UPDATE_DOCS=1 python -m pytest tests/test_docs.py`.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import sys
from pathlib import Path

import pytest

from gate.cli import main
from gate.errors import PolicyError
from gate.policy.schema import load_policy
from tests.conftest import GENERATED, REAL, ROOT, TESTDATA, TODAY, need_shared, write_policy

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

README = ROOT / "README.md"
CLI_DOC = ROOT / "docs" / "cli.md"

COMMANDS = [
    [],
    ["check"],
    ["merge"],
    ["explain"],
    ["policy"],
    ["policy", "validate"],
    ["policy", "init"],
    ["policy", "schema"],
    ["policy", "import"],
    ["comment"],
    ["outputs"],
]

CLI_INTRO = """# Command line

`gate` has one job in a pipeline, `gate check`; the other commands prepare policies, explain decisions and
connect CI platforms. Every command exits with one of three codes:

| code | meaning |
| --- | --- |
| 0 | pass (warnings allowed); for the helper commands: done |
| 1 | the policy failed (`gate check`, `gate merge`) |
| 2 | usage, policy-file or input error: a `gate: error:` line on stderr says what was wrong and what to do; a policy file's problems are listed one per line |

A count is never an exit code, and a flag is never silently ignored. Bad input (an empty, truncated,
mis-encoded or foreign file, a field of the wrong type, a severity or fix state no scanner writes, a finding
ID that is blank or only invisible characters) is exit 2, never a pass. Keys a scanner writes that gate does not know are ignored, except where they could hide
findings: a Trivy `results`, `vulnerabilities` or `Vulnerabilites` (keys rewritten or misspelt), or findings
under a name Trivy does not use (a list, an object, or nested), is exit 2 rather than a clean result. Log lines
before a report's JSON are skipped with a note that quotes them; text after it (the scanner's closing log sent into
the file with `2>&1`, or a second document) is exit 2, and the message quotes it. A clean report passes, but it
must say what was scanned (Trivy's `ArtifactName` or `Metadata`, Grype's `source`): `{"SchemaVersion": 2}` alone
is exit 2, since a broken step could have left it. So is an
output that could not be written, standard output included: `gate check trivy.json --json - | head` exits 2,
because the record did not arrive whole. Each output goes to its own file, or one of them to standard output
(`-`); two outputs naming one file, or an output naming a file gate reads (a report, the policy), are refused
rather than one replacing the other. Files that have a sensible size are read only up to a bound, far above any
real one, and a bigger file (`/dev/zero`, the wrong file) is exit 2 rather than a read until memory runs out:
the policy 16 MiB, a `--kev` or `--epss` file 128 MiB, a `--vex` document 256 MiB, `--image-metadata` 64 MiB.
Reports have no bound (they can be hundreds of megabytes). An internal error also exits 2 and says it is a bug;
`--debug` adds the traceback.

Typical use:

```sh
gate check trivy.json                                   # ./gate.toml if present, else builtin:default
gate check trivy.json grype.json --policy builtin:strict \\
    --json decision.json --sarif gate.sarif --summary summary.md --junit TEST-gate.xml \\
    --gitlab-report gl-container-scanning-report.json --codequality gl-code-quality-report.json
gate check trivy.json --image-metadata inspect.json --baseline main-trivy.json --kev kev.json --vex app.vex.json
gate explain CVE-2024-3094 trivy.json
gate merge decisions/*.json --summary summary.md --sarif sarif/
gate policy init && gate policy validate gate.toml
```

The help of each command follows (this page is checked against `--help` by the tests).
"""


def _help(args: list[str]) -> str:
    out = io.StringIO()
    code = main([*args, "--help"], stdout=out, stderr=io.StringIO(), env={}, today=TODAY)
    assert code == 0
    return out.getvalue()


def render_cli_doc() -> str:
    """docs/cli.md as the current --help texts make it."""
    parts = [CLI_INTRO]
    for args in COMMANDS:
        title = " ".join(["gate", *args])
        parts.append(f"\n## `{title}`\n\n```\n{_help(args).rstrip()}\n```\n")
    return "".join(parts)


@pytest.fixture(autouse=True)
def _fixed_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="argparse lays out help differently per Python")
def test_cli_doc_matches_help() -> None:
    expected = render_cli_doc()
    if os.environ.get("UPDATE_DOCS"):
        CLI_DOC.write_text(expected, encoding="utf-8")
    assert CLI_DOC.read_text(encoding="utf-8") == expected, "run UPDATE_DOCS=1 pytest tests/test_docs.py"


def _quick_start(path: Path) -> str:
    section = path.read_text(encoding="utf-8").split("## Quick start", 1)[1]
    found = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert found, f"{path} has no yaml block under Quick start"
    return found.group(1)


@pytest.mark.parametrize("doc", ["github.md", "gitlab.md"])
def test_readme_carries_the_tested_quick_starts(doc: str) -> None:
    assert _quick_start(ROOT / "docs" / doc) in README.read_text(encoding="utf-8")


def test_readme_log_example_is_real_output() -> None:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"## What the gate says\n\n.*?```\n(.*?)```", text, re.S)
    assert found
    out = io.StringIO()
    code = main(
        ["check", str(TESTDATA / "reports" / "trivy-fail.json"), "--today", TODAY.isoformat()],
        stdout=out,
        stderr=io.StringIO(),
        env={},
    )
    assert code == 1
    assert found.group(1) == out.getvalue()


def _toml_blocks(path: Path) -> list[str]:
    return re.findall(r"```toml\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


WHOLE_POLICY = re.compile(r"^(version|extends|\[\[rules\]\]|\[\[waivers\]\]|\[settings\]|\[merge\])", re.M)


@pytest.mark.parametrize("doc", ["policy.md", "image-checks.md", "risk.md", "baseline.md"])
def test_policy_snippets_in_docs_are_valid(doc: str, tmp_path: Path) -> None:
    path = ROOT / "docs" / doc
    checked = 0
    for block in _toml_blocks(path):
        body = "\n".join(line for line in block.splitlines() if not line.lstrip().startswith("#"))
        if not WHOLE_POLICY.match(body.lstrip()):
            continue  # a fragment such as one `match = ...` line
        if not re.search(r"^(extends|\[\[rules\]\])", body, re.M):
            block = 'extends = "builtin:default"\n' + block  # a part of a policy: waivers, settings, merge
        tomllib.loads(block)
        policy_file = write_policy(tmp_path, block)
        try:
            load_policy(str(policy_file))
        except PolicyError as exc:
            pytest.fail(f"{doc}: a policy snippet is invalid:\n{block}\n{exc}")
        checked += 1
    assert checked > 0, f"{doc} has no whole policy snippet"


# --- pasted command output ---------------------------------------------------------------------------------
# A fenced block that starts with `$ gate ...` (continued with `\`) holds what that command printed, then
# optionally `exit code N`. Blocks that name files as a reader has them in their folder run in a temporary
# folder where those names point at the fixtures below; the others run from the repository root.

EXAMPLE_DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```[a-z]*\n(\$ (?:[A-Z_]+=\S+ )*gate .*?)^```", re.M | re.S)
_EXIT = re.compile(r"exit code:? (\d+)")
_A_ROOT = GENERATED / "a-root-implicit-secrets"


def _doc_block(doc: str, language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)```", (ROOT / "docs" / doc).read_text(encoding="utf-8"), re.S)
    assert found, f"docs/{doc} has no {language} block"
    return found.group(1)


# name -> a fixture (linked) or the file's text (written)
READER_FILES: dict[str, dict[str, Path | str]] = {
    "GITHUB_ACTIONS=true gate check trivy-integ--alpine-39.json --policy gate.toml": {
        "trivy-integ--alpine-39.json": REAL / "trivy" / "trivy-integ--alpine-39.json",
        "gate.toml": TESTDATA / "report" / "waivers.toml",  # the policy docs/outputs.md shows
        "Dockerfile": _doc_block("outputs.md", "dockerfile"),
    },
    "gate check trivy-integ--alpine-310.json grype-alpine-310.json": {
        "trivy-integ--alpine-310.json": REAL / "trivy" / "trivy-integ--alpine-310.json",
        "grype-alpine-310.json": TESTDATA / "merge" / "grype-alpine-310.json",
    },
    "gate check trivy.oci.json --image-metadata podman-inspect.json": {
        "trivy.oci.json": _A_ROOT / "trivy.oci.json",
        "podman-inspect.json": _A_ROOT / "podman-inspect.json",
    },
    "gate check trivy.docker-archive.json --image-metadata podman-inspect.json --policy builtin:strict": {
        "trivy.docker-archive.json": _A_ROOT / "trivy.docker-archive.json",
        "podman-inspect.json": _A_ROOT / "podman-inspect.json",
    },
}


def _examples() -> list[tuple[str, str, list[str], str, int | None]]:
    """(where, command line, argv after `gate` and any NAME=value before it, printed text, exit code or None)
    per pasted example."""
    found = []
    for path in EXAMPLE_DOCS:
        text = path.read_text(encoding="utf-8")
        for block in _FENCE.finditer(text):
            lines = block.group(1).splitlines()
            command = [lines.pop(0)[2:]]
            while command[-1].endswith("\\"):
                command[-1] = command[-1][:-1].strip()
                command.append(lines.pop(0).strip())
            code = None
            if lines and (last := _EXIT.fullmatch(lines[-1])):
                code = int(last.group(1))
                lines.pop()
            elif lines[-2:-1] == ["$ echo $?"]:
                code = int(lines.pop())
                lines.pop()
            where = f"{path.relative_to(ROOT)}:{text[: block.start()].count(chr(10)) + 1}"
            line = " ".join(command)
            found.append((where, line, shlex.split(line), "\n".join(lines), code))
    return found


EXAMPLES = _examples()


def _lay_out(files: dict[str, Path | str], folder: Path) -> None:
    """Put a pasted example's files in `folder`: links to the fixtures, or the text given."""
    for name, source in files.items():
        if isinstance(source, Path):
            (folder / name).symlink_to(source)
        else:
            (folder / name).write_text(source, encoding="utf-8")


def _run_pasted(argv: list[str]) -> tuple[int, str]:
    """Run a pasted command line in the working directory, its leading `NAME=value` words as the environment;
    the exit code and what it printed (stdout, then stderr)."""
    env = dict(word.split("=", 1) for word in argv[: argv.index("gate")])
    out, err = io.StringIO(), io.StringIO()
    code = main(argv[argv.index("gate") + 1 :], stdout=out, stderr=err, env=env, today=TODAY)
    return code, out.getvalue() + err.getvalue()


def test_docs_have_pasted_examples() -> None:
    assert len(EXAMPLES) >= 8
    assert all(any(line.startswith(key) for _, line, *_ in EXAMPLES) for key in READER_FILES)


@pytest.mark.parametrize(("where", "line", "argv", "printed", "code"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_pasted_examples_are_what_the_gate_prints(
    where: str, line: str, argv: list[str], printed: str, code: int | None, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    files = next((files for key, files in READER_FILES.items() if line.startswith(key)), None)
    if files is not None or "../shared/" in line:
        need_shared()
    if files is not None:
        _lay_out(files, tmp_path)
        monkeypatch.chdir(tmp_path)
    else:
        monkeypatch.chdir(ROOT)
    exit_code, printed_now = _run_pasted(argv)
    got = printed_now.rstrip("\n")
    assert got == printed.rstrip("\n"), f"{where}: `{line}` prints something else now"
    if code is not None:
        assert exit_code == code, f"{where}: `{line}` exits {exit_code}"


def test_policy_md_names_every_key_of_the_policy_file() -> None:
    """docs/policy.md documents every key a policy file may hold (the internal `name` is not one)."""
    from gate.policy.schema import ImageCheck, Match, MergeSettings, Policy, Rule, Waiver
    from gate.policy.settings import Settings

    doc = (ROOT / "docs" / "policy.md").read_text(encoding="utf-8")
    keys = {
        (model.__name__, field.alias or name)
        for model in (Policy, Rule, Match, ImageCheck, Waiver, MergeSettings, Settings)
        for name, field in model.model_fields.items()
        if not field.exclude
    }
    assert [key for key in sorted(keys) if not re.search(rf"`{re.escape(key[1])}\b", doc)] == []


# --- the files of the docs/outputs.md example -------------------------------------------------------------
# The example run writes every output; the page shows their sizes, the summary as rendered, the JUnit file
# whole and excerpts of the JSON files (`…` marks what is left out). All must be what the run wrote.

_OUTPUTS_DOC = ROOT / "docs" / "outputs.md"
_OUTPUTS_RUN = "GITHUB_ACTIONS=true gate check trivy-integ--alpine-39.json --policy gate.toml"


@pytest.fixture(scope="module")
def outputs_example(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The files the docs/outputs.md example run writes, by name."""
    need_shared()
    argv = next(example for example in EXAMPLES if example[1].startswith(_OUTPUTS_RUN))[2]
    folder = tmp_path_factory.mktemp("outputs-example")
    _lay_out(READER_FILES[_OUTPUTS_RUN], folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        _run_pasted(argv)
    return {path.name: path.read_text(encoding="utf-8") for path in (folder / "out").iterdir()}


def test_outputs_md_gives_the_example_files_sizes(outputs_example: dict[str, str]) -> None:
    table = dict(re.findall(r"^\| `([^`]+)` \| ([\d,]+) \|$", _OUTPUTS_DOC.read_text(encoding="utf-8"), re.M))
    sizes = {name: f"{len(text.encode('utf-8')):,}" for name, text in outputs_example.items()}
    assert table == sizes


def test_outputs_md_shows_the_example_summary_and_junit_as_written(outputs_example: dict[str, str]) -> None:
    doc = _OUTPUTS_DOC.read_text(encoding="utf-8")
    rendered = re.search(r"as GitHub renders it:\n\n(.*?)\n\n(?!>)", doc, re.S)
    assert rendered
    assert re.sub(r"^> ?", "", rendered.group(1), flags=re.M) + "\n" == outputs_example["summary.md"]
    assert f"```xml\n{outputs_example['TEST-container-gate.xml']}```" in doc


def test_outputs_md_json_excerpts_are_from_the_example_files(outputs_example: dict[str, str]) -> None:
    """Each line of a JSON excerpt is a line of its file as pretty-printed JSON."""
    blocks = re.findall(r"```json\n(.*?)```", _OUTPUTS_DOC.read_text(encoding="utf-8"), re.S)
    files = [
        "gate.sarif",
        "gl-container-scanning-report.json",
        "gl-code-quality-report.json",
        "decision.json",
    ]
    assert len(blocks) == len(files)
    for block, name in zip(blocks, files, strict=True):
        written = json.dumps(json.loads(outputs_example[name]), indent=2, ensure_ascii=False).splitlines()
        shown = [line.strip().rstrip(",") for line in block.splitlines() if line.strip() not in ("…", "")]
        lines = {line.strip().rstrip(",") for line in written}
        assert [line for line in shown if line not in lines] == [], name


def test_no_doc_installs_the_gate_by_its_bare_name() -> None:
    """The name container-gate on PyPI is not this project: every install names a pinned source."""
    # The name as a requirement of its own: not part of a URL or path, not `container-gate[x] @ URL`, and not
    # the warning that quotes it ("`pip install container-gate` would run ...").
    bare = re.compile(r"pip install [^\n`]*?(?<![\w/.-])container-gate(\[\w+\])?(?![\w/.-]|\S* *@|` would)")
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in EXAMPLE_DOCS
        for match in bare.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
