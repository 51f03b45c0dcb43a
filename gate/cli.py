"""The command line: `main(argv) -> int`. The only module that reads files, the clock and the environment.

Exit codes: 0 pass (warnings allowed), 1 the policy failed, 2 usage, policy-file or input error.
Heavy modules (pydantic, jinja2, ...) are imported inside the commands so `gate --version` stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import gc
import os
import re
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
    from gate.report._common import FileLocation

__all__ = ["OUTPUTS", "ExitCode", "main", "run"]


class ExitCode(enum.IntEnum):
    """The process exit codes; a count is never an exit code."""

    PASS = 0
    FAIL = 1
    ERROR = 2


# Output flags: (flag, destination, what it writes). The renderer for each is looked up in _renderers().
OUTPUTS: tuple[tuple[str, str, str], ...] = (
    ("--json", "json", "the decision record (JSON)"),
    ("--sarif", "sarif", "SARIF 2.1.0 for GitHub code scanning"),
    ("--summary", "summary", "Markdown summary (GitHub step summary, GitLab, any viewer; under 1 MiB)"),
    ("--junit", "junit", "JUnit XML"),
    ("--gitlab-report", "gitlab_report", "GitLab container-scanning report"),
    ("--codequality", "codequality", "GitLab code-quality report"),
    ("--comment", "comment", "pull/merge-request comment body (Markdown, at most 65,536 characters)"),
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
    check.add_argument(
        "reports", nargs="+", metavar="REPORT", help="Trivy or Grype JSON report, or '-' for stdin"
    )
    check.add_argument(
        "--policy",
        metavar="PATH|builtin:NAME",
        help="policy file or preset (default: ./gate.toml if present, else builtin:default)",
    )
    check.add_argument(
        "--image-metadata",
        metavar="PATH",
        help="docker/podman inspect, skopeo inspect [--config], or an OCI image config, manifest or index",
    )
    check.add_argument(
        "--baseline",
        metavar="PATH",
        action="append",
        help="an earlier report of the same image: gate only on what is new (repeatable)",
    )
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
        default="15.0.7",
        help="schema version the GitLab report declares (default: 15.0.7; use one your GitLab supports)",
    )
    check.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    _add_risk_arguments(check)

    merge = sub.add_parser(
        "merge",
        help="merge the decision records of a CI matrix into one summary and verdict",
        description="Merge decision records (gate check --json) into one decision: the worst verdict wins.",
        epilog="Exit codes: 0 pass (warnings allowed), 1 the policy failed, 2 usage or input error.",
    )
    merge.add_argument("records", nargs="+", metavar="DECISION.json", help="decision record ('-' for stdin)")
    for flag, dest, what in OUTPUTS:
        text = f"write {what} to PATH ('-' for stdout)"
        if dest == "sarif":
            text = "write one SARIF file per image into the directory PATH (a file when there is one image)"
        merge.add_argument(flag, dest=dest, metavar="PATH", help=text)
    merge.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    _add_platform_commands(sub)
    _add_explain_command(sub)
    policy = sub.add_parser("policy", help="validate, start or describe a policy file")
    policy_sub = policy.add_subparsers(dest="policy_command", metavar="ACTION", parser_class=_Parser)
    validate = policy_sub.add_parser("validate", help="report every problem of a policy file at once")
    validate.add_argument("path", metavar="PATH", help="policy file (or builtin:NAME)")
    init = policy_sub.add_parser("init", help="write a commented starter policy")
    init.add_argument(
        "--output", "-o", metavar="PATH", default="gate.toml", help="where to write ('-' for stdout)"
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    policy_sub.add_parser("schema", help="print the JSON Schema of the policy file")
    _add_import_command(policy_sub)
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
                args = parser.parse_args(args_list)
        except SystemExit as exc:  # --help and --version print and exit 0
            return int(exc.code or 0)
        if args.command == "check":
            return _check(args, out, err, source_in, environ, today)
        if args.command == "policy":
            return _policy(args, out, err, parser)
        if args.command == "merge":
            return _merge(args, out, err, source_in)
        if args.command == "explain":
            return _explain(args, out, err, source_in, environ, today)
        if args.command in ("comment", "outputs"):
            return _platform(args, out, source_in, environ)
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
    # One run allocates hundreds of thousands of small acyclic objects and then exits; the cycle collector
    # would spend up to half the run walking them (docs/performance.md). Reference counting still frees memory.
    gc.disable()
    sys.exit(main())


def _one_line(text: str) -> str:
    return " ".join(text.split()) if "\n" not in text else text.replace("\n", "\n  ")


# --- gate check ----------------------------------------------------------------------------------------


_NOT_YET: dict[str, str] = {}


def _check(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    stdin: TextIO,
    env: dict[str, str] | os._Environ[str],
    today: date | None,
) -> int:
    if not re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", args.gitlab_schema_version):
        raise _UsageError(
            f"--gitlab-schema-version {args.gitlab_schema_version!r} is not a version like 15.0.7"
        )
    location = _dockerfile(args.dockerfile)
    renderers = _renderers(location, args.gitlab_schema_version)
    for dest, flag in _NOT_YET.items():
        if getattr(args, dest):
            raise _UsageError(f"{flag} is not available in gate {__version__} yet; run without it")
    for flag, dest, _ in OUTPUTS:
        if getattr(args, dest) and dest not in renderers:
            raise _UsageError(f"{flag} is not available in gate {__version__} yet; run without it")
    stdout_outputs = [flag for flag, dest, _ in OUTPUTS if getattr(args, dest) == "-"]
    if len(stdout_outputs) > 1:
        raise _UsageError(f"only one output can go to stdout ('-'), not {', '.join(stdout_outputs)}")
    if [*args.reports, *(args.baseline or ())].count("-") > 1:
        raise _UsageError("stdin ('-') can be read only once")
    when = _evaluation_date(args.today, today)

    policy = _load_policy(args.policy)
    _check_waiver_horizon(policy, when)
    scans = _with_risk_data(args, [_read_scan(path, stdin) for path in args.reports], env)
    scans = _with_image_metadata(args.image_metadata, scans)
    baselines = [_read_scan(path, stdin) for path in args.baseline or ()]
    decision = _review_waivers(_decide(scans, baselines, policy, when))

    quiet = any(getattr(args, dest) == "-" for _, dest, _ in OUTPUTS)
    from gate.report.log import render_log

    (err if quiet else out).write(render_log(decision))
    if env.get("GITHUB_ACTIONS") == "true":
        from gate.report.annotations import render as render_annotations

        (err if quiet else out).write(render_annotations(decision, location=location))
    for flag, dest, _ in OUTPUTS:
        target = getattr(args, dest)
        if target:
            _write_output(flag, target, renderers[dest](decision), out)
    from gate.policy.decision import Verdict

    return ExitCode.FAIL if decision.verdict is Verdict.FAIL else ExitCode.PASS


def _decide(scans: Sequence[Scan], baselines: Sequence[Scan], policy: Policy, when: date) -> Decision:
    """Reports grouped by image and merged, each image decided (against its baseline), the worst verdict wins."""
    from gate.ingest.merge import group_scans, merge_scans
    from gate.policy.baseline import attach, compare, mismatch_note, pair_baselines
    from gate.policy.decision import combine
    from gate.policy.engine import evaluate

    how = policy.merge.severity
    images = [merge_scans(group, severity=how) for group in group_scans(scans)]
    bases = [merge_scans(group, severity=how) for group in group_scans(baselines)]
    decisions = []
    for image, base in zip(images, pair_baselines(images, bases), strict=True):
        if base is None:
            decision = evaluate(image, policy, today=when)
            if bases:
                note = "no baseline of this image was given; every finding counts"
                decision = attach(decision, None, note=note)
        else:
            marked, ratchet = compare(image, base)
            decision = attach(evaluate(marked, policy, today=when), ratchet, note=mismatch_note(image, base))
        decisions.append(decision)
    return combine(decisions)


def _renderers(
    location: FileLocation | None = None, gitlab_schema: str = "15.0.7"
) -> dict[str, Callable[[Decision], str]]:
    """The renderer of each output, its options bound; each imports its module only when it runs."""

    def sarif(decision: Decision) -> str:
        from gate.report import sarif

        return sarif.render(decision, location=location)

    def summary(decision: Decision) -> str:
        from gate.report import summary

        return summary.render(decision)

    def comment(decision: Decision) -> str:
        from gate.report import summary

        return summary.render_comment(decision)

    def junit(decision: Decision) -> str:
        from gate.report import junit

        return junit.render(decision)

    def gitlab_report(decision: Decision) -> str:
        from gate.report import gitlab

        return gitlab.render(decision, schema_version=gitlab_schema)

    def codequality(decision: Decision) -> str:
        from gate.report import codequality

        return codequality.render(decision, location=location)

    def json_record(decision: Decision) -> str:
        from gate.report import record

        return record.render(decision)

    return {
        "json": json_record,
        "sarif": sarif,
        "summary": summary,
        "comment": comment,
        "junit": junit,
        "gitlab_report": gitlab_report,
        "codequality": codequality,
    }


def _dockerfile(path: str | None) -> FileLocation | None:
    """Where findings point with --dockerfile: the file (repository-relative) and its final FROM line."""
    if path is None:
        return None
    from gate.report._common import FileLocation, final_from_line

    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise _UsageError(
            f"--dockerfile {path}: no such file; give the Dockerfile the image was built from"
        ) from None
    except OSError as exc:
        raise _UsageError(f"--dockerfile {path}: cannot read ({exc.strerror or exc})") from None
    line = final_from_line(text)
    if line is None:
        raise _UsageError(f"--dockerfile {path}: no FROM instruction found; give the image's Dockerfile")
    try:  # code scanning resolves the path against the repository root: run gate there
        relative = Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        raise _UsageError(
            f"--dockerfile {path}: not under the working directory; run gate from the repository root "
            "and give the Dockerfile's path inside it"
        ) from None
    return FileLocation(path=relative, line=line)


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


def _with_image_metadata(path: str | None, scans: list[Scan]) -> list[Scan]:
    """The scans with --image-metadata laid over them (it wins over what a report embeds), layers attributed."""
    from gate.errors import InputError
    from gate.ingest.layers import attribute
    from gate.ingest.metadata import attach, read_metadata

    if path is not None:
        if path == "-":
            raise InputError("--image-metadata does not read stdin; give the metadata file")
        try:
            data = Path(path).read_bytes()
        except IsADirectoryError:
            raise InputError(f"{path}: is a directory; give the image metadata file") from None
        except FileNotFoundError:
            raise InputError(
                f"{path}: no such file; check the path or that the inspect step wrote it"
            ) from None
        except OSError as exc:
            raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
        scans = attach(scans, read_metadata(path, data))
    return [attribute(scan) for scan in scans]


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


_WRITE_SLICE = 1 << 20


def _write_output(flag: str, target: str, text: str, out: TextIO) -> None:
    from gate.errors import OutputError

    if target == "-":
        out.write(text)
        return
    try:
        path = Path(target)
        if path.parent != Path():
            path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            # In slices: encoding a 100 MB record in one piece would hold a second copy of it in memory.
            for start in range(0, len(text), _WRITE_SLICE):
                handle.write(text[start : start + _WRITE_SLICE])
    except OSError as exc:
        raise OutputError(f"{flag} {target}: cannot write ({exc.strerror or exc})") from None


# --- gate merge ----------------------------------------------------------------------------------------


def _merge(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    """`gate merge`: decision records of a matrix -> one decision, its outputs, and its exit code."""
    if args.sarif == "-":
        raise _UsageError("--sarif takes a directory (one SARIF file per image), not stdout ('-')")
    renderers = _renderers()
    for flag, dest, _ in OUTPUTS:
        if getattr(args, dest) and dest not in renderers:
            raise _UsageError(f"{flag} is not available in gate {__version__} yet; run without it")
    stdout_outputs = [flag for flag, dest, _ in OUTPUTS if getattr(args, dest) == "-"]
    if len(stdout_outputs) > 1:
        raise _UsageError(f"only one output can go to stdout ('-'), not {', '.join(stdout_outputs)}")
    if args.records.count("-") > 1:
        raise _UsageError("stdin ('-') can be read only once")

    from gate.errors import InputError
    from gate.policy.decision import Decision, ImageDecision, Verdict
    from gate.report.log import render_log
    from gate.report.record import load_record

    decisions = []
    seen: list[tuple[ImageDecision, str]] = []
    for path in args.records:
        decision = load_record(_read_bytes(path, stdin), "<stdin>" if path == "-" else path)
        for image in decision.images:
            earlier = next((where for other, where in seen if other == image), None)
            if earlier is not None:
                raise InputError(
                    f"{path}: the decision for {image.name!r} is also in {earlier}; give each record once "
                    "(is the merged record among the inputs?)"
                )
            seen.append((image, path))
        decisions.append(decision)
    merged = Decision(
        verdict=Verdict.worst(d.verdict for d in decisions),
        today=max(d.today for d in decisions),
        policy=", ".join(dict.fromkeys(d.policy for d in decisions)),
        images=tuple(image for d in decisions for image in d.images),
    )
    quiet = any(getattr(args, dest) == "-" for _, dest, _ in OUTPUTS)
    log = err if quiet else out
    log.write(render_log(merged))
    for flag, dest, _ in OUTPUTS:
        target = getattr(args, dest)
        if not target:
            continue
        if dest == "sarif":
            for path, single in _sarif_targets(target, merged):
                _write_output(flag, path, renderers[dest](single), out)
                log.write(f"gate: wrote {path}\n")
        else:
            _write_output(flag, target, renderers[dest](merged), out)
    return ExitCode.FAIL if merged.verdict is Verdict.FAIL else ExitCode.PASS


def _read_bytes(path: str, stdin: TextIO) -> bytes:
    from gate.errors import InputError

    if path == "-":
        return stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("utf-8")
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory; give the decision record file") from None
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; check the path or that the job uploaded it") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _sarif_targets(target: str, decision: Decision) -> list[tuple[str, Decision]]:
    """Where each image's SARIF goes: the file `target` for one image, else `target/<image>.sarif`."""
    import re

    singles = [decision.model_copy(update={"verdict": i.verdict, "images": (i,)}) for i in decision.images]
    folder = Path(target)
    if len(singles) == 1 and not target.endswith(("/", os.sep)) and not folder.is_dir():
        return [(target, singles[0])]
    out: list[tuple[str, Decision]] = []
    used: set[str] = set()
    for single in singles:
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", single.images[0].name).strip("-.")[:100] or "image"
        name, n = stem, 1
        while name.lower() in used:
            n += 1
            name = f"{stem}-{n}"
        used.add(name.lower())
        out.append((str(folder / f"{name}.sarif"), single))
    return out


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
    if args.policy_command == "import":
        return _policy_import(args, out, err)
    raise _UsageError("choose an action: validate, init, schema or import")


