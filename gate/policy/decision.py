"""The decision: what the engine hands to every renderer (the engine -> report contract).

A Decision holds one ImageDecision per image. Each says which rule caught each finding, which waiver let
a finding through, which waivers expired or went unused, and the verdict. Renderers read only this.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gate.model import Finding, Image, Severity

__all__ = [
    "BUILTIN_RULE_IDS",
    "DATABASE_AGE",
    "MISSING_INTEL_RULE",
    "OS_END_OF_LIFE",
    "OS_NOT_SCANNED",
    "REPORT_AGE",
    "STALE_REPORT_RULE",
    "UNSUPPORTED_OS_RULE",
    "VEX_RULE",
    "WAIVER_RULE_IDS",
    "Action",
    "Decision",
    "FindingOutcome",
    "ImageDecision",
    "Ratchet",
    "RuleResult",
    "Trend",
    "Verdict",
    "Violation",
    "WaivedFinding",
    "WaiverState",
    "WaiverStatus",
    "combine",
]


class Verdict(str, enum.Enum):
    """pass < warn < fail."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"

    @property
    def rank(self) -> int:
        """0 pass, 1 warn, 2 fail."""
        return ("pass", "warn", "fail").index(self.value)

    @classmethod
    def worst(cls, verdicts: Iterable[Verdict]) -> Verdict:
        """The most severe verdict; pass for none."""
        return max(verdicts, key=lambda v: v.rank, default=cls.PASS)


class Action(str, enum.Enum):
    """What a rule does when it triggers."""

    FAIL = "fail"
    WARN = "warn"
    INFO = "info"
    OFF = "off"

    @property
    def verdict(self) -> Verdict:
        """The verdict a triggered rule with this action gives."""
        return {Action.FAIL: Verdict.FAIL, Action.WARN: Verdict.WARN}.get(self, Verdict.PASS)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RuleResult(_Frozen):
    """How one rule of the policy came out for one image."""

    rule_id: str
    title: str
    help: str = ""
    action: Action
    subject: str
    """`findings` for rules with `match`, the image check ID (e.g. `non-root-user`) for image rules, `waivers` or
    `reports` for the built-in rules about waivers, about the reports' age and about the OS they found."""
    matched: int = 0
    """Findings that matched (waived ones excluded)."""
    max: int | None = None
    """The budget: the rule triggers only when more than `max` findings match."""
    triggered: bool = False
    explanation: str = ""
    """One sentence saying why the rule triggered or passed."""
    existing: int = 0
    """Findings that matched but were in the baseline, so were not counted (`scope = "new"`)."""

    @property
    def verdict(self) -> Verdict:
        """The verdict this rule gives."""
        return self.action.verdict if self.triggered else Verdict.PASS

    @property
    def name(self) -> str:
        """The rule ID, with the image check it ran when the ID does not say it (`base (non-root-user)`).

        A rule with several image checks gives one result per check; without the check they read alike.
        """
        if self.subject in ("findings", "waivers", "reports") or self.subject == self.rule_id:
            return self.rule_id
        return f"{self.rule_id} ({self.subject})"


class Violation(_Frozen):
    """One (rule, finding) that did not pass; image checks have no finding."""

    rule_id: str
    action: Action
    id: str
    """The finding's ID, or the image check's ID."""
    severity: Severity
    message: str
    """Why it did not pass, in one sentence."""
    finding: Finding | None = None
    waiver_index: int | None = Field(default=None, ge=0, strict=True)
    """For the built-in waiver rules: the `index` of the WaiverStatus (of this image) the violation is about;
    None for other rules, and in records of older gates."""

    @property
    def package(self) -> str | None:
        """The package name, if there is one."""
        return self.finding.package.name if self.finding and self.finding.package else None

    @property
    def version(self) -> str | None:
        """The installed version, if there is one."""
        return self.finding.package.version if self.finding and self.finding.package else None

    @property
    def about(self) -> Literal["finding", "waiver", "report", "image"]:
        """What the violation is about: a finding, a waiver (the built-in waiver rules), a report (the built-in
        stale-report rule) or the image (an image check, or the built-in unsupported-os rule). The built-in rules'
        IDs are reserved: no policy rule takes one."""
        if self.finding is not None:
            return "finding"
        if self.rule_id in _WAIVER_RULES:
            return "waiver"
        return "report" if self.rule_id == STALE_REPORT_RULE else "image"


class WaivedFinding(_Frozen):
    """A finding a waiver let through."""

    finding: Finding
    waiver_id: str
    reason: str
    expires: date
    owner: str = ""
    rules: tuple[str, ...] = ()
    """Rules that would have caught it without the waiver."""


class WaiverState(str, enum.Enum):
    """Where a waiver stands on the evaluation date."""

    USED = "used"
    EXPIRING = "expiring"
    """Used, and expires within the warning window."""
    EXPIRED = "expired"
    UNUSED = "unused"


