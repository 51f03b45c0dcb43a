"""The policy's `[settings]` table: missing data, CVSS sources, waiver hygiene, VEX, stale reports and unsupported OSes.

Every key has a default, so a policy without `[settings]` behaves as documented in docs/policy.md.
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field

from gate.model import Finding
from gate.policy.decision import Action

__all__ = ["CvssSource", "MissingIntel", "Settings", "as_gated", "merge_settings"]


class MissingIntel(str, enum.Enum):
    """What a rule does with a finding whose data it needs (KEV, EPSS, CVSS, dates) is unknown."""

    FAIL = "fail"
    """Count the finding as matching (fail closed) and say so in the rule's explanation."""
    WARN = "warn"
    """Do not count it; report it under the `missing-intel` warning instead."""
    SKIP = "skip"
    """Do not count it; add a note to the log and summary."""


class CvssSource(str, enum.Enum):
    """Whose CVSS base score the `cvss` match key compares."""

    HIGHEST = "highest"
    """The highest v3/v4 score of any source (v2 only when no source has v3/v4)."""
    NVD = "nvd"
    """Only NVD's score."""
    VENDOR = "vendor"
    """The vendor's (distro, GHSA, the scanner's primary source) score; NVD's when no vendor scored it."""


class Settings(BaseModel):
    """The `[settings]` table of a policy file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    on_missing_intel: MissingIntel = MissingIntel.FAIL
    """Default for every rule; a rule may override it with its own `on_missing_intel`."""
    cvss_source: CvssSource = CvssSource.HIGHEST
    max_waiver_days: int | None = Field(default=None, ge=1, strict=True)
    """How far after the evaluation date a waiver's `expires` may be; None for no limit."""
    expiry_warning_days: int = Field(default=14, ge=0, strict=True)
    """A used waiver that expires within this many days is `expiring`."""
    waiver_expired: Action = Action.FAIL
    """The action of the built-in `waiver-expired` rule."""
    waiver_expiring: Action = Action.WARN
    """The action of the built-in `waiver-expiring` rule."""
    waiver_unused: Action = Action.WARN
    """The action of the built-in `waiver-unused` rule."""
    vex_under_investigation: Action = Action.WARN
    """The action of the built-in `vex-under-investigation` rule."""
    max_report_age_days: int | None = Field(default=None, ge=0, strict=True)
    """A report made more than this many days before the evaluation date is stale; None: not checked."""
    max_db_age_days: int | None = Field(default=None, ge=0, strict=True)
    """A report whose vulnerability database was built more than this many days before the evaluation date is
    stale (Grype reports say when; Trivy's do not); None: not checked."""
    stale_report: Action = Action.FAIL
    """The action of the built-in `stale-report` rule (used only when one of the two limits above is set)."""
    unsupported_os: Action = Action.OFF
    """The action of the built-in `unsupported-os` rule: the image's OS is past its end of life, or the scanner
    did not check its packages. Off: a note says so (builtin:strict warns)."""
    honor_scanner_ignores: bool = Field(default=True, strict=True)
    """False: findings the scanner's own ignore rules left out (.trivyignore, Grype ignore rules) are gated like
    the others, so only the policy's waivers (reason, expiry) let a finding through. VEX still suppresses."""


def merge_settings(base: Settings, own: Settings) -> Settings:
    """`base` with every key `own` sets explicitly laid over it (how `extends` combines settings)."""
    return base.model_copy(update={key: getattr(own, key) for key in own.model_fields_set})


def as_gated(finding: Finding, honor_scanner_ignores: bool) -> Finding:
    """`finding` as the gate decides on it: with `honor_scanner_ignores` false, a suppression by one of the
    scanner's ignore rules is undone (a VEX statement's is kept); otherwise the finding itself."""
    if honor_scanner_ignores or finding.suppressed is None or not finding.suppressed.by_ignore_rule:
        return finding
    return finding.model_copy(update={"suppressed": None})