# --- gate comment / gate outputs (CI platforms) -------------------------------------------------------


def _add_platform_commands(sub: argparse._SubParsersAction[_Parser]) -> None:
    """`gate comment` and `gate outputs`: what the GitHub Action and the GitLab include call."""
    comment = sub.add_parser(
        "comment",
        help="create or update the pull-request comment (GitHub) or merge-request note (GitLab)",
        description=(
            "Post the body that gate check --comment wrote as one comment per key, found again by its hidden "
            "marker line and updated in place. Reads the platform's CI variables (GITHUB_*, CI_*). A token "
            "that may not write (HTTP 403: fork or Dependabot pull request, CI_JOB_TOKEN), a missing token or a "
            "run outside a pull/merge request skips the comment with a notice and exit 0."
        ),
        epilog="Exit codes: 0 posted, updated or skipped; 2 usage, input or API error.",
    )
    comment.add_argument("platform", choices=("github", "gitlab"), help="where to post")
    comment.add_argument(
        "--body",
        required=True,
        metavar="FILE",
        help="the comment body (gate check --comment); '-' reads stdin",
    )
    comment.add_argument(
        "--key", help="the comment's key (default: the body's <!-- container-gate:KEY --> line)"
    )
    comment.add_argument(
        "--scope", help="prefix the key, e.g. with the workflow name, so each workflow keeps its own comment"
    )
    comment.add_argument(
        "--update-only", action="store_true", help="update an existing comment, never create one"
    )
    comment.add_argument(
        "--token-env",
        metavar="NAME",
        help="environment variable that holds the token (default: GITHUB_TOKEN; GitLab: GATE_GITLAB_TOKEN)",
    )
    comment.add_argument(
        "--author",
        metavar="LOGIN",
        help="GitHub: update only a comment by LOGIN (default: github-actions[bot]; '' for anyone)",
    )
    comment.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)

    outputs = sub.add_parser(
        "outputs",
        help="write GitHub step outputs or a GitLab dotenv report from a decision record",
        description=(
            "GitHub: append verdict, failed-count and warned-count (heredoc form, random delimiter) to "
            "$GITHUB_OUTPUT. GitLab: write GATE_VERDICT, GATE_FAILED_COUNT and GATE_WARNED_COUNT as a dotenv "
            "report for the enforce job."
        ),
        epilog="Exit codes: 0 written; 2 usage, input or output error.",
    )
    outputs.add_argument("platform", choices=("github", "gitlab"), help="which format")
    outputs.add_argument("--decision", metavar="FILE", help="the decision record (gate check --json)")
    outputs.add_argument(
        "--set",
        dest="values",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="add or override one value (repeatable)",
    )
    outputs.add_argument(
        "--output",
        metavar="PATH",
        help="GitHub: file to append to (default: $GITHUB_OUTPUT); GitLab: dotenv file (default: container-gate.env)",
    )
    outputs.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def _platform(
    args: argparse.Namespace, out: TextIO, stdin: TextIO, env: dict[str, str] | os._Environ[str]
) -> int:
    """`gate comment` and `gate outputs`."""
    if args.command == "outputs":
        return _outputs(args, out, stdin, env)
    from gate.errors import InputError
    from gate.platform import sticky

    source = "<stdin>" if args.body == "-" else args.body
    text = _read_platform_file(args.body, stdin, "comment body").decode("utf-8", "replace")
    key = args.key or sticky.body_key(text)
    if key is None:
        raise InputError(
            f"{source}: no '<!-- container-gate:KEY -->' line; write the body with gate check --comment "
            "or pass --key"
        )
    if args.scope:
        key = f"{args.scope}/{key}"
    body = sticky.with_key(text, key)
    if args.platform == "github":
        return _comment_github(args, body, out, env)
    return _comment_gitlab(args, body, out, env)