MISSING_INTEL_RULE = "missing-intel"
"""ID of the built-in rule that warns about findings a rule could not check (on_missing_intel = "warn")."""
VEX_RULE = "vex-under-investigation"
"""ID of the built-in rule that reports findings whose VEX status is under_investigation."""
WAIVER_RULE_IDS = {
    WaiverState.EXPIRED: "waiver-expired",
    WaiverState.EXPIRING: "waiver-expiring",
    WaiverState.UNUSED: "waiver-unused",
}
"""Waiver state -> ID of the built-in rule that reports waivers in that state."""
STALE_REPORT_RULE = "stale-report"
"""ID of the built-in rule that reports reports (or their databases) older than the policy allows."""
REPORT_AGE = "report-age"
"""`stale-report` violation ID: the report is older than `max_report_age_days` (or does not say when)."""
DATABASE_AGE = "database-age"
"""`stale-report` violation ID: the report's vulnerability database is older than `max_db_age_days`."""
UNSUPPORTED_OS_RULE = "unsupported-os"
"""ID of the built-in rule that reports an image OS past its end of life, or whose packages were not scanned."""
OS_END_OF_LIFE = "os-end-of-life"
"""`unsupported-os` violation ID: the scanner says the OS release gets no more security fixes."""
OS_NOT_SCANNED = "os-not-scanned"
"""`unsupported-os` violation ID: the scanner detected the OS but did not check its packages."""
_WAIVER_RULES = frozenset(WAIVER_RULE_IDS.values())
BUILTIN_RULE_IDS = frozenset(
    {MISSING_INTEL_RULE, VEX_RULE, STALE_REPORT_RULE, UNSUPPORTED_OS_RULE, *WAIVER_RULE_IDS.values()}
)
"""IDs of the rules the engine adds beside the policy's; reserved, so no policy rule may take one."""


class WaiverStatus(_Frozen):
    """One waiver of the policy and what it did for one image."""

    waiver_id: str
    reason: str
    expires: date
    owner: str = ""
    state: WaiverState
    matched: int = 0
    days_left: int
    """Days until expiry (negative once expired)."""
    platforms: tuple[str, ...] | None = None
    """The waiver's `platforms` scope as written; None when it has none."""
    index: int | None = Field(default=None, ge=0, strict=True)
    """The waiver's place in the policy that decided the image: `waivers[index]` of its waivers, those of the
    files it extends first. Two waivers alike in every fact above differ in it; None in records of older
    gates."""


class FindingOutcome(_Frozen):
    """What the gate decided for one finding."""

    finding: Finding
    action: Action | None = None
    """The strongest action of the rules that caught it; None when no rule did."""
    rules: tuple[str, ...] = ()
    """IDs of the rules that caught it."""
    waiver_id: str | None = None
    expired_waivers: tuple[str, ...] = ()
    """Waivers that would have matched but have expired."""


class Trend(str, enum.Enum):
    """Whether an image got better or worse than its baseline."""

    BETTER = "better"
    SAME = "same"
    WORSE = "worse"


class Ratchet(_Frozen):
    """One image against its baseline: what the change added, what it fixed, what is still there.

    Counts are of active findings (not suppressed by the scanner); waived findings count, they are present.
    """

    baseline: str
    """How the baseline image is shown (its reference, or the report's artifact name)."""
    sources: tuple[str, ...]
    """The baseline reports."""
    new: int
    """Findings the baseline does not have."""
    existing: int
    """Findings the baseline has too (still present)."""
    fixed: tuple[Finding, ...] = ()
    """Findings of the baseline that are gone, most severe first."""
    before: dict[Severity, int]
    """Active findings of the baseline per severity, most severe first."""
    after: dict[Severity, int]
    """Active findings of the image per severity, most severe first."""
    trend: Trend
    """Worse when, at the highest severity where the counts differ, the image has more findings than the
    baseline; better when it has fewer; same when every count is equal."""


class ImageDecision(_Frozen):
    """The decision for one image (or one scanned artifact)."""

    name: str
    """How the image is shown: its reference, or the report's artifact name or path."""
    sources: tuple[str, ...]
    """The reports this decision was made from."""
    scanners: tuple[str, ...]
    scanner_version: str = ""
    """The scanner's version when the report names it (GitLab's report carries it)."""
    artifact_type: str = ""
    image: Image | None = None
    verdict: Verdict
    rules: tuple[RuleResult, ...] = ()
    violations: tuple[Violation, ...] = ()
    outcomes: tuple[FindingOutcome, ...] = ()
    """One per active finding (scanner-suppressed ones excluded), most severe first."""
    waived: tuple[WaivedFinding, ...] = ()
    suppressed: tuple[Finding, ...] = ()
    """Findings the scanner itself suppressed (Trivy ignore files and VEX, Grype ignore rules)."""
    waivers: tuple[WaiverStatus, ...] = ()
    notes: tuple[str, ...] = ()
    """Things the gate noticed on the way (skipped log lines, missing data)."""
    baseline: Ratchet | None = None
    """The image against its baseline (--baseline): new, fixed, still present; None without a baseline."""

    def severity_counts(self) -> dict[Severity, int]:
        """Active findings per severity, every severity present, most severe first."""
        counts = Counter(o.finding.severity for o in self.outcomes)
        return {s: counts.get(s, 0) for s in sorted(Severity, reverse=True)}


class Decision(_Frozen):
    """The gate's decision over every image of one run."""

    verdict: Verdict
    today: date
    policy: str
    """Which policy decided: a path or `builtin:NAME`."""
    images: tuple[ImageDecision, ...]

    @property
    def violations(self) -> tuple[Violation, ...]:
        """Every violation of every image."""
        return tuple(v for image in self.images for v in image.violations)


def combine(decisions: Iterable[Decision]) -> Decision:
    """One decision over several: the images side by side, the worst verdict wins.

    Raises ValueError when given none, or decisions made on different dates or policies.
    """
    items = list(decisions)
    if not items:
        raise ValueError("no decisions to combine")
    if len({(d.today, d.policy) for d in items}) > 1:
        raise ValueError("decisions made on different dates or with different policies")
    return Decision(
        verdict=Verdict.worst(d.verdict for d in items),
        today=items[0].today,
        policy=items[0].policy,
        images=tuple(image for d in items for image in d.images),
    )
