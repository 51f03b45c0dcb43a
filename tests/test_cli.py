"""The command line as data: (arguments, exit code, what stderr/stdout must say)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from gate.cli import main
from tests.conftest import TESTDATA, TODAY, write_policy

FAIL = str(TESTDATA / "reports" / "trivy-fail.json")
CLEAN = str(TESTDATA / "reports" / "trivy-clean.json")
WARN = str(TESTDATA / "reports" / "trivy-warn.json")
KEV = str(TESTDATA / "reports" / "grype-kev.json")


class Run:
    def __init__(self, args: list[str], stdin: bytes = b"", cwd: Path | None = None) -> None:
        out, err = io.StringIO(), io.StringIO()
        source = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
        self.code = main(args, stdout=out, stderr=err, stdin=source, env={}, today=TODAY)
        self.out, self.err = out.getvalue(), err.getvalue()


CASES = [
    # (arguments, exit code, text that must appear in stdout+stderr)
    (["check", CLEAN], 0, "gate: PASS"),
    (["check", WARN], 0, "gate: WARN"),
    (["check", FAIL], 1, "gate: FAIL"),
    (["check", KEV], 1, "known-exploited"),
    (["check", CLEAN, FAIL], 1, "in 2 images"),
    (["check", FAIL, "--policy", "builtin:default"], 1, "fixable-critical-high"),
    (["check", CLEAN, "--policy", "builtin:strict"], 0, "PASS"),
    (["check", CLEAN, "--policy", "builtin:nope"], 2, "unknown preset"),
    (["check", CLEAN, "--policy", "missing.toml"], 2, "cannot read the policy file"),
    (["check", "missing.json"], 2, "missing.json: no such file"),
    (["check", str(TESTDATA)], 2, "is a directory"),
    (["check"], 2, "REPORT"),
    (["check", CLEAN, "--today", "2026-02-30"], 2, "--today '2026-02-30' is not a date"),
    (["check", CLEAN, "--bogus"], 2, "unrecognized arguments: --bogus (see gate check --help)"),
    (["policy", "init", "-"], 2, "unrecognized arguments: - (see gate policy init --help)"),
    (["--bogus"], 2, "unrecognized arguments: --bogus (see gate --help)"),
    (["check", CLEAN, "--json", "-", "--json", "-"], 0, '"verdict": "pass"'),
    (["check", "-", "-"], 2, "stdin ('-') can be read only once"),
    # A flag that would do nothing is refused, not ignored.
    (
        ["check", CLEAN, "--offline"],
        2,
        "--offline applies to downloads and neither --kev nor --epss is a URL",
    ),
    (["check", CLEAN, "--intel-max-age", "3"], 2, "--intel-max-age applies to --kev and --epss, and neither"),
    (["explain", "CVE-1", CLEAN, "--intel-retries", "0"], 2, "--intel-retries applies to downloads"),
    (
        ["check", CLEAN, "--kev", "https://example.com/kev.json", "--offline", "--intel-retries", "3"],
        2,
        "--intel-retries applies to downloads and --offline makes none; drop one of them",
    ),
    (
        ["check", CLEAN, "--kev", "http://user:hunter22@feeds.example/kev.json"],
        2,
        "--kev http://***@feeds.example/kev.json: plain http can be changed on the way, and a feed with entries "
        "taken out passes what should fail; give an https:// URL, or download the file and give its path",
    ),
    (["explain", "CVE-1", CLEAN, "--epss", "http://10.0.0.5/epss.csv.gz"], 2, "--epss http://10.0.0.5/"),
    (["explain", " ", CLEAN], 2, "gate: error: the ID is empty; give a CVE, GHSA or other vulnerability ID"),
    (
        ["explain", "CVE-0000-0000", CLEAN],
        2,
        "CVE-0000-0000: no finding of the reports (0 findings in all) and no rule or image check of the policy has this ID",
    ),
    (
        ["check", CLEAN, "--gitlab-schema-version", "15.2.1"],
        2,
        "applies to --gitlab-report, which was not given",
    ),
    (
        ["check", CLEAN, "--dockerfile", "Dockerfile", "--json", "-"],
        2,
        "--dockerfile applies to --sarif, --codequality and GitHub annotations, and none is written",
    ),
    (["check", FAIL, "--baseline", FAIL], 2, f"--baseline {FAIL} is the report being gated ({FAIL})"),
    (
        ["check", CLEAN, "--json", "o.json", "--sarif", "./o.json"],
        2,
        "--json and --sarif both write ./o.json",
    ),
    (
        ["merge", "r.json", "--summary", "s.md", "--comment", "s.md"],
        2,
        "--summary and --comment both write s.md",
    ),
    (["check", CLEAN, "--json", CLEAN], 2, f"--json {CLEAN} would overwrite {CLEAN}, which gate reads"),
    (["check", CLEAN, "--baseline", FAIL, "--sarif", FAIL], 2, f"would overwrite {FAIL}"),
    (["merge", "d.json", "--json", "./d.json"], 2, "--json ./d.json would overwrite d.json"),
    (["policy"], 2, "choose an action"),
    (["policy", "import", CLEAN, "--expires", "99999999d"], 2, "is over ten years"),
    (
        ["policy", "import", CLEAN, "--expires", "\u00b2d"],
        2,
        "is not a date (YYYY-MM-DD) or a day count (90d)",
    ),
    (["policy", "validate", "builtin:strict"], 0, "valid (10 rules, 0 waivers)"),
    (["policy", "validate", "nope.toml"], 2, "cannot read"),
    (
        ["check", CLEAN, "--policy", "/dev/zero"],
        2,
        "/dev/zero: cannot read the policy file (over 16 MiB, far",
    ),
    (
        ["check", CLEAN, "--vex", "/dev/zero"],
        2,
        "/dev/zero: cannot read the VEX document (over 256 MiB, far more than a VEX document",
    ),
    (
        ["check", CLEAN, "--image-metadata", "/dev/zero"],
        2,
        "/dev/zero: cannot read (over 64 MiB, far more than an image's metadata; is it the right file?)",
    ),
    (
        ["check", CLEAN, "--policy", "/dev/null"],
        2,
        "/dev/null: top level: no rules, so every report would pass",
    ),
    (
        ["comment", "github", "--body", "c.md", "--pull-request", "12a"],
        2,
        "argument --pull-request: '12a' is not a pull request number (1 to 2147483647)",
    ),
    (["comment", "github", "--body", "c.md", "--pull-request", "0"], 2, "'0' is not a pull request number"),
    (["comment", "gitlab", "--body", "c.md", "--pull-request", "3"], 2, "--pull-request applies to github"),
    (["comment", "github", "--body", "c.md", "--pull-request", "3"], 2, "c.md: no such file"),
    (["frobnicate"], 2, "invalid choice"),
    (
        [],
        2,
        "gate: error: choose a command: check, merge, comment, outputs, explain or policy (see gate --help)",
    ),
    (["--debug"], 2, "gate: error: choose a command"),
]


@pytest.mark.parametrize(("args", "code", "text"), CASES, ids=[" ".join(c[0]) or "(none)" for c in CASES])
def test_cli_cases(args: list[str], code: int, text: str) -> None:
    run = Run(args)
    assert run.code == code, run.err
    assert text in run.out + run.err
    if code == 2 and (not args or args[0] in ("check", "comment", "--debug")):
        assert run.err.count("\n") == 1, "an error is one line"
        assert run.err.startswith("gate: error: ")
        assert "Traceback" not in run.err


def test_version() -> None:
    run = Run(["--version"])
    assert run.code == 0
    assert run.out.startswith("gate ")


def test_help_names_exit_codes() -> None:
    run = Run(["check", "--help"])
    assert run.code == 0
    assert "Exit codes: 0 pass" in run.out


def test_stdin_report() -> None:
    run = Run(["check", "-"], stdin=Path(FAIL).read_bytes())
    assert run.code == 1
    assert "<stdin>" not in run.err


def test_json_record_to_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "decision.json"
    run = Run(["check", FAIL, "--json", str(target)])
    assert run.code == 1
    record = json.loads(target.read_text())
    assert record["verdict"] == "fail"
    assert {v["id"] for v in record["violations"]} == {"CVE-2024-5535", "CVE-2024-4741"}
    violation = record["violations"][0]
    assert set(violation) >= {"rule", "action", "id", "package", "version", "image"}
    assert record["counts"]["failed"] == 2


def test_json_to_stdout_moves_the_log_to_stderr() -> None:
    run = Run(["check", FAIL, "--json", "-"])
    assert json.loads(run.out)["verdict"] == "fail"
    assert "gate: FAIL" in run.err


@pytest.mark.parametrize("below", [["d.json"], ["sub", "d.json"]])
def test_unwritable_output_is_an_error(tmp_path: Path, below: list[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    target = str(blocker.joinpath(*below))
    run = Run(["check", CLEAN, "--json", target])
    assert run.code == 2
    # The file in the way, not "File exists" (the folder to make) or "Not a directory".
    assert run.err == f"gate: error: --json {target}: cannot write ({blocker} is a file, not a folder)\n"


def test_default_policy_is_gate_toml_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "gate.toml").write_text('[[rules]]\nid = "no-medium"\nmatch = { severity = "medium" }\n')
    monkeypatch.chdir(tmp_path)
    run = Run(["check", WARN])
    assert run.code == 1
    assert "no-medium" in run.out
    assert "policy gate.toml" in run.out


@pytest.mark.parametrize("kind", ["folder", "dangling link"])
def test_a_gate_toml_that_cannot_be_read_is_an_error_not_the_default_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    # A policy symlinked from a checkout that is missing must not quietly become builtin:default.
    if kind == "folder":
        (tmp_path / "gate.toml").mkdir()
    else:
        (tmp_path / "gate.toml").symlink_to(tmp_path / "central" / "gate.toml")
    monkeypatch.chdir(tmp_path)
    run = Run(["check", WARN])
    assert run.code == 2
    reason = "Is a directory" if kind == "folder" else "No such file or directory"
    assert run.err == f"gate: error: gate.toml: cannot read the policy file ({reason})\n"


def test_policy_validate_reports_every_problem(tmp_path: Path) -> None:
    path = write_policy(
        tmp_path, '[[rules]]\nid = "a"\nmatch = { severity = "hihg" }\n[[waivers]]\nid = "CVE-1"\n'
    )
    run = Run(["policy", "validate", str(path)])
    assert run.code == 2
    lines = run.err.splitlines()
    assert f"{path}: rules[0].match.severity: " in lines[0]
    assert any("waivers[0].reason: required" in line for line in lines)
    assert any("waivers[0].expires: required" in line for line in lines)
    assert lines[-1].endswith("3 problems; fix them and run again")


def test_policy_validate_of_one_problem_asks_to_fix_it(tmp_path: Path) -> None:
    path = write_policy(tmp_path, "")
    run = Run(["policy", "validate", str(path)])
    assert run.code == 2
    assert run.err.splitlines()[-1] == f"gate: error: {path}: 1 problem; fix it and run again"


def test_policy_init_writes_a_valid_starter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Run(["policy", "init"]).code == 0
    assert Run(["policy", "validate", "gate.toml"]).code == 0
    again = Run(["policy", "init"])
    assert again.code == 2
    assert "--force" in again.err
    assert Run(["policy", "init", "--force"]).code == 0
    assert "extends" in Run(["policy", "init", "-o", "-"]).out


def test_policy_import_never_overwrites_the_ignore_file_it_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(".trivyignore").write_text("# accepted\nCVE-2024-0001\n")
    imported = ["policy", "import", ".trivyignore", "--expires", "30d"]
    for output in (".trivyignore", "./.trivyignore", str(tmp_path / ".trivyignore")):
        run = Run([*imported, "-o", output, "--force"])
        assert (run.code, run.err) == (
            2,
            f"gate: error: --output {output} would overwrite .trivyignore, which gate reads; write elsewhere\n",
        )
    assert Path(".trivyignore").read_text() == "# accepted\nCVE-2024-0001\n"
    assert Run([*imported, "-o", "waivers.toml"]).code == 0
    assert Run([*imported, "-o", "waivers.toml", "--force"]).code == 0  # --force replaces an earlier output


def test_policy_schema_is_json() -> None:
    run = Run(["policy", "schema"])
    assert run.code == 0
    assert json.loads(run.out)["title"] == "container-gate policy"


def test_internal_error_asks_for_a_bug_report(monkeypatch: pytest.MonkeyPatch) -> None:
    import gate.policy.engine

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(gate.policy.engine, "evaluate", boom)
    run = Run(["check", CLEAN])
    assert run.code == 2
    assert "internal error" in run.err and "bug" in run.err
    assert "Traceback" not in run.err
    assert "Traceback" in Run(["--debug", "check", CLEAN]).err


def test_error_messages_quote_report_and_policy_text_on_their_own_line(tmp_path: Path) -> None:
    # A report key or a policy value in an error message must not start a line: a CI log would read
    # `::warning ...` there as a workflow command.
    hostile = "\n::warning title=x::injected\r::error::cr\x1b[31m"
    vuln = {"VulnerabilityID": "CVE-2024-1", "PkgName": "p", "CVSS": {hostile: {"V3Score": "x"}}}
    report = tmp_path / "r.json"
    report.write_text(
        json.dumps({"SchemaVersion": 2, "Results": [{"Target": "t", "Vulnerabilities": [vuln]}]})
    )
    policy = tmp_path / "p.toml"
    policy.write_text('version = 1\n[[rules]]\nid = "x"\nmatch = { cvss = "\\n::warning title=x::policy" }\n'
                      '[[rules]]\nid = "y"\nmatch = { severity = "bogus" }\n')  # fmt: skip
    cases: list[tuple[list[str], int]] = [
        (["check", str(report)], 1),
        (["check", CLEAN, "--policy", str(policy)], 2),
    ]
    for args, lines in cases:
        run = Run(args)
        assert run.code == 2, run.err
        # quoted, with `::` broken
        assert ": :warning" in run.err and "\x1b" not in run.err and "\r" not in run.err
        assert len(run.err.splitlines()) == lines
        assert all(not line.lstrip().startswith("::") for line in run.err.splitlines())


def test_error_messages_break_workflow_commands_anywhere_in_their_line(tmp_path: Path) -> None:
    # GitHub's runner reads a legacy `##[cmd]` anywhere in a line, and Azure a `##vso[cmd]`: quoted report or
    # policy text must not carry one to stderr whole, in an error, a policy problem or an import warning.
    command = "##vso[task.setvariable variable=x]y ##[error]z ::error::w"
    report = tmp_path / "r.json"
    report.write_text(Path(CLEAN).read_text() + "\n" + command + "\n")  # text after the JSON is quoted
    policy = tmp_path / "p.toml"
    policy.write_text(f'version = 1\n[[rules]]\nid = "y"\nmatch = {{ severity = "{command}" }}\n')
    ignore = tmp_path / ".grype.yaml"  # a rule gate cannot import is a warning that quotes its ID
    ignore.write_text(f'ignore:\n  - vulnerability: "CVE-1\\n{command}"\n    fix-state: unknown\n')
    for args in (
        ["check", str(report)],
        ["check", CLEAN, "--policy", str(policy)],
        ["policy", "validate", str(policy)],
        ["policy", "import", str(ignore), "--reason", "r", "--expires", "30d"],
        ["check", CLEAN, f"--{command}"],
    ):
        run = Run(args)
        assert "task.setvariable" in run.err, (args, run.err)
        assert all(not line.lstrip().startswith(":") for line in run.err.splitlines()), (args, run.err)
        for text in ("##", "::"):
            assert text not in run.err, (args, run.err)


def test_a_lone_surrogate_in_any_input_is_refused_not_a_half_written_record(tmp_path: Path) -> None:
    # json.loads reads "\ud800" into a string no output can encode: the record used to stop half-written.
    import base64

    config = base64.b64encode(b'{"config": {"User": "\\ud800"}}').decode()
    grype = {"matches": [], "source": {"type": "image", "target": {"userInput": "img", "config": config}}}
    (tmp_path / "grype.json").write_text(json.dumps(grype))
    (tmp_path / "inspect.json").write_text('[{"Id": "sha256:1", "Config": {"User": "\\udc00"}}]')
    vex = {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "timestamp": "2026-01-01T00:00:00Z",
           "version": 1, "statements": [{"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:npm/a"}],
                                         "status": "not_affected", "impact_statement": "\ud800"}]}  # fmt: skip
    (tmp_path / "vex.json").write_text(json.dumps(vex))  # json.dumps writes the lone surrogate as \ud800
    (tmp_path / "raw-vex.json").write_bytes(json.dumps(vex).encode().replace(b"\\ud800", b"\xed\xa0\x80"))
    (tmp_path / "raw.json").write_bytes(b'[{"Id": "sha256:1", "Config": {"User": "\xed\xb0\x80"}}]')
    record = tmp_path / "d.json"
    for args, where in [
        ([str(tmp_path / "grype.json")], "source.target.config holds a lone UTF-16 surrogate"),
        ([CLEAN, "--image-metadata", str(tmp_path / "inspect.json")], "inspect.json: the JSON holds a lone"),
        ([CLEAN, "--vex", str(tmp_path / "vex.json")], "vex.json: the VEX document holds a lone"),
        # json.loads decodes bytes with "surrogatepass": a surrogate written as its own UTF-8 bytes is read too
        ([CLEAN, "--vex", str(tmp_path / "raw-vex.json")], "raw-vex.json: the VEX document holds a lone"),
        ([CLEAN, "--image-metadata", str(tmp_path / "raw.json")], "raw.json: the JSON holds a lone"),
    ]:
        run = Run(["check", *args, "--json", str(record)])
        assert run.code == 2, run.err
        assert where in run.err and "internal error" not in run.err
        assert not record.exists()


def test_a_file_name_that_is_not_utf8_is_refused_before_any_output(tmp_path: Path) -> None:
    """Python keeps the bytes of such a name as lone surrogates, which the record (and every other output that
    names its inputs) cannot encode: it was an internal error with the record half-written."""
    name = os.fsdecode(bytes(tmp_path / "r") + b"\xff.json")
    Path(name).write_bytes(Path(CLEAN).read_bytes())
    record = tmp_path / "d.json"
    for args in (
        ["check", name, "--json", str(record)],
        ["check", CLEAN, "--sarif", name],
        ["policy", "validate", name],
    ):
        run = Run(args)
        assert (run.code, run.out) == (2, ""), run.err
        assert (
            run.err
            == f"gate: error: the argument {tmp_path}/r\\xff.json is not UTF-8; rename the file, or pass the text in UTF-8\n"
        )
    assert not record.exists()
    assert "\\ud800" in Run(["check", "a\ud800.json"]).err  # no name's bytes give it; still one line


def test_log_never_carries_workflow_commands_or_escapes(tmp_path: Path) -> None:
    report = json.loads(Path(FAIL).read_text())
    vuln = report["Results"][0]["Vulnerabilities"][0]
    vuln["PkgName"] = "evil\n::error::pwned\x1b[31m"
    vuln["VulnerabilityID"] = "::warning::x"
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report))
    run = Run(["check", str(path)])
    for line in run.out.splitlines():
        assert not line.lstrip().startswith("::")
    assert "\x1b" not in run.out
    assert "::error::" not in run.out


def test_python_dash_m_gate_and_console_script() -> None:
    done = subprocess.run([sys.executable, "-m", "gate", "check", CLEAN, "--today", date(2026, 1, 1).isoformat()],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("gate: PASS")


def test_the_record_goes_to_a_real_stdout_as_bytes() -> None:
    # A process's stdout has a binary buffer: the record is written there, after anything already printed.
    done = subprocess.run([sys.executable, "-m", "gate", "check", FAIL, "--json", "-"],
                          capture_output=True, check=False)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)["verdict"] == "fail"
    assert done.stdout.endswith(b"}\n")
    assert done.stderr.startswith(b"gate: FAIL")


@pytest.mark.parametrize(
    ("args", "flag"), [(["--json", "-"], "--json -: "), (["--summary", "-"], "--summary -: "), ([], "")]
)
def test_a_closed_stdout_is_an_error_not_a_bug(args: list[str], flag: str) -> None:
    # `gate check ... | head`: the reader is gone before gate writes; the output is incomplete, so exit 2.
    with subprocess.Popen([sys.executable, "-m", "gate", "check", FAIL, *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:  # fmt: skip
        assert child.stdout is not None and child.stderr is not None
        child.stdout.close()
        stderr = child.stderr.read().decode()
        assert child.wait(timeout=60) == 2, stderr
    assert stderr.splitlines()[-1] == (
        f"gate: error: {flag}cannot write to standard output: it was closed early (did a `| head` exit?)"
    )
    assert "internal error" not in stderr and "Exception ignored" not in stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("args", [["check", FAIL], ["check", FAIL, "--json", "-"], ["policy", "schema"]])
def test_a_full_stdout_is_an_error_not_a_bug(args: list[str]) -> None:
    # `gate check ... > out.log` on a full disk: the log did not arrive, so exit 2 and say why.
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "gate", *args],
                              stdout=full, stderr=subprocess.PIPE, text=True, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[-1].endswith("cannot write to standard output (No space left on device)")
    assert "internal error" not in done.stderr


def test_the_cli_default_gitlab_schema_is_the_renderers() -> None:
    from gate.cli import check
    from gate.report import gitlab

    assert check._GITLAB_SCHEMA == gitlab.DEFAULT_SCHEMA_VERSION


def test_every_output_flag_has_a_renderer() -> None:
    from gate.cli import OUTPUTS
    from gate.cli.check import renderers

    assert sorted(renderers()) == sorted(dest for _, dest, _ in OUTPUTS)


def test_the_comment_flag_gives_the_limit_the_renderer_keeps() -> None:
    from gate.cli import OUTPUTS
    from gate.report.summary import MAX_COMMENT_CHARS

    (help_text,) = [what for flag, _, what in OUTPUTS if flag == "--comment"]
    assert f"at most {MAX_COMMENT_CHARS:,} characters" in help_text


# (arguments before the file, what the directory error asks for, the advice when the file is missing)
READERS = [
    (["check"], "give the report file", "check the path or that the scan step wrote it"),
    (["check", CLEAN, "--baseline"], "give the report file", "check the path or that the scan step wrote it"),
    (
        ["check", CLEAN, "--image-metadata"],
        "give the image metadata file",
        "check the path or that the inspect step wrote it",
    ),
    (["check", CLEAN, "--vex"], "give the VEX document file", "check the path to the VEX document"),
    (["merge"], "give the decision record file", "check the path or that the job uploaded it"),
    (
        ["outputs", "gitlab", "--decision"],
        "give the decision record file",
        "check the path to the decision record",
    ),
    (["comment", "gitlab", "--body"], "give the comment body file", "check the path to the comment body"),
    (["policy", "import"], "give the ignore file", "check the path to the ignore file"),
]


@pytest.mark.parametrize(("before", "directory", "missing"), READERS, ids=[" ".join(r[0]) for r in READERS])
def test_every_input_file_fails_the_same_way(
    tmp_path: Path, before: list[str], directory: str, missing: str
) -> None:
    """One reader: a directory, a missing file and an unreadable path each give one line naming the file."""
    where = str(tmp_path)
    run = Run([*before, where])
    assert (run.code, run.err) == (2, f"gate: error: {where}: is a directory; {directory}\n")
    gone = str(tmp_path / "gone.json")
    run = Run([*before, gone])
    assert (run.code, run.err) == (2, f"gate: error: {gone}: no such file; {missing}\n")
    below_a_file = f"{FAIL}/x"  # ENOTDIR: unreadable even for root
    run = Run([*before, below_a_file])
    assert (
        run.code == 2 and run.err.startswith(f"gate: error: {below_a_file}: cannot read") and "(" in run.err
    )


def test_policy_init_into_a_missing_folder_is_an_error_not_a_crash(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    run = Run(["policy", "init", "-o", str(target / "sub" / "gate.toml")])
    assert run.code == 2
    assert "cannot write" in run.err
    assert "internal error" not in run.err


def test_policy_validate_checks_the_waiver_horizon_on_the_given_day(tmp_path: Path) -> None:
    path = write_policy(
        tmp_path,
        'extends = "builtin:default"\n[settings]\nmax_waiver_days = 30\n'
        '[[waivers]]\nid = "CVE-1"\nreason = "r"\nexpires = 2027-06-01\n',
    )
    late = Run(["policy", "validate", str(path), "--today", "2026-11-27"])
    assert late.code == 2
    assert "more than settings.max_waiver_days = 30" in late.err
    assert Run(["policy", "validate", str(path), "--today", "2027-05-15"]).code == 0


def test_a_stale_report_fails_when_the_policy_limits_report_age(tmp_path: Path) -> None:
    policy = write_policy(tmp_path, 'extends = "builtin:default"\n[settings]\nmax_report_age_days = 3\n')
    record = tmp_path / "decision.json"
    run = Run(["check", CLEAN, "--policy", str(policy), "--json", str(record)])
    assert run.code == 1, run.err
    assert "FAIL stale-report: Reports are recent: " in run.out
    assert "was made on 2026-11-20, 7 days before 2026-11-27 (at most 3)" in run.out
    [violation] = json.loads(record.read_text(encoding="utf-8"))["violations"]
    assert (violation["rule"], violation["id"], violation["action"]) == ("stale-report", "report-age", "fail")
    policy.write_text('extends = "builtin:default"\n[settings]\nmax_report_age_days = 7\n', encoding="utf-8")
    run = Run(["check", CLEAN, "--policy", str(policy)])
    assert (run.code, "gate: PASS" in run.out) == (0, True)


def test_the_baseline_ratchet_counts_what_the_policy_gates_of_an_ignore_rule(tmp_path: Path) -> None:
    """honor_scanner_ignores = false: the finding .trivyignore left out fails, and the ratchet calls it new."""
    report = json.loads(Path(FAIL).read_text(encoding="utf-8"))
    [result] = [r for r in report["Results"] if r.get("Vulnerabilities")]
    moved = result["Vulnerabilities"].pop(0)
    base = tmp_path / "main.json"
    base.write_text(json.dumps(report), encoding="utf-8")
    result["ExperimentalModifiedFindings"] = [
        {"Type": "vulnerability", "Status": "ignored", "Source": ".trivyignore", "Finding": moved}
    ]
    pr = tmp_path / "pr.json"
    pr.write_text(json.dumps(report), encoding="utf-8")
    policy = write_policy(
        tmp_path, 'extends = "builtin:default"\n[settings]\nhonor_scanner_ignores = false\n'
    )
    run = Run(["check", str(pr), "--baseline", str(base), "--policy", str(policy), "--today", "2026-11-27"])
    assert run.code == 1 and "FAIL fixable-critical-high" in run.out
    assert ": 1 new, 0 fixed, " in run.out and run.out.rstrip().endswith(": worse")


def _openvex(tmp_path: Path, vulnerability: str, product: str) -> Path:
    """An OpenVEX document in `tmp_path`: `vulnerability` is not_affected in `product`."""
    statement = {
        "vulnerability": {"name": vulnerability},
        "products": [{"@id": product}],
        "status": "not_affected",
        "justification": "vulnerable_code_not_in_execute_path",
    }
    document = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/1",
        "author": "security team",
        "timestamp": "2026-11-01T00:00:00Z",
        "version": 1,
        "statements": [statement],
    }
    path = tmp_path / "app.vex.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_vex_statements_apply_to_the_baseline_too(tmp_path: Path) -> None:
    """A statement covering a finding of both the baseline and the pull request suppresses it in both: the
    same image compares as the same, not as better because only one side left the finding out."""
    base = tmp_path / "main.json"
    base.write_text(Path(FAIL).read_text(encoding="utf-8"), encoding="utf-8")
    vex = _openvex(tmp_path, "CVE-2024-4741", "pkg:apk/alpine/openssl@3.1.4-r5?arch=x86_64&distro=3.19.1")
    run = Run(["check", FAIL, "--baseline", str(base), "--vex", str(vex), "--today", "2026-11-27"])
    assert "1 suppressed by VEX" in run.out, run.out
    assert run.out.rstrip().endswith(": 0 new, 0 fixed, 1 still present: same"), run.out


def test_a_vex_statement_about_one_cve_of_an_advisory(tmp_path: Path) -> None:
    """Grype's ALAS-2023-1234 covers CVE-2023-0001 and CVE-2023-0002: a statement about the first suppresses it
    where Trivy reports it (merged with Grype's match), but never the advisory itself, which also covers the second."""
    vex = _openvex(tmp_path, "CVE-2023-0001", "pkg:rpm/amzn/openssl-libs")
    trivy, grype = (str(TESTDATA / "vex" / f"amazon-advisory.{s}.json") for s in ("trivy", "grype"))
    record = tmp_path / "d.json"
    run = Run(["check", grype, "--vex", str(vex), "--today", "2026-11-27", "--json", str(record)])
    assert run.code == 1 and "ALAS-2023-1234 also covers CVE-2023-0002; the not_affected statement" in run.out
    assert [o["finding"]["id"] for o in json.loads(record.read_text())["images"][0]["outcomes"]] == [
        "ALAS-2023-1234"
    ]
    for reports in ([trivy, grype], [grype, trivy]):  # the same findings, whichever report comes first
        Run(["check", *reports, "--vex", str(vex), "--today", "2026-11-27", "--json", str(record)])
        [image] = json.loads(record.read_text())["images"]
        assert [f["id"] for f in image["suppressed_findings"]] == ["CVE-2023-0001"]
        assert sorted(image["suppressed_findings"][0]["found_by"]) == ["grype", "trivy"]
        assert [o["finding"]["id"] for o in image["outcomes"]] == ["CVE-2023-0002"]


def test_a_vulnerability_trivy_calls_fixed_without_a_version_fails_as_fixable(tmp_path: Path) -> None:
    report = json.loads(Path(FAIL).read_text(encoding="utf-8"))
    for result in report["Results"]:
        for vulnerability in result.get("Vulnerabilities") or ():
            del vulnerability["FixedVersion"]
            vulnerability["Status"] = "fixed"
    path = tmp_path / "trivy.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    run = Run(["check", str(path), "--today", "2026-11-27"])
    assert run.code == 1 and "FAIL fixable-critical-high" in run.out, run.out
    assert "critical vulnerability; fixed (the report gives no fixed version);" in run.out


def test_a_fail_rule_on_pyyaml_catches_trivys_pyyaml(tmp_path: Path) -> None:
    """PyPI names compare PEP 503-normalised: `package = ["pyyaml"]` is the `PyYAML` Trivy reads from the
    package's METADATA, and the rule fails the gate instead of passing it."""
    vulnerability = {
        "VulnerabilityID": "CVE-2020-14343",
        "PkgName": "PyYAML",
        "PkgIdentifier": {"PURL": "pkg:pypi/pyyaml@5.3.1"},
        "InstalledVersion": "5.3.1",
        "FixedVersion": "5.4",
        "Severity": "MEDIUM",
    }
    result = {
        "Target": "Python",
        "Class": "lang-pkgs",
        "Type": "python-pkg",
        "Vulnerabilities": [vulnerability],
    }
    document = {
        "SchemaVersion": 2,
        "ArtifactName": "app:1.0",
        "ArtifactType": "container_image",
        "Results": [result],
    }
    report = tmp_path / "trivy.json"
    report.write_text(json.dumps(document), encoding="utf-8")
    policy = write_policy(
        tmp_path,
        '[[rules]]\nid = "no-pyyaml"\ntitle = "No PyYAML"\naction = "fail"\nmatch = { package = ["pyyaml"] }\n',
    )
    run = Run(["check", str(report), "--policy", str(policy), "--today", "2026-11-27"])
    assert run.code == 1, run.out + run.err
    assert "gate: FAIL: 1 failing, 0 warnings in 1 image" in run.out
    assert "  FAIL no-pyyaml: No PyYAML: 1 finding matches\n" in run.out
    assert "      CVE-2020-14343 PyYAML 5.3.1 -> 5.4 [MEDIUM] medium vulnerability; fixed in 5.4\n" in run.out


def test_policy_validate_counts_in_words(tmp_path: Path) -> None:
    policy = write_policy(
        tmp_path,
        '[[rules]]\nid = "r"\nmatch = { kind = "secret" }\n'
        '[[waivers]]\nid = "CVE-1"\nreason = "r"\nexpires = 2027-01-01\n',
    )
    run = Run(["policy", "validate", str(policy), "--today", "2026-11-27"])
    assert run.code == 0
    assert run.out == f"{policy}: valid (1 rule, 1 waiver)\n"


def two_platforms(folder: Path) -> dict[str, str]:
    """`amd64.json` and `arm64.json` (Trivy reports of one build's two platforms) and the `docker inspect` of each
    (`amd64.inspect.json` runs as `app`, `arm64.inspect.json` as root), by file stem."""
    paths = {}
    for arch, digit, user in (("amd64", "1", "app"), ("arm64", "2", "")):
        image_id = "sha256:" + digit * 64
        report = json.loads(Path(CLEAN).read_text())
        report["Metadata"] |= {"ImageID": image_id, "RepoDigests": []}
        report["Metadata"]["ImageConfig"]["architecture"] = arch
        inspect = [{"Id": image_id, "Os": "linux", "Architecture": arch, "Config": {"User": user}}]
        for name, document in ((arch, report), (f"{arch}.inspect", inspect)):
            paths[name] = str(folder / f"{name}.json")
            Path(paths[name]).write_text(json.dumps(document))
    return paths


@pytest.mark.parametrize("reverse", [False, True])
def test_each_image_metadata_goes_with_the_report_of_its_image(tmp_path: Path, reverse: bool) -> None:
    paths = two_platforms(tmp_path)
    files = [paths["amd64.inspect"], paths["arm64.inspect"]]
    flags = [arg for path in (files[::-1] if reverse else files) for arg in ("--image-metadata", path)]
    record = tmp_path / "d.json"
    run = Run(
        ["check", paths["amd64"], paths["arm64"], *flags, "--policy", "builtin:strict", "--json", str(record)]
    )
    assert run.code == 1, run.err
    images = json.loads(record.read_text())["images"]
    seen = {image["image"]["platform"]: (image["image"]["user"], image["verdict"]) for image in images}
    assert seen == {"linux/amd64": ("app", "warn"), "linux/arm64": ("", "fail")}  # warn: no labels, no date
    for image in images:  # the inspect output gives no Env or Labels: each note names the image's own file
        arch = image["image"]["platform"].split("/")[1]
        [note] = [note for note in image["notes"] if "give the image a different" in note]
        assert note.startswith(
            f"{paths[arch + '.inspect']} and {paths[arch]} give the image a different user"
        )


def test_image_metadata_refusals_name_the_files(tmp_path: Path) -> None:
    paths = two_platforms(tmp_path)
    amd64, arm64 = paths["amd64.inspect"], paths["arm64.inspect"]
    cases = [
        (
            [paths["amd64"], "--image-metadata", amd64, "--image-metadata", amd64],
            f"--image-metadata {amd64} is given twice;",
        ),
        (
            [
                paths["amd64"],
                "--image-metadata",
                amd64,
                "--image-metadata",
                f"{tmp_path}/./amd64.inspect.json",
            ],
            f"is given twice (as {amd64}); give each image's metadata file once",
        ),
        (
            [paths["amd64"], "--image-metadata", amd64, "--image-metadata", "-"],
            "--image-metadata does not read stdin",
        ),
        (
            [paths["amd64"], "--image-metadata", amd64, "--image-metadata", arm64],
            f"{arm64}: the docker inspect is of none of the images of the reports ({paths['amd64']}: image ID",
        ),
        (
            [paths["amd64"], paths["arm64"], "--image-metadata", amd64],  # one file: today's refusal
            f"{amd64}: is the docker inspect of another image than {paths['arm64']} (image ID sha256:111111111111",
        ),
        (
            [
                paths["amd64"],
                paths["arm64"],
                "--image-metadata",
                arm64,
                "--image-metadata",
                amd64,
                "--json",
                amd64,
            ],
            f"--json {amd64} would overwrite {amd64}, which gate reads",
        ),
    ]
    for args, text in cases:
        run = Run(["check", *args])
        assert run.code == 2, (args, run.err)
        assert text in run.err, run.err
        assert run.err.count("\n") == 1 and run.err.startswith("gate: error: ")