def _comment_github(
    args: argparse.Namespace, body: str, out: TextIO, env: dict[str, str] | os._Environ[str]
) -> int:
    import json

    from gate.platform import github, sticky

    event: object = {}
    event_path = env.get("GITHUB_EVENT_PATH", "")
    if event_path:
        with contextlib.suppress(OSError, ValueError):
            event = json.loads(Path(event_path).read_bytes())
    number = github.pull_request_number(
        env.get("GITHUB_EVENT_NAME", ""), event if isinstance(event, dict) else {}, env.get("GITHUB_REF", "")
    )
    if number is None:
        out.write("gate: not a pull request run; no PR comment\n")
        return ExitCode.PASS
    token_variable = args.token_env or "GITHUB_TOKEN"
    token = env.get(token_variable, "")
    if not token:
        out.write(
            github.notice(f"PR comment skipped: ${token_variable} is empty (pass the github-token input)")
        )
        return ExitCode.PASS
    repository = env.get("GITHUB_REPOSITORY", "")
    link = github.run_url(env.get("GITHUB_SERVER_URL", ""), repository, env.get("GITHUB_RUN_ID", ""))
    where = f"[the workflow run's summary]({link})" if link else "the workflow run's summary"
    body = sticky.fit(
        body, github.COMMENT_LIMIT, f"**Cut at GitHub's comment limit.** The full report is in {where}."
    )
    session = sticky.new_session()
    try:
        outcome = github.upsert_comment(
            session,
            api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
            repository=repository,
            number=number,
            token=token,
            body=body,
            author=github.BOT_LOGIN if args.author is None else args.author,
            update_only=args.update_only,
        )
    finally:
        session.close()
    if outcome.status == "forbidden":
        out.write(github.notice(outcome.message))
    else:
        out.write(f"gate: {outcome.message}" + (f": {outcome.url}" if outcome.url else "") + "\n")
    return ExitCode.PASS


