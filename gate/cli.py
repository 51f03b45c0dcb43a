"""The command line: `main(argv) -> int`. The only module that reads files, the clock and the environment.

Exit codes: 0 pass (warnings allowed), 1 the policy failed, 2 usage, policy-file or input error.
Heavy modules (pydantic, jinja2, ...) are imported inside the commands so `gate --version` stays fast.
"""

from __future__ import annotations

import argparse
import enum
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gate import __version__

if TYPE_CHECKING:
    from gate.model import Scan
    from gate.policy.decision import Decision
    from gate.policy.schema import Policy

__all__ = ["ExitCode", "main", "run"]


class ExitCode(enum.IntEnum):
    """The process exit codes; a count is never an exit code."""

    PASS = 0
    FAIL = 1
    ERROR = 2


# Output flags: (flag, destination, what it writes). The renderer for each is looked up in _renderers().
OUTPUTS: tuple[tuple[str, str, str], ...] = (
    ("--json", "json", "the decision record (JSON)"),
    ("--sarif", "sarif", "SARIF 2.1.0 for GitHub code scanning"),
    ("--summary", "summary", "Markdown summary (GitHub step summary, PR comment body)"),
    ("--junit", "junit", "JUnit XML"),
    ("--gitlab-report", "gitlab_report", "GitLab container-scanning report"),
    ("--codequality", "codequality", "GitLab code-quality report"),
)


class _UsageError(Exception):
    """A command-line mistake: exit 2 with the message."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see gate {self.prog.split(' ', 1)[-1]} --help)")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gate",
        description="Gate container images on Trivy and Grype reports: pass, warn or fail, explained.",
        epilog="Exit codes: 0 pass (warnings allowed), 1 the policy failed, 2 usage, policy or input error.",
    )
    parser.add_argument("--version", action="version", version=f"gate {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    check = sub.add_parser(
        "check",
        help="decide one or more scanner reports against a policy",
        description="Decide Trivy or Grype JSON reports (detected from content; '-' reads stdin).",
        epilog="Exit codes: 0 pass (warnings allowed), 1 the policy failed, 2 usage, policy or input error.",
    )
    check.add_argument("reports", nargs="+", metavar="REPORT", help="Trivy or Grype JSON report, or '-' for stdin")
    check.add_argument(
        "--policy",
        metavar="PATH|builtin:NAME",
        help="policy file or preset (default: ./gate.toml if present, else builtin:default)",
    )
    check.add_argument(
        "--image-metadata",
        metavar="PATH",
        help="docker/podman inspect, skopeo inspect --config, or an OCI image config",
    )
    check.add_argument(
        "--baseline",
        metavar="PATH",
        action="append",
        help="an earlier report of the same image: gate only on what is new (repeatable)",
    )
    check.add_argument("--today", metavar="YYYY-MM-DD", help="evaluation date for expiry and ages (default: today, UTC)")
    for flag, dest, what in OUTPUTS:
        check.add_argument(flag, dest=dest, metavar="PATH", help=f"write {what} to PATH ('-' for stdout)")
    check.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    policy = sub.add_parser("policy", help="validate, start or describe a policy file")
    policy_sub = policy.add_subparsers(dest="policy_command", metavar="ACTION", parser_class=_Parser)
    validate = policy_sub.add_parser("validate", help="report every problem of a policy file at once")
    validate.add_argument("path", metavar="PATH", help="policy file (or builtin:NAME)")
    init = policy_sub.add_parser("init", help="write a commented starter policy")
    init.add_argument("--output", "-o", metavar="PATH", default="gate.toml", help="where to write ('-' for stdout)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    policy_sub.add_parser("schema", help="print the JSON Schema of the policy file")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: TextIO | None = None,
    env: dict[str, str] | None = None,
    today: date | None = None,
) -> int:
    """Run the gate with `argv`; return the exit code. Streams, environment and date are injectable for tests."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    source_in = stdin or sys.stdin
    environ = os.environ if env is None else env
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    try:
        parser = _build_parser()
        try:
            args = parser.parse_args(args_list)
        except SystemExit as exc:  # --help and --version print and exit 0
            return int(exc.code or 0)
        if args.command == "check":
            return _check(args, out, err, source_in, environ, today)
        if args.command == "policy":
            return _policy(args, out, err, parser)
        parser.print_help(out)
        return ExitCode.ERROR
    except _UsageError as exc:
        err.write(f"gate: error: {exc}\n")
        return ExitCode.ERROR
    except Exception as exc:
        from gate.errors import GateError

        if isinstance(exc, GateError):
            err.write(f"gate: error: {_one_line(str(exc))}\n")
            return ExitCode.ERROR
        if debug:
            import traceback

            traceback.print_exc(file=err)
        err.write(
            f"gate: internal error: {type(exc).__name__}: {_one_line(str(exc))}. This is a bug in gate "
            f"{__version__}; please report it with the command line (add --debug for a traceback).\n"
        )
        return ExitCode.ERROR


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" not in text else text.replace("\n", "\n  ")


