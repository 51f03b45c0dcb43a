"""`gate policy`: validate a policy file, write a starter one, print its JSON Schema, import ignore files."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import TextIO

from gate.cli._common import ExitCode, Parser, UsageError, evaluation_date, log_line
from gate.cli._io import read_input, write_output
from gate.errors import short_value
from gate.words import quantity, whole_number

__all__ = ["add_policy_command", "run_policy"]


def add_policy_command(sub: argparse._SubParsersAction[Parser]) -> None:
    """Add `gate policy` and its actions (validate, init, schema, import) to the subcommands `sub`."""
    policy = sub.add_parser("policy", help="validate, start or describe a policy file")
    policy_sub = policy.add_subparsers(dest="policy_command", metavar="ACTION", parser_class=Parser)
    validate = policy_sub.add_parser("validate", help="report every problem of a policy file at once")
    validate.add_argument("path", metavar="PATH", help="policy file (or builtin:NAME)")
    validate.add_argument(
        "--today",
        metavar="YYYY-MM-DD",
        help="the date waivers are checked against (settings.max_waiver_days; default: today, UTC)",
    )
    init = policy_sub.add_parser("init", help="write a commented starter policy")
    init.add_argument(
        "--output", "-o", metavar="PATH", default="gate.toml", help="where to write ('-' for stdout)"
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    policy_sub.add_parser("schema", help="print the JSON Schema of the policy file")
    _add_import_command(policy_sub)


def _add_import_command(policy_sub: argparse._SubParsersAction[Parser]) -> None:
    imp = policy_sub.add_parser(
        "import",
        help="turn .trivyignore, .trivyignore.yaml or Grype ignore rules into waivers (TOML)",
        description=(
            "Print [[waivers]] tables for every entry of a .trivyignore, .trivyignore.yaml or Grype config "
            "(.grype.yaml `ignore:` rules). Entries without a reason or expiry take --reason/--expires. Rules "
            "a waiver cannot express exactly are skipped and listed on stderr."
        ),
        epilog="Exit codes: 0 imported (skipped rules are listed on stderr), 2 usage or input error.",
    )
    imp.add_argument("file", metavar="FILE", help=".trivyignore, .trivyignore.yaml or .grype.yaml")
    imp.add_argument("--reason", metavar="TEXT", help="reason for entries that give none")
    imp.add_argument(
        "--expires",
        metavar="YYYY-MM-DD|Nd",
        help="expiry for entries that give none: a date, or N days from today",
    )
    imp.add_argument("--owner", metavar="NAME", default="", help="owner of every imported waiver")
    imp.add_argument("--ticket", metavar="ID", default="", help="ticket of every imported waiver")
    imp.add_argument("--today", metavar="YYYY-MM-DD", help="the date `Nd` counts from (default: today, UTC)")
    imp.add_argument("--output", "-o", metavar="PATH", default="-", help="where to write (default: stdout)")
    imp.add_argument("--force", action="store_true", help="overwrite an existing output file")


def run_policy(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """`gate policy ACTION`: run the action; return the exit code. Raises UsageError without an action."""
    if args.policy_command == "validate":
        from gate.errors import PolicyError
        from gate.policy.schema import load_policy
        from gate.policy.waivers import check_horizon

        when = evaluation_date(args.today, None)
        try:
            policy = load_policy(args.path)
            check_horizon(policy, today=when)
        except PolicyError as exc:
            for problem in exc.problems:
                err.write(log_line(f"{exc.source}: {problem}") + "\n")
            problems = quantity(len(exc.problems), "problem")
            them = "them" if len(exc.problems) > 1 else "it"
            err.write(f"gate: error: {log_line(args.path)}: {problems}; fix {them} and run again\n")
            return ExitCode.ERROR
        out.write(
            f"{args.path}: valid ({quantity(len(policy.rules), 'rule')}, {quantity(len(policy.waivers), 'waiver')})\n"
        )
        return ExitCode.PASS
    if args.policy_command == "init":
        from importlib import resources

        text = resources.files("gate.policy").joinpath("presets", "starter.toml").read_text("utf-8")
        if args.output == "-":
            out.write(text)
            return ExitCode.PASS
        target = Path(args.output)
        if target.exists() and not args.force:
            raise UsageError(f"{target} exists; pass --force to overwrite it")
        write_output("--output", args.output, text, out)
        out.write(f"wrote {target}; check it with: gate policy validate {target}\n")
        return ExitCode.PASS
    if args.policy_command == "schema":
        import json

        from gate.policy.schema import policy_json_schema

        out.write(json.dumps(policy_json_schema(), indent=2, sort_keys=True) + "\n")
        return ExitCode.PASS
    if args.policy_command == "import":
        return _policy_import(args, out, err)
    raise UsageError("choose an action: validate, init, schema or import")


def _policy_import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """`gate policy import`: an ignore file's entries printed (or written) as waivers; return the exit code."""
    from datetime import timedelta

    from gate.policy.importers import import_ignore_file, render_waivers

    if "-" not in (args.output, args.file) and Path(args.output).resolve() == Path(args.file).resolve():
        # --force is for an earlier output, not for replacing the ignore file the scanner still reads
        raise UsageError(
            f"--output {args.output} would overwrite {args.file}, which gate reads; write elsewhere"
        )
    when = evaluation_date(args.today, None)
    expires = None
    if args.expires:
        text = args.expires.strip()
        days = whole_number(text[:-1]) if text.endswith("d") else None
        if days is not None:
            if days > 3660:  # beyond ten years no waiver is a waiver (and the date would overflow)
                raise UsageError(
                    f"--expires {short_value(text)} is over ten years; waivers are meant to be reviewed"
                )
            expires = when + timedelta(days=days)
        else:
            try:
                expires = date.fromisoformat(text)
            except ValueError:
                raise UsageError(
                    f"--expires {text!r} is not a date (YYYY-MM-DD) or a day count (90d)"
                ) from None
    if args.reason is not None and not args.reason.strip():
        raise UsageError("--reason must say why the findings are acceptable")
    imported = import_ignore_file(
        args.file,
        read_input(args.file, "ignore file"),
        reason=args.reason,
        expires=expires,
        today=when,
        owner=args.owner,
        ticket=args.ticket,
    )
    for line in imported.warnings + imported.skipped:
        err.write(f"gate: warning: {log_line(f'{args.file}: {line}')}\n")
    for line in imported.expired:
        err.write(f"gate: warning: {log_line(f'{args.file}: {line}')}; it will fail as waiver-expired\n")
    text = render_waivers(imported)
    if args.output == "-":
        out.write(text)
    else:
        target = Path(args.output)
        if target.exists() and not args.force:
            raise UsageError(f"{target} exists; pass --force to overwrite it (or print to stdout and append)")
        write_output("--output", args.output, text, out)
    err.write(
        f"gate: imported {quantity(len(imported.waivers), 'waiver')} from "
        f"{args.file} ({imported.kind}); {len(imported.skipped)} skipped\n"
    )
    return ExitCode.PASS