def _comment_gitlab(
    args: argparse.Namespace, body: str, out: TextIO, env: dict[str, str] | os._Environ[str]
) -> int:
    from gate.platform import gitlab, sticky

    iid = env.get("CI_MERGE_REQUEST_IID", "")
    if not iid.isdigit():
        out.write("gate: not a merge request pipeline; no MR note\n")
        return ExitCode.PASS
    token_variable = args.token_env or "GATE_GITLAB_TOKEN"
    token = env.get(token_variable, "")
    if not token:
        out.write(f"gate: MR note skipped: ${token_variable} is empty\n")
        return ExitCode.PASS
    api_url, project = env.get("CI_API_V4_URL", ""), env.get("CI_PROJECT_ID", "")
    if not api_url or not project:
        raise _UsageError("CI_API_V4_URL and CI_PROJECT_ID are not set; run inside GitLab CI")
    job_url = env.get("CI_JOB_URL", "")
    where = (
        f"[the job's artifacts]({job_url}/artifacts/browse)"
        if job_url.startswith("http")
        else "the job's artifacts"
    )
    body = sticky.fit(
        body, gitlab.NOTE_LIMIT, f"**Cut at GitLab's note limit.** The full report is in {where}."
    )
    session = sticky.new_session()
    try:
        outcome = gitlab.upsert_note(
            session,
            api_url=api_url,
            project_id=project,
            merge_request_iid=int(iid),
            token=token,
            token_variable=token_variable,
            body=body,
            update_only=args.update_only,
        )
    finally:
        session.close()
    out.write(f"gate: {outcome.message}\n")
    return ExitCode.PASS