# --- gate check ----------------------------------------------------------------------------------------


_NOT_YET: dict[str, str] = {
    "image_metadata": "--image-metadata",
    "baseline": "--baseline",
}


def _check(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    stdin: TextIO,
    env: dict[str, str] | os._Environ[str],
    today: date | None,
) -> int:
    renderers = _renderers()
    for dest, flag in _NOT_YET.items():
        if getattr(args, dest):
            raise _UsageError(f"{flag} is not available in gate {__version__} yet; run without it")
    for flag, dest, _ in OUTPUTS:
        if getattr(args, dest) and dest not in renderers:
            raise _UsageError(f"{flag} is not available in gate {__version__} yet; run without it")
    stdout_outputs = [flag for flag, dest, _ in OUTPUTS if getattr(args, dest) == "-"]
    if len(stdout_outputs) > 1:
        raise _UsageError(f"only one output can go to stdout ('-'), not {', '.join(stdout_outputs)}")
    if args.reports.count("-") > 1:
        raise _UsageError("stdin ('-') can be read only once")
    when = _evaluation_date(args.today, today)

    from gate.policy.decision import combine
    from gate.policy.engine import evaluate

    policy = _load_policy(args.policy)
    scans = [_read_scan(path, stdin) for path in args.reports]
    decision = combine(evaluate(scan, policy, today=when) for scan in scans)

    quiet = any(getattr(args, dest) == "-" for _, dest, _ in OUTPUTS)
    from gate.report.log import render_log

    (err if quiet else out).write(render_log(decision))
    for flag, dest, _ in OUTPUTS:
        target = getattr(args, dest)
        if target:
            _write_output(flag, target, renderers[dest](decision), out)
    from gate.policy.decision import Verdict

    return ExitCode.FAIL if decision.verdict is Verdict.FAIL else ExitCode.PASS


def _renderers() -> dict[str, Callable[[Decision], str]]:
    from gate.report import record

    return {"json": record.render}


def _evaluation_date(text: str | None, injected: date | None) -> date:
    if text:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise _UsageError(f"--today {text!r} is not a date (use YYYY-MM-DD)") from None
    return injected or datetime.now(timezone.utc).date()


def _load_policy(spec: str | None) -> Policy:
    from gate.policy.schema import load_policy

    if spec is None:
        spec = "gate.toml" if Path("gate.toml").is_file() else "builtin:default"
    return load_policy(spec)


def _read_scan(path: str, stdin: TextIO) -> Scan:
    from gate.errors import InputError
    from gate.ingest import read_report

    if path == "-":
        data = stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("utf-8")
        return read_report("<stdin>", data)
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory; give the report file") from None
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; check the path or that the scan step wrote it") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return read_report(path, data)


def _write_output(flag: str, target: str, text: str, out: TextIO) -> None:
    from gate.errors import OutputError

    if target == "-":
        out.write(text)
        return
    try:
        path = Path(target)
        if path.parent != Path():
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        raise OutputError(f"{flag} {target}: cannot write ({exc.strerror or exc})") from None


# --- gate policy ---------------------------------------------------------------------------------------


def _policy(args: argparse.Namespace, out: TextIO, err: TextIO, parser: argparse.ArgumentParser) -> int:
    if args.policy_command == "validate":
        from gate.errors import PolicyError
        from gate.policy.schema import load_policy

        try:
            policy = load_policy(args.path)
        except PolicyError as exc:
            for problem in exc.problems:
                err.write(f"{exc.source}: {problem}\n")
            noun = "problem" if len(exc.problems) == 1 else "problems"
            err.write(f"gate: error: {args.path}: {len(exc.problems)} {noun}; fix them and run again\n")
            return ExitCode.ERROR
        out.write(f"{args.path}: valid ({len(policy.rules)} rules, {len(policy.waivers)} waivers)\n")
        return ExitCode.PASS
    if args.policy_command == "init":
        from importlib import resources

        text = resources.files("gate.policy").joinpath("presets", "starter.toml").read_text("utf-8")
        if args.output == "-":
            out.write(text)
            return ExitCode.PASS
        target = Path(args.output)
        if target.exists() and not args.force:
            raise _UsageError(f"{target} exists; pass --force to overwrite it")
        target.write_text(text, encoding="utf-8")
        out.write(f"wrote {target}; check it with: gate policy validate {target}\n")
        return ExitCode.PASS
    if args.policy_command == "schema":
        import json

        from gate.policy.schema import policy_json_schema

        out.write(json.dumps(policy_json_schema(), indent=2, sort_keys=True) + "\n")
        return ExitCode.PASS
    raise _UsageError("choose an action: validate, init or schema")
