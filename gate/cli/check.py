"""`gate check`: scanner reports (with image metadata, baselines and risk data) decided against a policy.

Writes the log (and GitHub annotations) and every output asked for; exit 1 when the policy failed.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gate.cli._common import (
    OUTPUTS,
    ExitCode,
    UsageError,
    check_waiver_horizon,
    evaluation_date,
    load_policy,
    read_scan,
    stdin_once,
    stdout_output,
)
from gate.cli._io import read_input, write_output
from gate.cli._risk import add_risk_arguments, check_download_flags, with_risk_data
from gate.errors import short_value

if TYPE_CHECKING:
    from gate.cli._common import Parser
    from gate.ingest.vex import VexDocument
    from gate.model import Scan
    from gate.policy.decision import Decision
    from gate.policy.schema import Policy
    from gate.report._common import FileLocation, Results

__all__ = [
    "add_check_command",
    "add_image_arguments",
    "images_and_baselines",
    "not_its_own_baseline",
    "renderers",
    "run_check",
    "with_image_metadata",
]

_GITLAB_SCHEMA = "15.0.7"
"""gate.report.gitlab.DEFAULT_SCHEMA_VERSION, without importing the renderer at start-up (a test pins both)."""
_METADATA_LIMIT = (64 * 1024 * 1024, "an image's metadata")
"""docker inspect of an image is kilobytes; a bigger file (a device that never ends) is not one."""


def add_check_command(sub: argparse._SubParsersAction[Parser]) -> None:
    """Add `gate check` and its flags to the subcommands `sub`."""
    check = sub.add_parser(
        "check",
        help="decide one or more scanner reports against a policy",
        description="Decide Trivy or Grype JSON reports (detected from content; '-' reads stdin).",
        epilog="Exit codes: 0 pass (warnings allowed), 1 the policy failed, 2 usage, policy or input error.",
    )
    check.add_argument(
        "reports", nargs="+", metavar="REPORT", help="Trivy or Grype JSON report, or '-' for stdin"
    )
    check.add_argument(
        "--policy",
        metavar="PATH|builtin:NAME",
        help="policy file or preset (default: ./gate.toml if present, else builtin:default)",
    )
    add_image_arguments(check)
    check.add_argument(
        "--today", metavar="YYYY-MM-DD", help="evaluation date for expiry and ages (default: today, UTC)"
    )
    for flag, dest, what in OUTPUTS:
        check.add_argument(flag, dest=dest, metavar="PATH", help=f"write {what} to PATH ('-' for stdout)")
    check.add_argument(
        "--dockerfile",
        metavar="PATH",
        help="the image's Dockerfile (repository-relative): SARIF, code-quality and annotations point at its final FROM",
    )
    check.add_argument(
        "--gitlab-schema-version",
        metavar="X.Y.Z",
        help=f"schema version the GitLab report declares (default: {_GITLAB_SCHEMA}; use one your GitLab supports)",
    )
    check.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    add_risk_arguments(check)


def add_image_arguments(parser: argparse.ArgumentParser) -> None:
    """--image-metadata and --baseline (gate check and gate explain)."""
    parser.add_argument(
        "--image-metadata",
        metavar="PATH",
        action="append",
        help=(
            "docker/podman inspect, skopeo inspect [--config], or an OCI image config, manifest or index; "
            "repeatable: one per image (a multi-platform build: one per platform), each laid over the reports "
            "of its own image"
        ),
    )
    parser.add_argument(
        "--baseline",
        metavar="PATH",
        action="append",
        help="an earlier report of the same image: gate only on what is new (repeatable)",
    )


def run_check(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    stdin: TextIO,
    env: Mapping[str, str],
    today: date | None,
) -> int:
    """`gate check`: decide the reports, write the log and the outputs; return the exit code.

    Raises UsageError for bad flags, InputError/PolicyError/OutputError for bad files.
    """
    schema = args.gitlab_schema_version
    if schema is not None:
        if not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", schema):
            raise UsageError(f"--gitlab-schema-version {short_value(schema)} is not a version like 15.0.7")
        if not args.gitlab_report:
            raise UsageError("--gitlab-schema-version applies to --gitlab-report, which was not given")
    annotations = env.get("GITHUB_ACTIONS") == "true"
    if args.dockerfile and not (args.sarif or args.codequality or annotations):
        raise UsageError(
            "--dockerfile applies to --sarif, --codequality and GitHub annotations, and none is written; "
            "drop it, or give --sarif or --codequality"
        )
    check_download_flags(args)
    location = _dockerfile(args.dockerfile)
    render = renderers(location, schema or _GITLAB_SCHEMA)
    inputs = [*args.reports, *(args.baseline or ()), *(args.vex or ())]
    inputs += [*(args.image_metadata or ()), args.policy, args.dockerfile, args.kev, args.epss]
    quiet = stdout_output(args, inputs) is not None
    stdin_once([*args.reports, *(args.baseline or ())])
    not_its_own_baseline(args.reports, args.baseline or ())
    when = evaluation_date(args.today, today)

    policy = load_policy(args.policy)
    check_waiver_horizon(policy, when)
    scans = [read_scan(path, stdin) for path in args.reports]
    baselines = [read_scan(path, stdin) for path in args.baseline or ()]
    scans, vex = with_risk_data(args, scans, env, when)
    scans = with_image_metadata(args.image_metadata, scans)
    from gate.policy.waivers import review_run
    from gate.report.log import render_log

    # Over several images, a waiver one image used is not reported unused by the others.
    decision = review_run(_decide(images_and_baselines(scans, baselines, policy, vex), policy, when))
    (err if quiet else out).write(render_log(decision))
    if annotations:
        from gate.report.annotations import render as render_annotations

        (err if quiet else out).write(render_annotations(decision, location=location))
    for flag, dest, _ in OUTPUTS:
        target = getattr(args, dest)
        if target:
            write_output(flag, target, render[dest](decision), out)
    from gate.policy.decision import Verdict

    return ExitCode.FAIL if decision.verdict is Verdict.FAIL else ExitCode.PASS


def _decide(pairs: Sequence[tuple[Scan, Scan | None]], policy: Policy, when: date) -> Decision:
    """Each image decided (against its baseline, if it has one), the worst verdict wins."""
    from gate.policy.baseline import NO_BASELINE_NOTE, attach, compare, mismatch_note, platformless_note
    from gate.policy.decision import combine
    from gate.policy.engine import evaluate

    decisions = []
    with_baselines = any(base is not None for _, base in pairs)
    for image, base in pairs:
        if base is None:
            decision = evaluate(image, policy, today=when)
            if with_baselines:
                decision = attach(decision, None, note=NO_BASELINE_NOTE)
        else:
            marked, ratchet = compare(
                image, base, honor_scanner_ignores=policy.settings.honor_scanner_ignores
            )
            sharing = [other for other, its in pairs if its is base]
            note = mismatch_note(image, base) or platformless_note(base, sharing)
            decision = attach(evaluate(marked, policy, today=when), ratchet, note=note)
        decisions.append(decision)
    return combine(decisions)


def images_and_baselines(
    scans: Sequence[Scan], baselines: Sequence[Scan], policy: Policy, vex: Sequence[VexDocument] = ()
) -> list[tuple[Scan, Scan | None]]:
    """The reports grouped by image and merged, each with its image's merged baseline (None: no baseline).

    The VEX documents apply to each merged image and baseline: to the findings as the gate decides them (a
    statement about one CVE of a Grype advisory that Trivy reports CVE by CVE suppresses that CVE), and to both
    sides, so the ratchet compares like with like.
    """
    from gate.ingest.merge import group_scans, merge_scans
    from gate.policy.baseline import pair_baselines

    how = policy.merge.severity
    images = [merge_scans(group, severity=how) for group in group_scans(scans)]
    bases = [merge_scans(group, severity=how) for group in group_scans(baselines)]
    if vex:  # the VEX module is imported only when there are documents to apply
        from gate.ingest.vex import apply_vex

        images = [apply_vex(image, vex) for image in images]
        bases = [apply_vex(base, vex) for base in bases]
    return list(zip(images, pair_baselines(images, bases), strict=True))


def renderers(
    location: FileLocation | None = None, gitlab_schema: str = _GITLAB_SCHEMA
) -> dict[str, Callable[[Decision], str | Iterable[bytes]]]:
    """The renderer of each output by destination, options bound; each imports its module only when it runs.

    The renderers of one dict share the results they list, image by image (`Results`).
    """
    made: list[Results] = []

    def results() -> Results:
        """The one `Results` of these renderers, made when the first runs (its module costs start-up time)."""
        if not made:
            from gate.report._common import Results

            made.append(Results())
        return made[0]

    def sarif(decision: Decision) -> list[bytes]:
        from gate.report import sarif

        return sarif.encode(decision, location=location, results=results())

    def summary(decision: Decision) -> str:
        from gate.report import summary

        return summary.render(decision, results=results())

    def comment(decision: Decision) -> str:
        from gate.report import summary

        return summary.render_comment(decision, results=results())

    def junit(decision: Decision) -> str:
        from gate.report import junit

        return junit.render(decision)

    def gitlab_report(decision: Decision) -> list[bytes]:
        from gate.report import gitlab

        return gitlab.encode(decision, schema_version=gitlab_schema, results=results())

    def codequality(decision: Decision) -> list[bytes]:
        from gate.report import codequality

        return codequality.encode(decision, location=location)

    def json_record(decision: Decision) -> Iterable[bytes]:
        from gate.report import record

        return record.encode(decision)

    return {
        "json": json_record,
        "sarif": sarif,
        "summary": summary,
        "comment": comment,
        "junit": junit,
        "gitlab_report": gitlab_report,
        "codequality": codequality,
    }


def not_its_own_baseline(reports: Sequence[str], baselines: Sequence[str]) -> None:
    """Raise UsageError when a report is also a baseline: everything would be "existing" and pass."""
    gated = {Path(path).resolve(): path for path in reports if path != "-"}
    for baseline in baselines:
        report = gated.get(Path(baseline).resolve()) if baseline != "-" else None
        if report is not None:
            raise UsageError(
                f"--baseline {baseline} is the report being gated ({report}); give the report of the target "
                "branch's image as the baseline"
            )


def _dockerfile(path: str | None) -> FileLocation | None:
    """Where findings point with --dockerfile: the file (repository-relative) and its final FROM line."""
    if path is None:
        return None
    from gate.report._common import FileLocation, final_from_line

    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise UsageError(
            f"--dockerfile {path}: no such file; give the Dockerfile the image was built from"
        ) from None
    except OSError as exc:
        raise UsageError(f"--dockerfile {path}: cannot read ({exc.strerror or exc})") from None
    line = final_from_line(text)
    if line is None:
        raise UsageError(f"--dockerfile {path}: no FROM instruction found; give the image's Dockerfile")
    try:  # code scanning resolves the path against the repository root: run gate there
        relative = Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        raise UsageError(
            f"--dockerfile {path}: not under the working directory; run gate from the repository root "
            "and give the Dockerfile's path inside it"
        ) from None
    return FileLocation(path=relative, line=line)


def with_image_metadata(paths: Sequence[str] | None, scans: list[Scan]) -> list[Scan]:
    """The scans with each --image-metadata laid over the reports of its image (it wins over what a report
    embeds), layers attributed."""
    from gate.errors import InputError
    from gate.ingest.layers import attribute

    if paths:
        from gate.ingest.metadata import attach_each, read_metadata

        if "-" in paths:
            raise InputError("--image-metadata does not read stdin; give the metadata file")
        _each_once(paths)
        metadata = [
            read_metadata(
                path,
                read_input(
                    path, "image metadata", written_by="the inspect step wrote it", limit=_METADATA_LIMIT
                ),
            )
            for path in paths
        ]
        scans = attach_each(scans, metadata)
    return [attribute(scan) for scan in scans]


def _each_once(paths: Sequence[str]) -> None:
    """Raise UsageError when one metadata file is given twice: it would be of two images at once."""
    seen: dict[Path, str] = {}
    for path in paths:
        resolved = Path(path).resolve()
        first = seen.get(resolved)
        if first is not None:
            same = "" if first == path else f" (as {first})"
            raise UsageError(
                f"--image-metadata {path} is given twice{same}; give each image's metadata file once"
            )
        seen[resolved] = path