def _outputs(
    args: argparse.Namespace, out: TextIO, stdin: TextIO, env: dict[str, str] | os._Environ[str]
) -> int:
    import json
    import secrets

    from gate.errors import InputError, OutputError
    from gate.platform import github, gitlab

    values: dict[str, str] = {}
    if args.decision:
        source = "<stdin>" if args.decision == "-" else args.decision
        try:
            record = json.loads(_read_platform_file(args.decision, stdin, "decision record"))
        except ValueError:
            raise InputError(f"{source}: not JSON; give the file gate check --json wrote") from None
        if not isinstance(record, dict):
            raise InputError(f"{source}: not a decision record (write one with gate check --json)")
        if args.platform == "github":
            values.update(github.decision_outputs(record, source))
        else:
            values.update(gitlab.decision_variables(record, source))
    for item in args.values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise _UsageError(f"--set {item!r}: use NAME=VALUE")
        values[name] = value
    if not values:
        raise _UsageError("nothing to write: pass --decision or --set")
    if args.platform == "github":
        target = args.output or env.get("GITHUB_OUTPUT", "")
        if not target:
            raise _UsageError("GITHUB_OUTPUT is not set; pass --output or run inside GitHub Actions")
        text, mode = github.output_text(values, f"ghadelimiter_{secrets.token_hex(16)}"), "a"
    else:
        target = args.output or "container-gate.env"
        text, mode = gitlab.dotenv_text(values), "w"
    try:
        with open(target, mode, encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write ({exc.strerror or exc})") from None
    out.write(f"gate: wrote {', '.join(values)}\n")
    return ExitCode.PASS


def _read_platform_file(path: str, stdin: TextIO, what: str) -> bytes:
    from gate.errors import InputError

    if path == "-":
        return stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("utf-8")
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; check the path to the {what}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None


# --- risk data: KEV/EPSS (--kev, --epss), VEX (--vex); gate explain; gate policy import ------------------


def _add_risk_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that bring in threat intelligence and VEX (gate check and gate explain)."""
    parser.add_argument(
        "--kev",
        metavar="PATH|URL",
        help="CISA KEV catalog (known_exploited_vulnerabilities.json), a file or an https:// URL",
    )
    parser.add_argument(
        "--epss", metavar="PATH|URL", help="FIRST EPSS scores (epss_scores-*.csv or .csv.gz), a file or a URL"
    )
    parser.add_argument(
        "--offline", action="store_true", help="never download: use --kev/--epss URLs only from the cache"
    )
    parser.add_argument(
        "--intel-cache",
        metavar="DIR",
        help="where downloaded feeds are cached (default: $XDG_CACHE_HOME/container-gate, ~/.cache/container-gate)",
    )
    parser.add_argument(
        "--intel-max-age",
        metavar="DAYS",
        type=_positive_days,
        default=7,
        help="never use a cached feed older than this (default: 7)",
    )
    parser.add_argument(
        "--intel-retries",
        metavar="N",
        type=int,
        choices=range(11),
        default=2,
        help="retries after a failed download (timeouts, connection errors, HTTP 429/5xx; default: 2)",
    )
    parser.add_argument(
        "--vex",
        metavar="PATH",
        action="append",
        help="OpenVEX or CycloneDX VEX document (repeatable): not_affected/fixed suppress, with the justification",
    )


def _positive_days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1 day")
    return value


def _review_waivers(decision: Decision) -> Decision:
    """Over several images, a waiver one image used is not reported unused by the others."""
    from gate.policy.waivers import review_run

    return review_run(decision)


def _check_waiver_horizon(policy: Policy, when: date) -> None:
    from gate.policy.waivers import check_horizon

    check_horizon(policy, today=when)


def _with_risk_data(
    args: argparse.Namespace, scans: list[Scan], env: dict[str, str] | os._Environ[str]
) -> list[Scan]:
    """The scans with KEV/EPSS data and VEX statements applied. Raises InputError for bad files."""
    if not (args.kev or args.epss or args.vex or any(s.scanner == "grype" for s in scans)):
        return scans
    from datetime import timedelta

    from gate.ingest.vex import apply_vex, read_vex
    from gate.intel import (
        EpssData,
        Fetcher,
        FetchOptions,
        IntelUnavailable,
        KevCatalog,
        enrich,
        is_url,
        load_epss,
        load_kev,
        open_session,
    )

    documents = [read_vex(path, _read_bytes_of(path, "VEX document")) for path in args.vex or ()]
    notes: list[str] = []
    kev: KevCatalog | None = None
    epss: EpssData | None = None
    urls = [s for s in (args.kev, args.epss) if s and is_url(s)]
    session = open_session(f"container-gate/{__version__}") if urls else None
    try:
        fetcher = None
        if session is not None:
            import time

            options = FetchOptions(
                cache_dir=_intel_cache(args.intel_cache, env),
                max_age=timedelta(days=args.intel_max_age),
                offline=args.offline,
                retries=args.intel_retries,
            )
            now = datetime.now(timezone.utc)
            fetcher = Fetcher(
                session, options, now=now, sleep=time.sleep, user_agent=f"container-gate/{__version__}"
            )
        unavailable = "{} data unavailable: {}; rules that need it follow on_missing_intel"
        if args.kev:
            try:
                got_kev = load_kev(args.kev, fetcher=fetcher)
                kev = got_kev.value
                notes += [f"KEV: {got_kev.note}"] if got_kev.note else []
            except IntelUnavailable as exc:
                notes.append(unavailable.format("KEV", exc))
        if args.epss:
            try:
                got_epss = load_epss(args.epss, fetcher=fetcher)
                epss = got_epss.value
                notes += [f"EPSS: {got_epss.note}"] if got_epss.note else []
            except IntelUnavailable as exc:
                notes.append(unavailable.format("EPSS", exc))
    finally:
        if session is not None:
            session.close()
    return [apply_vex(enrich(scan, kev=kev, epss=epss, notes=notes), documents) for scan in scans]


def _intel_cache(flag: str | None, env: dict[str, str] | os._Environ[str]) -> Path | None:
    """--intel-cache, else $XDG_CACHE_HOME/container-gate, else $HOME/.cache/container-gate, else no cache."""
    if flag:
        return Path(flag)
    base = env.get("XDG_CACHE_HOME") or (str(Path(env["HOME"]) / ".cache") if env.get("HOME") else "")
    return Path(base) / "container-gate" if base else None


def _read_bytes_of(path: str, what: str) -> bytes:
    from gate.errors import InputError

    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory; give the {what} file") from None
    except FileNotFoundError:
        raise InputError(f"{path}: no such file; check the path to the {what}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from None


def _add_explain_command(sub: argparse._SubParsersAction[_Parser]) -> None:
    explain = sub.add_parser(
        "explain",
        help="explain one finding: its data, each rule that considered it, waivers and VEX",
        description=(
            "Print, for every finding with this ID (or alias) in the reports: the data the gate has (severity, "
            "fix, CVSS, KEV, EPSS, dates), each rule of the policy and why it matched or not, and any waiver, "
            "VEX statement or scanner suppression."
        ),
        epilog="Exit codes: 0 explained, 2 the ID is in no report, or a usage, policy or input error.",
    )
    explain.add_argument(
        "id", metavar="ID", help="a CVE, GHSA or other vulnerability ID, or a secret/misconfig rule ID"
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
    _add_risk_arguments(explain)


def _explain(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    stdin: TextIO,
    env: dict[str, str] | os._Environ[str],
    today: date | None,
) -> int:
    from gate.errors import InputError
    from gate.explain import explain
    from gate.ingest.merge import group_scans, merge_scans

    if args.reports.count("-") > 1:
        raise _UsageError("stdin ('-') can be read only once")
    when = _evaluation_date(args.today, today)
    policy = _load_policy(args.policy)
    _check_waiver_horizon(policy, when)
    scans = _with_risk_data(args, [_read_scan(path, stdin) for path in args.reports], env)
    images = [merge_scans(group, severity=policy.merge.severity) for group in group_scans(scans)]
    text = explain(args.id, images, policy, today=when)
    if text is None:
        count = sum(len(s.findings) for s in images)
        raise InputError(f"{args.id}: not in the reports ({count} findings searched); check the ID")
    out.write(text)
    return ExitCode.PASS


def _add_import_command(policy_sub: argparse._SubParsersAction[_Parser]) -> None:
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


def _policy_import(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from datetime import timedelta

    from gate.policy.importers import import_ignore_file, render_waivers

    when = _evaluation_date(args.today, None)
    expires = None
    if args.expires:
        text = args.expires.strip()
        if text.endswith("d") and text[:-1].isdigit():
            expires = when + timedelta(days=int(text[:-1]))
        else:
            try:
                expires = date.fromisoformat(text)
            except ValueError:
                raise _UsageError(
                    f"--expires {text!r} is not a date (YYYY-MM-DD) or a day count (90d)"
                ) from None
    if args.reason is not None and not args.reason.strip():
        raise _UsageError("--reason must say why the findings are acceptable")
    imported = import_ignore_file(
        args.file,
        _read_bytes_of(args.file, "ignore file"),
        reason=args.reason,
        expires=expires,
        today=when,
        owner=args.owner,
        ticket=args.ticket,
    )
    for line in imported.skipped:
        err.write(f"gate: warning: {args.file}: {line}\n")
    for line in imported.expired:
        err.write(f"gate: warning: {args.file}: {line}; it will fail as waiver-expired\n")
    text = render_waivers(imported)
    if args.output == "-":
        out.write(text)
    else:
        target = Path(args.output)
        if target.exists() and not args.force:
            raise _UsageError(
                f"{target} exists; pass --force to overwrite it (or print to stdout and append)"
            )
        _write_output("--output", args.output, text, out)
    err.write(
        f"gate: imported {len(imported.waivers)} waiver{'s' if len(imported.waivers) != 1 else ''} from "
        f"{args.file} ({imported.kind}); {len(imported.skipped)} skipped\n"
    )
    return ExitCode.PASS
