"""`gate explain ID REPORT...`: everything the gate knows and decides about one finding."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, TextIO

from gate.cli._common import (
    ExitCode,
    UsageError,
    check_waiver_horizon,
    evaluation_date,
    load_policy,
    read_scan,
    stdin_once,
)
from gate.cli._risk import add_risk_arguments, check_download_flags, with_risk_data
from gate.cli.check import (
    add_image_arguments,
    images_and_baselines,
    not_its_own_baseline,
    with_image_metadata,
)
from gate.words import quantity

if TYPE_CHECKING:
    from gate.cli._common import Parser
    from gate.policy.schema import Rule

__all__ = ["add_explain_command", "run_explain"]


def add_explain_command(sub: argparse._SubParsersAction[Parser]) -> None:
    """Add `gate explain` and its flags to the subcommands `sub`."""
    explain = sub.add_parser(
        "explain",
        help="explain one finding or rule: its data, each rule that considered it, waivers and VEX",
        description=(
            "Print, for every finding with this ID (or alias) in the reports: the data the gate has (severity, "
            "fix, CVSS, KEV, EPSS, dates), each rule of the policy and why it matched or not, and any waiver, "
            "VEX statement or scanner suppression. For the ID of a rule (the policy's or a built-in one such "
            "as stale-report) or of an image check (non-root-user, ...): how it came out on each image, and why."
        ),
        epilog=(
            "Exit codes: 0 explained, 2 the ID is in no report or policy (or names a rule switched off, or a "
            "built-in rule that did not run), or a usage, policy or input error."
        ),
    )
    explain.add_argument(
        "id",
        metavar="ID",
        help="a CVE, GHSA or other vulnerability ID, a secret/misconfig rule ID, or a policy rule or image check ID",
    )
    explain.add_argument(
        "reports", nargs="+", metavar="REPORT", help="Trivy or Grype JSON report, or '-' for stdin"
    )
    explain.add_argument(
        "--policy",
        metavar="PATH|builtin:NAME",
        help="policy (default: ./gate.toml if present, else builtin:default)",
    )
    explain.add_argument("--today", metavar="YYYY-MM-DD", help="evaluation date (default: today, UTC)")
    add_image_arguments(explain)  # as gate check reads them: layers, image facts, new or existing
    add_risk_arguments(explain)


def run_explain(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    stdin: TextIO,
    env: Mapping[str, str],
    today: date | None,
) -> int:
    """`gate explain`: print the explanation of the finding; return the exit code.

    Raises InputError when the ID is in no report (or a report is bad), UsageError/PolicyError as gate check.
    """
    from gate.errors import InputError
    from gate.explain import explain, explain_rule
    from gate.policy.baseline import compare
    from gate.policy.decision import BUILTIN_RULE_IDS, Action

    if not args.id.strip():
        raise UsageError("the ID is empty; give a CVE, GHSA or other vulnerability ID, or a rule ID")
    stdin_once([*args.reports, *(args.baseline or ())])
    not_its_own_baseline(args.reports, args.baseline or ())
    check_download_flags(args)
    when = evaluation_date(args.today, today)
    policy = load_policy(args.policy)
    check_waiver_horizon(policy, when)
    scans = [read_scan(path, stdin) for path in args.reports]
    baselines = [read_scan(path, stdin) for path in args.baseline or ()]
    scans, vex = with_risk_data(args, scans, env, when)
    scans = with_image_metadata(args.image_metadata, scans)
    pairs = images_and_baselines(scans, baselines, policy, vex)  # as gate check pairs them
    images = [image if base is None else compare(image, base)[0] for image, base in pairs]
    text = explain(args.id, images, policy, today=when) or explain_rule(args.id, images, policy, today=when)
    off = [r.id for r in policy.rules if r.action is Action.OFF and _names(r, args.id.strip())]
    if text is None and off:
        raise InputError(
            f'{args.id}: the policy\'s rule {", ".join(off)} is switched off (action = "off"), so it ran on no '
            "image; give it another action to have it checked"
        )
    if text is None and args.id.strip() in BUILTIN_RULE_IDS:
        raise InputError(
            f"{args.id}: a built-in rule that did not run for these reports and this policy (docs/policy.md, "
            '"Built-in rules", says when each runs)'
        )
    if text is None:
        count = sum(len(s.findings) for s in images)
        raise InputError(
            f"{args.id}: no finding of the reports ({quantity(count, 'finding')} in all) and no rule or image check "
            "of the policy has this ID; check the ID"
        )
    out.write(text)
    return ExitCode.PASS


def _names(rule: Rule, wanted: str) -> bool:
    """True when `wanted` is the rule's ID or the ID of one of its image checks."""
    return rule.id == wanted or (rule.image is not None and wanted in rule.image.check_ids())
