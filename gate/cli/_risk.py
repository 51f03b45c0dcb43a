"""Risk data for gate check and gate explain: KEV and EPSS (--kev, --epss, cached downloads) and VEX (--vex)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from gate import __version__
from gate.cli._common import UsageError
from gate.cli._io import read_input
from gate.errors import short_value

if TYPE_CHECKING:
    from gate.ingest.vex import VexDocument
    from gate.intel import EpssData, Fetched, KevCatalog
    from gate.model import Scan

__all__ = ["add_risk_arguments", "check_download_flags", "with_risk_data"]

_MAX_AGE_DAYS = 7
_MAX_DAYS = 36_500
"""The most --intel-max-age takes: a century."""
_RETRIES = 2
_VEX_LIMIT = (256 * 1024 * 1024, "a VEX document")
"""A vendor's VEX document for a whole image is megabytes; a bigger file (a device that never ends) is not one."""


def add_risk_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that bring in threat intelligence and VEX (gate check and gate explain)."""
    parser.add_argument(
        "--kev",
        metavar="PATH|URL",
        help="CISA KEV catalog (known_exploited_vulnerabilities.json), a file or an https:// URL",
    )
    parser.add_argument(
        "--epss",
        metavar="PATH|URL",
        help="FIRST EPSS scores (epss_scores-*.csv or .csv.gz), a file or an https:// URL",
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
        help=f"never use a cached feed older than this; note a --kev/--epss file whose own date is older "
        f"(default: {_MAX_AGE_DAYS})",
    )
    parser.add_argument(
        "--intel-retries",
        metavar="N",
        type=int,
        choices=range(11),
        help=f"retries after a failed download (timeouts, connection errors, HTTP 429/5xx; default: {_RETRIES})",
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
        raise argparse.ArgumentTypeError(f"{short_value(text)} is not a whole number of days") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1 day")
    if value > _MAX_DAYS:  # a longer span is no limit, and past timedelta's range it was an internal error
        raise argparse.ArgumentTypeError(f"must be at most {_MAX_DAYS:,} days")
    return value


def check_download_flags(args: argparse.Namespace) -> None:
    """Raise UsageError for an empty --kev or --epss, a --kev or --epss URL of plain http to another machine, a
    download flag given when --kev and --epss name no URL, --intel-retries with --offline, or --intel-max-age
    (which also dates files) without either: it would do nothing."""
    for flag, spec in (("--kev", args.kev), ("--epss", args.epss)):
        # An unset CI variable (--kev "$KEV_FILE") would otherwise drop the feed, and rules that need it pass.
        if spec is not None and not spec.strip():
            raise UsageError(f"{flag}: empty; give the feed's file or https:// URL (is a variable unset?)")
    if args.kev or args.epss:  # with either, the feeds' modules are imported next anyway
        from gate.intel.fetch import plain_http_elsewhere, redact, url_problem
        from gate.intel.load import is_url

        for flag, spec in (("--kev", args.kev), ("--epss", args.epss)):
            if spec and is_url(spec) and (problem := url_problem(spec)):
                shown = redact(spec)  # "(a URL that cannot be parsed)" when it cannot
                raise UsageError(
                    f"{flag}{'' if shown.startswith('(') else ' ' + shown}: {problem}; check the URL"
                )
            if spec and plain_http_elsewhere(spec):
                raise UsageError(
                    f"{flag} {redact(spec)}: plain http can be changed on the way, and a feed with entries taken "
                    "out passes what should fail; give an https:// URL, or download the file and give its path"
                )
    if args.intel_max_age is not None and not (args.kev or args.epss):
        raise UsageError(
            "--intel-max-age applies to --kev and --epss, and neither is given; drop it, or give one"
        )
    given = [
        flag
        for flag, value in (
            ("--offline", args.offline or None),
            ("--intel-cache", args.intel_cache),
            ("--intel-retries", args.intel_retries),
        )
        if value is not None
    ]
    if not given:
        return
    if args.offline and args.intel_retries is not None:
        raise UsageError("--intel-retries applies to downloads and --offline makes none; drop one of them")
    from gate.intel.load import is_url

    if not any(s and is_url(s) for s in (args.kev, args.epss)):
        raise UsageError(
            f"{given[0]} applies to downloads and neither --kev nor --epss is a URL; drop it, or give an "
            "https:// URL"
        )


def with_risk_data(
    args: argparse.Namespace, scans: list[Scan], env: Mapping[str, str], today: date
) -> tuple[list[Scan], list[VexDocument]]:
    """The scans with KEV/EPSS data applied, and the VEX documents (--vex) read and checked.

    The documents are applied to each image once its reports are merged, and to its baseline
    (gate.cli.check.images_and_baselines). Raises InputError for bad files.
    """
    if not (args.kev or args.epss or args.vex):
        return scans, []
    from datetime import timedelta

    from gate.ingest.vex import check_dates, read_vex
    from gate.intel import (
        Fetcher,
        FetchOptions,
        IntelUnavailable,
        enrich,
        is_url,
        load_epss,
        load_kev,
        open_session,
    )

    documents = [
        read_vex(path, read_input(path, "VEX document", limit=_VEX_LIMIT)) for path in args.vex or ()
    ]
    check_dates(documents, today)
    notes: list[str] = []
    unavailable: list[str] = []
    kev: KevCatalog | None = None
    epss: EpssData | None = None
    max_days = args.intel_max_age or _MAX_AGE_DAYS
    urls = [s for s in (args.kev, args.epss) if s and is_url(s)]
    session = open_session(f"container-gate/{__version__}") if urls else None
    try:
        fetcher = None
        if session is not None:
            import time

            options = FetchOptions(
                cache_dir=_intel_cache(args.intel_cache, env),
                max_age=timedelta(days=max_days),
                offline=args.offline,
                retries=_RETRIES if args.intel_retries is None else args.intel_retries,
            )
            now = datetime.now(timezone.utc)
            fetcher = Fetcher(
                session, options, now=now, sleep=time.sleep, user_agent=f"container-gate/{__version__}"
            )
        failed = "{} data unavailable: {}; rules that need it follow on_missing_intel"
        if args.kev:
            try:
                got_kev = load_kev(args.kev, fetcher=fetcher)
                kev = got_kev.value
                notes += [f"KEV: {got_kev.note}"] if got_kev.note else []
                notes += _file_age("KEV", got_kev, today, max_days)
            except IntelUnavailable as exc:
                notes.append(failed.format("KEV", exc))
                unavailable.append("--kev")
        if args.epss:
            try:
                got_epss = load_epss(args.epss, fetcher=fetcher)
                epss = got_epss.value
                notes += [f"EPSS: {got_epss.note}"] if got_epss.note else []
                notes += _file_age("EPSS", got_epss, today, max_days)
            except IntelUnavailable as exc:
                notes.append(failed.format("EPSS", exc))
                unavailable.append("--epss")
    finally:
        if session is not None:
            session.close()
    return [
        enrich(scan, kev=kev, epss=epss, notes=notes, unavailable=unavailable) for scan in scans
    ], documents


def _file_age(
    name: str, fetched: Fetched[KevCatalog] | Fetched[EpssData], today: date, max_days: int
) -> list[str]:
    """The note on a feed file's own date, when it needs one. A download's age is the cache's to check."""
    from gate.intel import file_age_note

    if fetched.origin != "file":
        return []
    note = file_age_note(fetched.value, today=today, max_days=max_days)
    return [f"{name}: {note}"] if note else []


def _intel_cache(flag: str | None, env: Mapping[str, str]) -> Path | None:
    """--intel-cache, else $XDG_CACHE_HOME/container-gate, else $HOME/.cache/container-gate, else no cache."""
    if flag:
        return Path(flag)
    base = env.get("XDG_CACHE_HOME") or (str(Path(env["HOME"]) / ".cache") if env.get("HOME") else "")
    return Path(base) / "container-gate" if base else None
