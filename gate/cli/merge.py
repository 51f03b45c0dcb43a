"""`gate merge`: the decision records of a CI matrix merged into one decision, its outputs and its exit code."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gate.cli._common import OUTPUTS, ExitCode, UsageError, evaluation_date, stdin_once, stdout_output
from gate.cli._io import read_input, write_output
from gate.cli.check import renderers

if TYPE_CHECKING:
    from gate.cli._common import Parser
    from gate.policy.decision import Decision, ImageDecision

__all__ = ["add_merge_command", "run_merge"]


def add_merge_command(sub: argparse._SubParsersAction[Parser]) -> None:
    """Add `gate merge` and its flags to the subcommands `sub`."""
    merge = sub.add_parser(
        "merge",
        help="merge the decision records of a CI matrix into one summary and verdict",
        description="Merge decision records (gate check --json) into one decision: the worst verdict wins.",
        epilog="Exit codes: 0 pass (warnings allowed), 1 the policy failed, 2 usage or input error.",
    )
    merge.add_argument("records", nargs="+", metavar="DECISION.json", help="decision record ('-' for stdin)")
    merge.add_argument(
        "--today",
        metavar="YYYY-MM-DD",
        help="the day of the merge: records decided before yesterday are refused (default: today, UTC)",
    )
    for flag, dest, what in OUTPUTS:
        text = f"write {what} to PATH ('-' for stdout)"
        if dest == "sarif":
            text = "write one SARIF file per image into the directory PATH (a file when there is one image)"
        merge.add_argument(flag, dest=dest, metavar="PATH", help=text)
    merge.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def run_merge(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO, today: date | None) -> int:
    """`gate merge`: decision records of a matrix -> one decision, its outputs; return the exit code.

    Raises UsageError for bad flags, InputError for bad, repeated or stale records, OutputError for unwritable
    outputs.
    """
    if args.sarif == "-":
        raise UsageError("--sarif takes a directory (one SARIF file per image), not stdout ('-')")
    when = evaluation_date(args.today, today)
    render = renderers()
    quiet = stdout_output(args, args.records) is not None
    stdin_once(args.records)

    from gate.errors import InputError, short_value
    from gate.policy.decision import Decision, Verdict
    from gate.policy.waivers import review_run
    from gate.report.log import render_log
    from gate.report.record import load_record

    decisions = []
    seen: list[tuple[ImageDecision, str]] = []
    checked: list[tuple[ImageDecision, str]] = []  # `seen` as _as_checked gives each image
    for path in args.records:
        data = read_input(path, "decision record", stdin=stdin, written_by="the job uploaded it")
        source = "<stdin>" if path == "-" else path  # as notes and messages name it
        decision = load_record(data, source)
        for image in decision.images:
            as_checked = _as_checked(image)
            earlier = next((where for other, where in checked if other == as_checked), None)
            if earlier is not None:
                raise InputError(
                    f"{source}: the decision for {short_value(image.name, limit=100)} is also in {earlier}; "
                    "give each record once "
                    "(is the merged record among the inputs?)"
                )
            seen.append((image, source))
            checked.append((as_checked, source))
        decisions.append(decision)
    days = sorted({d.today for d in decisions})
    if (days[-1] - days[0]).days > 1:  # a matrix may run over midnight, not over days: a record was reused
        raise InputError(
            f"the records were decided on {days[0].isoformat()} and {days[-1].isoformat()}; waivers and ages "
            "depend on the day, so merge the records of one run (re-run the jobs of the older records)"
        )
    # A merge job re-run days after its check jobs would pass what they passed, though a waiver may have expired
    # since or a finding grown old enough for an age rule: the records no longer decide today.
    if (when - days[0]).days > 1:
        raise InputError(
            f"the records were decided on {days[0].isoformat()} and today is {when.isoformat()}; waivers and "
            "ages depend on the day, so re-run the gate check jobs (or give --today to merge them as of their day)"
        )
    # The policy and the day that decided each image (a matrix may run over midnight).
    policies = [d.policy for d in decisions for _ in d.images]
    decided_on = [d.today for d in decisions for _ in d.images]
    # As one gate check over every image would: a waiver one image used is not unused in the others.
    merged = review_run(
        Decision(
            verdict=Verdict.worst(d.verdict for d in decisions),
            today=max(d.today for d in decisions),
            policy=", ".join(dict.fromkeys(d.policy for d in decisions)),
            images=_noted_twice(_without_baseline_noted(seen)),
        ),
        policies=policies,
    )
    log = err if quiet else out
    log.write(render_log(merged))
    for flag, dest, _ in OUTPUTS:
        target = getattr(args, dest)
        if not target:
            continue
        if dest == "sarif":
            from gate.report import sarif

            for path, single, key in _sarif_targets(target, merged, policies, decided_on):
                write_output(flag, path, sarif.encode(single, keys=(key,)), out)
                log.write(f"gate: wrote {path}\n")
        else:
            write_output(flag, target, render[dest](merged), out)
    return ExitCode.FAIL if merged.verdict is Verdict.FAIL else ExitCode.PASS


def _as_checked(image: ImageDecision) -> ImageDecision:
    """`image` without what a merge changes (the unused-waiver review over the run, the note of an image
    decided twice): a merged record's image is then its record's again, and the merged record among the inputs
    is refused even when the review changed every image of it."""
    from gate.policy.decision import Verdict, WaiverState
    from gate.policy.waivers import WAIVER_RULES

    unused = WAIVER_RULES[WaiverState.UNUSED][0]
    return image.model_copy(
        update={
            "verdict": Verdict.PASS,
            "rules": tuple(r for r in image.rules if r.rule_id != unused),
            "violations": tuple(v for v in image.violations if v.rule_id != unused),
            "waivers": tuple(w for w in image.waivers if w.state is not WaiverState.UNUSED),
            "notes": (),
        }
    )


def _without_baseline_noted(
    decided: Sequence[tuple[ImageDecision, str]],
) -> list[tuple[ImageDecision, str]]:
    """The images of the records; when some have a baseline, those without one noted as gate check notes them
    in a run of all the reports: the job of an image with no baseline did not know that others had one."""
    from gate.policy.baseline import NO_BASELINE_NOTE

    if all(image.baseline is None for image, _ in decided):
        return list(decided)
    return [
        (image, path)
        if image.baseline is not None or NO_BASELINE_NOTE in image.notes
        else (image.model_copy(update={"notes": (*image.notes, NO_BASELINE_NOTE)}), path)
        for image, path in decided
    ]


def _noted_twice(decided: Sequence[tuple[ImageDecision, str]]) -> tuple[ImageDecision, ...]:
    """The images of the records, in order; one another record decided too (the same name, platform and image
    ID: say, one job per scanner) with a note, as its findings are counted in each decision."""
    from gate.identity import other_platform

    def image_id(image: ImageDecision) -> str:
        return image.image.image_id.strip().lower() if image.image is not None else ""

    def platform(image: ImageDecision) -> str:
        return image.image.platform if image.image is not None else ""

    out = []
    for n, (image, path) in enumerate(decided):
        earlier = [
            where
            for other, where in decided[:n]
            if where != path
            and other.name == image.name
            and not other_platform(platform(other), platform(image))
            and (not image_id(other) or not image_id(image) or image_id(other) == image_id(image))
        ]
        if earlier:
            note = (
                f"{image.name!r} is decided in {earlier[0]} too, so its findings count in both decisions; to "
                "decide it once on every scanner's findings, give its reports to one gate check"
            )
            image = image.model_copy(update={"notes": (*image.notes, note)})
        out.append(image)
    return tuple(out)


def _sarif_targets(
    target: str, decision: Decision, policies: Sequence[str], days: Sequence[date]
) -> list[tuple[str, Decision, str]]:
    """Where each image's SARIF goes: the file `target` for one image, else `target/<image>.sarif` (with its
    platform when images of its name are for several: `app-linux-arm64.sarif`); with the image's decision (under
    `policies` and on `days`, the policy and day of its record: not the others' too) and its key, the key it has
    in gate check's SARIF of all the images (images of one repository get their platform or `-2`, ...: GitHub
    keeps one upload per category, so each file needs its own)."""
    from gate.report._common import image_keys, platform_part, several_platforms

    singles = [
        decision.model_copy(update={"verdict": i.verdict, "policy": policy, "today": day, "images": (i,)})
        for i, policy, day in zip(decision.images, policies, days, strict=True)
    ]
    keys = image_keys(decision)
    platforms = [platform_part(image) for image in decision.images]
    by_platform = several_platforms([image.name for image in decision.images], platforms)
    folder = Path(target)
    if len(singles) == 1 and not target.endswith(("/", os.sep)) and not folder.is_dir():
        return [(target, singles[0], keys[0])]
    out: list[tuple[str, Decision, str]] = []
    used: set[str] = set()
    for single, key, platform, several in zip(singles, keys, platforms, by_platform, strict=True):
        name = single.images[0].name
        titled = f"{name[:100]}-{platform}" if platform and several else name
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", titled).strip("-.")[:140] or "image"
        name, n = stem, 1
        while name.lower() in used:
            n += 1
            name = f"{stem}-{n}"
        used.add(name.lower())
        out.append((str(folder / f"{name}.sarif"), single, key))
    return out
