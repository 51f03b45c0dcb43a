"""The command line: `main(argv) -> int`. The only package that reads files, the clock and the environment.

Exit codes: 0 pass (warnings allowed), 1 the policy failed, 2 usage, policy-file or input error.
Heavy modules (pydantic, jinja2, ...) are imported inside the commands so `gate --version` stays fast.
One module per command (check, merge, explain, policy, platform for comment/outputs); `_io` reads the input
files and writes the outputs, `_common` holds what the commands share, `_risk` the KEV/EPSS/VEX flags.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import sys
from collections.abc import Sequence
from datetime import date
from typing import TextIO

from gate import __version__
from gate.cli._common import OUTPUTS, ExitCode, Parser, UsageError, log_line
from gate.cli._io import stdout_problem
from gate.cli.check import add_check_command, run_check
from gate.cli.explain import add_explain_command, run_explain
from gate.cli.merge import add_merge_command, run_merge
from gate.cli.platform import add_platform_commands, run_platform
from gate.cli.policy import add_policy_command, run_policy

__all__ = ["OUTPUTS", "ExitCode", "main", "run"]

_STREAM_ERRORS = frozenset({errno.EPIPE, errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})
"""Why writing to standard output can fail: a closed pipe, a full disk or quota, an oversized file, a dead terminal."""


def _build_parser() -> Parser:
    parser = Parser(
        prog="gate",
        description="Gate container images on Trivy and Grype reports: pass, warn or fail, explained.",
        epilog="Exit codes: 0 pass (warnings allowed), 1 the policy failed, 2 usage, policy or input error.",
    )
    parser.add_argument("--version", action="version", version=f"gate {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a traceback on internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    add_check_command(sub)
    add_merge_command(sub)
    add_platform_commands(sub)
    add_explain_command(sub)
    add_policy_command(sub)
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
            with contextlib.redirect_stdout(out):
                args, unknown = parser.parse_known_args(args_list)
        except SystemExit as exc:  # --help and --version print and exit 0
            return int(exc.code or 0)
        if unknown:  # argparse would blame the top-level parser; point at the command's own --help
            command = " ".join(filter(None, (args.command, getattr(args, "policy_command", None))))
            parser.error(f"unrecognized arguments: {' '.join(unknown)}", command)
        _refuse_undecodable(args_list)
        if args.command == "check":
            return run_check(args, out, err, source_in, environ, today)
        if args.command == "policy":
            return run_policy(args, out, err)
        if args.command == "merge":
            return run_merge(args, out, err, source_in, today)
        if args.command == "explain":
            return run_explain(args, out, err, source_in, environ, today)
        if args.command in ("comment", "outputs"):
            return run_platform(args, out, source_in, environ)
        # Exit 2 says what was wrong on stderr, as every usage error does; the help is one flag away.
        raise UsageError(
            "choose a command: check, merge, comment, outputs, explain or policy (see gate --help)"
        )
    except UsageError as exc:
        err.write(f"gate: error: {log_line(str(exc))}\n")
        return ExitCode.ERROR
    except Exception as exc:
        from gate.errors import GateError

        if isinstance(exc, GateError):
            err.write(f"gate: error: {_message(exc)}\n")
            return ExitCode.ERROR
        if isinstance(exc, OSError) and exc.errno in _STREAM_ERRORS:
            # Files are read and written where errors name them; what is left is the log or a message.
            err.write(f"gate: error: {stdout_problem(exc)}\n")
            return ExitCode.ERROR
        if debug:
            import traceback

            traceback.print_exc(file=err)
        err.write(
            f"gate: internal error: {type(exc).__name__}: {log_line(str(exc))}. This is a bug in gate "
            f"{__version__}; please report it with the command line (add --debug for a traceback).\n"
        )
        return ExitCode.ERROR


def _refuse_undecodable(arguments: Sequence[str]) -> None:
    """Raise UsageError for an argument that is not UTF-8 (Python keeps such bytes of a file name as lone
    surrogates): every output names its files, and no JSON, XML or Markdown output can hold those."""
    for argument in arguments:
        if any("\ud800" <= ch <= "\udfff" for ch in argument):
            try:  # the bytes of the name as they were (\xff)
                shown = argument.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            except UnicodeEncodeError:  # a surrogate no name's bytes give (a caller's own text)
                shown = argument.encode("utf-8", "backslashreplace").decode("utf-8")
            raise UsageError(
                f"the argument {shown[:200]} is not UTF-8; rename the file, or pass the text in UTF-8"
            )


def run() -> None:
    """Console-script entry point."""
    # One run allocates hundreds of thousands of small acyclic objects and then exits; the cycle collector
    # would spend up to half the run walking them (docs/performance.md). Reference counting still frees memory.
    gc.disable()
    code = main()
    try:
        sys.stdout.flush()
    except OSError as exc:
        # What was left to print is lost. Point stdout at /dev/null so the exit does not try again (as the
        # Python docs advise), and never pass on output that did not arrive.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if code != ExitCode.ERROR:
            sys.stderr.write(f"gate: error: {stdout_problem(exc)}\n")
            code = ExitCode.ERROR
    with contextlib.suppress(OSError):
        sys.stderr.flush()
    # Every file is closed where it is written, so nothing is left to clean up; freeing a large report's
    # objects one by one would take a tenth of a second. End the process here, as mypy does.
    os._exit(code)


def _message(exc: Exception) -> str:
    """The error's message for stderr: one line per policy problem, else one line.

    Messages quote report and policy text: each line is a `log_line` (a CI log reads `::` at the start of a
    line, and `##[` or `##vso[` anywhere in one, as a workflow command).
    """
    from gate.errors import PolicyError

    lines = str(exc).split("\n") if isinstance(exc, PolicyError) else [str(exc)]
    return "\n  ".join(log_line(line) for line in lines)
