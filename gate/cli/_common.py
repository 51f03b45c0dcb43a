"""What the commands share: exit codes, the output flags, usage errors, the date, the policy and the reports."""

from __future__ import annotations

import argparse
import enum
import os
from collections.abc import Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from gate.cli._io import read_input
from gate.errors import short_value

if TYPE_CHECKING:
    from gate.model import Scan
    from gate.policy.schema import Policy

__all__ = [
    "OUTPUTS",
    "ExitCode",
    "Parser",
    "UsageError",
    "check_waiver_horizon",
    "evaluation_date",
    "load_policy",
    "log_line",
    "read_scan",
    "stdin_once",
    "stdout_output",
]


class ExitCode(enum.IntEnum):
    """The process exit codes; a count is never an exit code."""

    PASS = 0
    FAIL = 1
    ERROR = 2


# Output flags: (flag, destination, what it writes). The renderer for each is in gate.cli.check.renderers().
OUTPUTS: tuple[tuple[str, str, str], ...] = (
    ("--json", "json", "the decision record (JSON)"),
    ("--sarif", "sarif", "SARIF 2.1.0 for GitHub code scanning"),
    ("--summary", "summary", "Markdown summary (GitHub step summary, GitLab, any viewer; under 1 MiB)"),
    ("--junit", "junit", "JUnit XML"),
    ("--gitlab-report", "gitlab_report", "GitLab container-scanning report"),
    ("--codequality", "codequality", "GitLab code-quality report"),
    ("--comment", "comment", "pull/merge-request comment body (Markdown, at most 60,000 characters)"),
)


def log_line(text: str) -> str:
    """A message for stderr, which quotes report and policy text, made one harmless line of the CI log: no
    control characters, no newline to start a line with `::`, and no `::` or `##` anywhere (GitHub's runner
    reads a legacy `##[cmd]` anywhere in a line, Azure a `##vso[cmd]`)."""
    from gate.report._text import clean, no_commands

    return no_commands(" ".join(clean(text).split()))


class UsageError(Exception):
    """A command-line mistake: exit 2 with the message."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes raise UsageError (pointing at the command's --help), not exit."""

    def error(self, message: str, command: str | None = None) -> NoReturn:
        """Raise UsageError pointing at the --help of `command` (default: this parser's, "policy validate")."""
        command = self.prog.partition(" ")[2] if command is None else command
        raise UsageError(f"{message} (see gate {command + ' ' if command else ''}--help)")


def stdout_output(args: argparse.Namespace, inputs: Sequence[str | None] = ()) -> str | None:
    """The output flag that writes to stdout ('-'), None if none does.

    Raises UsageError if several write to stdout, two to the same file (one would silently replace the other),
    or one to a file of `inputs` (the files the command reads: a report is evidence, not scratch space).
    """
    given = [(flag, getattr(args, dest)) for flag, dest, _ in OUTPUTS if getattr(args, dest) is not None]
    flags = [flag for flag, target in given if target == "-"]
    if len(flags) > 1:
        raise UsageError(f"only one output can go to stdout ('-'), not {', '.join(flags)}")
    read = {Path(p).resolve(): p for p in inputs if p and p != "-"}
    seen: dict[Path, str] = {}
    for flag, target in given:
        path = Path(target).resolve()
        if target == "-":
            continue
        if path in read:
            raise UsageError(
                f"{flag} {target} would overwrite {read[path]}, which gate reads; write elsewhere"
            )
        if path in seen:
            raise UsageError(f"{seen[path]} and {flag} both write {target}; give each output its own file")
        seen[path] = flag
    return flags[0] if flags else None


def stdin_once(paths: Sequence[str]) -> None:
    """Return if stdin ('-') is among `paths` at most once; raise UsageError otherwise."""
    if list(paths).count("-") > 1:
        raise UsageError("stdin ('-') can be read only once")


def evaluation_date(text: str | None, injected: date | None) -> date:
    """The date of --today, else the injected date, else today (UTC). Raises UsageError for a bad date."""
    if text:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise UsageError(f"--today {short_value(text)} is not a date (use YYYY-MM-DD)") from None
    return injected or datetime.now(timezone.utc).date()


def load_policy(spec: str | None) -> Policy:
    """The policy of --policy, else ./gate.toml if present, else builtin:default. Raises PolicyError."""
    from gate.policy.schema import load_policy as load

    if spec is None:
        # Anything named gate.toml is the team's policy: a folder or a dangling link is an error to fix, not a
        # reason to gate with builtin:default instead.
        spec = "gate.toml" if os.path.lexists("gate.toml") else "builtin:default"
    return load(spec)


def check_waiver_horizon(policy: Policy, when: date) -> None:
    """Raise PolicyError for every waiver that expires more than settings.max_waiver_days after `when`."""
    from gate.policy.waivers import check_horizon

    check_horizon(policy, today=when)


def read_scan(path: str, stdin: TextIO) -> Scan:
    """The Trivy or Grype report at `path` ('-' reads stdin) as a Scan. Raises InputError."""
    from gate.ingest import read_report

    data = read_input(path, "report", stdin=stdin, written_by="the scan step wrote it")
    return read_report("<stdin>" if path == "-" else path, data)
