"""Waivers: alias-aware matching, expiry on an injected date, what each waiver did, and waiver hygiene.

Hygiene is three built-in rules whose actions the policy's `[settings]` choose: `waiver-expired` (an expired
waiver; fails by default), `waiver-expiring` (a used waiver expiring within `expiry_warning_days`; warns) and
`waiver-unused` (a waiver that matched nothing; warns). `check_horizon` refuses waivers that run further ahead
than `settings.max_waiver_days`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fnmatch import fnmatchcase

from gate.errors import PolicyError
from gate.identity import normalise_platform, platform_covers
from gate.model import Finding, Package, Severity
from gate.policy.decision import (
    WAIVER_RULE_IDS,
    Action,
    Decision,
    RuleResult,
    Verdict,
    Violation,
    WaiverState,
    WaiverStatus,
)
from gate.policy.package_names import PackageGlobs
from gate.policy.schema import Policy, Waiver
from gate.policy.settings import Settings
from gate.words import quantity

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "WAIVER_RULES",
    "WaiverBook",
    "check_horizon",
    "review_run",
    "waiver_applies_to_image",
    "waiver_matches",
    "waiver_mismatch",
]

EXPIRY_WARNING_DAYS = 14
"""The default of `settings.expiry_warning_days`: a used waiver expiring this soon is reported as expiring."""

WAIVER_RULES = {
    WaiverState.EXPIRED: (WAIVER_RULE_IDS[WaiverState.EXPIRED], "No expired waivers", "waiver_expired"),
    WaiverState.EXPIRING: (
        WAIVER_RULE_IDS[WaiverState.EXPIRING],
        "No waivers about to expire",
        "waiver_expiring",
    ),
    WaiverState.UNUSED: (WAIVER_RULE_IDS[WaiverState.UNUSED], "No unused waivers", "waiver_unused"),
}
"""Waiver state -> (built-in rule ID, title, the settings key that holds its action)."""

_HELP = {
    WaiverState.EXPIRED: "Fix the finding, or renew the waiver with a new `expires` and a reason that still holds.",
    WaiverState.EXPIRING: "Plan the fix, or renew the waiver before it expires and fails the gate.",
    WaiverState.UNUSED: "Remove the waiver: nothing it names is in the report any more (or fix its id or scope).",
}


def waiver_mismatch(waiver: Waiver, finding: Finding, *, image: str, platform: str = "") -> str | None:
    """Why `waiver` does not apply to `finding` in `image` (one phrase), or None when it does (expiry aside).

    `platform` is the image's (`linux/arm64`), "" when unknown: then a waiver with `platforms` does not apply.
    """
    mismatch = _finding_mismatch(waiver, finding, image=image)
    return mismatch if mismatch is not None else _platform_mismatch(waiver, platform)


def _finding_mismatch(waiver: Waiver, finding: Finding, *, image: str) -> str | None:
    """Why `waiver` does not apply to `finding` in `image`, its `platforms` scope aside; None when it does."""
    wanted = waiver.id.upper()
    if not any(i.upper() == wanted for i in finding.all_ids):
        return f"its id {waiver.id} is not {' or '.join(finding.all_ids)}"
    if not waiver.aliases and finding.id.upper() != wanted:
        return f"its id {waiver.id} is an alias of {finding.id}, and aliases = false"
    if not waiver.aliases and finding.id != waiver.id:
        # As the scanners compare their ignore entries: Trivy keeps custom secret rule IDs and unknown licence
        # names in any case, so `Custom-License` and `custom-license` are two findings.
        return (
            f"its id {waiver.id} is {finding.id} in another case, and aliases = false compares it as written"
        )
    if waiver.kinds is not None and finding.kind not in waiver.kinds:
        return f"kinds {[k.value for k in waiver.kinds]} does not include {finding.kind.value}"
    if wanted.startswith("CVE-") and (others := finding.cves_left_out({wanted})):
        # An advisory (Grype's ALAS-..., with all its CVEs as aliases): waiving one CVE leaves the others.
        return f"{finding.id} also covers {', '.join(others)}; waive {finding.id} itself to waive all of them"
    package = finding.package
    if waiver.packages is not None and (missed := _missed(PackageGlobs(waiver.packages), package, "package")):
        return f"packages {list(waiver.packages)} does not match {missed}"
    if waiver.purls is not None and (
        missed := _missed(PackageGlobs(waiver.purls, purl=True), package, "purl")
    ):
        return f"purls {list(waiver.purls)} does not match {missed}"
    if waiver.paths is not None:
        paths = [p for p in (package.path if package else "", finding.target) if p]
        if not any(_glob(p, waiver.paths) for p in paths):
            return f"paths {list(waiver.paths)} does not match {' or '.join(paths) or 'no path'}"
    if not waiver_applies_to_image(waiver, image):
        return f"images {list(waiver.images or ())} does not match {image}"
    return None


def waiver_matches(waiver: Waiver, finding: Finding, *, image: str, platform: str = "") -> bool:
    """True when the waiver's ID is the finding's ID or one of its aliases, and every scope given holds."""
    return waiver_mismatch(waiver, finding, image=image, platform=platform) is None


def waiver_applies_to_image(waiver: Waiver, image: str) -> bool:
    """True when the waiver has no `images` scope or one of its globs matches `image`."""
    return waiver.images is None or _glob(image, waiver.images)


def _platform_mismatch(waiver: Waiver, platform: str) -> str | None:
    """Why the waiver's `platforms` scope does not hold for an image of `platform` ("" unknown), or None."""
    if waiver.platforms is None:
        return None
    if not normalise_platform(platform)[0]:  # fail closed: an image that may be any platform is not waived
        return f"platforms {list(waiver.platforms)} does not match: the image's platform is unknown"
    if any(platform_covers(scope, platform) for scope in waiver.platforms):
        return None
    return f"platforms {list(waiver.platforms)} does not match {platform}"


def _glob(value: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(value, p) for p in patterns)


def _missed(globs: PackageGlobs, package: Package | None, noun: str) -> str:
    """What a `packages` or `purls` scope did not match (`PyYAML`, `no package`), or `` when it matches."""
    if package is None:
        return f"no {noun}"
    if globs.matches(package):
        return ""
    value = globs.value(package)
    return value + globs.note(package) if value else f"no {noun}"


def check_horizon(policy: Policy, *, today: date) -> None:
    """Raise PolicyError listing every waiver whose `expires` is more than `settings.max_waiver_days` away."""
    limit = policy.settings.max_waiver_days
    if limit is None:
        return
    problems = []
    for i, waiver in enumerate(policy.waivers):
        days = (waiver.expires - today).days
        if days > limit:
            problems.append(
                f"{_written_at(policy.name, i, waiver)} ({waiver.id}): expires {waiver.expires} is {days} "
                f"days after {today}, more than settings.max_waiver_days = {limit}; choose an earlier date"
            )
    if problems:
        raise PolicyError(policy.name or "policy", problems)


def _written_at(policy_name: str, index: int, waiver: Waiver) -> str:
    """`waivers[i]` in the policy's own file, or `extends: base.toml: waivers[i]` in a file it extends."""
    source, index = waiver.written_at or (policy_name, index)
    where = f"waivers[{index}]"
    return where if source == policy_name else f"extends: {source}: {where}"


class WaiverBook:
    """The waivers of one evaluation: which apply to a finding, and afterwards what each one did.

    Lives only inside one evaluate() call; the counts it keeps are that call's.
    """

    def __init__(
        self,
        waivers: Sequence[Waiver],
        *,
        today: date,
        image: str,
        platform: str = "",
        warning_days: int = EXPIRY_WARNING_DAYS,
        policy_name: str = "",
    ) -> None:
        self._waivers = list(waivers)
        self._policy_name = policy_name
        self._today = today
        self._image = image
        self._platform_known = bool(normalise_platform(platform)[0])
        # The platform is the image's, one for the whole book: each waiver's `platforms` scope is judged once.
        self._on_platform = [_platform_mismatch(w, platform) is None for w in self._waivers]
        self._warning_days = warning_days
        self._matched = [0] * len(self._waivers)
        self._first: list[Finding | None] = [None] * len(self._waivers)
        # Waivers by upper-case ID: a finding is checked only against the waivers that name one of its IDs.
        self._by_id: dict[str, list[int]] = {}
        for i, waiver in enumerate(self._waivers):
            self._by_id.setdefault(waiver.id.upper(), []).append(i)

    def _matching(self, finding: Finding) -> list[int]:
        """Indexes of the waivers that apply to `finding`, in policy order."""
        if not self._by_id:
            return []
        named = {i for id_ in finding.all_ids for i in self._by_id.get(id_.upper(), ())}
        return [
            i
            for i in sorted(named)
            if self._on_platform[i]
            and _finding_mismatch(self._waivers[i], finding, image=self._image) is None
        ]

    def waiver_for(self, finding: Finding) -> Waiver | None:
        """The first waiver in force that matches the finding; every matching waiver counts the match."""
        chosen = None
        for i in self._matching(finding):
            self._matched[i] += 1
            if self._first[i] is None:
                self._first[i] = finding
            if chosen is None and self._waivers[i].expires >= self._today:
                chosen = self._waivers[i]
        return chosen

    def expired_for(self, finding: Finding) -> list[Waiver]:
        """Waivers that match the finding but have expired."""
        return [self._waivers[i] for i in self._matching(finding) if self._waivers[i].expires < self._today]

    def _state(self, index: int) -> WaiverState:
        days_left = (self._waivers[index].expires - self._today).days
        if days_left < 0:
            return WaiverState.EXPIRED
        if self._matched[index] == 0:
            return WaiverState.UNUSED
        if days_left <= self._warning_days:
            return WaiverState.EXPIRING
        return WaiverState.USED

    def _reviewed(self) -> list[int]:
        """Indexes of the waivers that concern this image: no `images` scope or one that names it, and no
        `platforms` scope or one that names its platform. A `platforms` scope concerns an image whose platform
        is unknown too: it cannot waive there, and is reported (unused, saying why) rather than say nothing."""
        return [
            i
            for i, w in enumerate(self._waivers)
            if waiver_applies_to_image(w, self._image) and (self._on_platform[i] or not self._platform_known)
        ]

    def statuses(self) -> tuple[WaiverStatus, ...]:
        """What each waiver that concerns this image did: used, expiring soon, expired, or unused."""
        out = []
        for i in self._reviewed():
            waiver = self._waivers[i]
            out.append(
                WaiverStatus(
                    waiver_id=waiver.id,
                    reason=waiver.reason,
                    expires=waiver.expires,
                    owner=waiver.owner,
                    state=self._state(i),
                    matched=self._matched[i],
                    days_left=(waiver.expires - self._today).days,
                    platforms=waiver.platforms,
                    index=i,
                )
            )
        return tuple(out)

    def review(self, settings: Settings) -> tuple[list[RuleResult], list[Violation]]:
        """The built-in waiver rules for this image: a result for each one switched on, and their violations.

        Nothing when no waiver concerns this image.
        """
        reviewed = self._reviewed()
        results: list[RuleResult] = []
        violations: list[Violation] = []
        if not reviewed:
            return results, violations
        for state, (rule_id, title, key) in WAIVER_RULES.items():
            action: Action = getattr(settings, key)
            if action is Action.OFF:
                continue
            hits = [i for i in reviewed if self._state(i) is state]
            lines = [self._describe(i, state) for i in hits]
            explanation = (
                f"{quantity(len(hits), 'waiver')} {state.value}: " + "; ".join(lines)
                if hits
                else f"no waiver {state.value}"
            )
            results.append(
                RuleResult(
                    rule_id=rule_id,
                    title=title,
                    help=_HELP[state],
                    action=action,
                    subject="waivers",
                    matched=len(hits),
                    triggered=bool(hits),
                    explanation=explanation,
                )
            )
            if action in (Action.FAIL, Action.WARN):
                severity = Severity.HIGH if action is Action.FAIL else Severity.MEDIUM
                violations.extend(
                    Violation(
                        rule_id=rule_id,
                        action=action,
                        id=self._waivers[i].id,
                        severity=severity,
                        message=line,
                        waiver_index=i,
                    )
                    for i, line in zip(hits, lines, strict=True)
                )
        return results, violations

    def _describe(self, index: int, state: WaiverState) -> str:
        waiver = self._waivers[index]
        name = waiver.id
        if len(self._by_id[waiver.id.upper()]) > 1:  # several waivers of one ID: say which one
            name += f" ({_written_at(self._policy_name, index, waiver)})"
        days = (waiver.expires - self._today).days
        who = ", ".join(x for x in (f"owner {waiver.owner}" if waiver.owner else "",
                                    f"ticket {waiver.ticket}" if waiver.ticket else "") if x)  # fmt: skip
        who = f" ({who})" if who else ""
        if state is WaiverState.EXPIRED:
            still = self._matched[index]
            tail = f"; it no longer waives {quantity(still, 'finding')}" if still else ""
            return f"waiver for {name} expired on {waiver.expires}{who}{tail}"
        if state is WaiverState.EXPIRING:
            when = "today" if days == 0 else f"in {quantity(days, 'day')}"
            return f"waiver for {name} expires {when} ({waiver.expires}){who}"
        unknown = (
            f"; it names platforms {list(waiver.platforms)} and the image's platform is unknown"
            if waiver.platforms is not None and not self._platform_known
            else ""
        )
        return f"waiver for {name} matched no finding{who}{unknown}"


def review_run(decision: Decision, *, policies: Sequence[str] | None = None) -> Decision:
    """`decision` with waivers that some image of the run used no longer reported unused by the others.

    The engine decides one image at a time, so a waiver used by image A is "unused" in image B. Over a run
    of several images a waiver is unused only when no image used it; for the others its status and its
    `waiver-unused` violation are dropped, and the verdicts are worked out again.

    A waiver is its place in the policy (`WaiverStatus.index`) as well as its facts: two waivers alike but for
    a scope the status does not carry (`packages`, `images`, ...) are two. `policies` names the policy that
    decided each image, when they differ (a `gate merge` of records of several policies): an index of one
    policy says nothing of another's, so across policies, as for records of older gates (no index), the facts
    alone count.
    """
    if len(decision.images) < 2:
        return decision
    deciders = list(policies) if policies is not None else [decision.policy] * len(decision.images)
    used: dict[_Facts, set[tuple[str, int | None]]] = {}
    for image, policy in zip(decision.images, deciders, strict=True):
        for status in image.waivers:
            if status.matched:
                used.setdefault(_facts(status), set()).add((policy, status.index))

    def used_elsewhere(status: WaiverStatus, policy: str) -> bool:
        return any(
            other_policy != policy or index is None or status.index is None or index == status.index
            for other_policy, index in used.get(_facts(status), ())
        )

    rule_id = WAIVER_RULES[WaiverState.UNUSED][0]
    images = []
    for image, policy in zip(decision.images, deciders, strict=True):
        stale = [s for s in image.waivers if s.state is WaiverState.UNUSED and used_elsewhere(s, policy)]
        if not stale:
            images.append(image)
            continue
        violations = tuple(v for v in image.violations if not (v.rule_id == rule_id and _about(v, stale)))
        left = [v for v in violations if v.rule_id == rule_id]
        rules = tuple(
            r.model_copy(
                update={
                    "matched": len(left),
                    "triggered": bool(left),
                    "explanation": f"{quantity(len(left), 'waiver')} unused: "
                    + "; ".join(v.message for v in left)
                    if left
                    else "no waiver unused (in any image of this run)",
                }
            )
            if r.rule_id == rule_id
            else r
            for r in image.rules
        )
        images.append(
            image.model_copy(
                update={
                    "rules": rules,
                    "violations": violations,
                    "waivers": tuple(s for s in image.waivers if s not in stale),
                    "verdict": Verdict.worst(r.verdict for r in rules),
                }
            )
        )
    return decision.model_copy(
        update={"images": tuple(images), "verdict": Verdict.worst(i.verdict for i in images)}
    )


_Facts = tuple[str, date, str, str, tuple[str, ...] | None]


def _facts(status: WaiverStatus) -> _Facts:
    # The platforms tell apart one waiver written per platform, each used only by its platform's image.
    return (status.waiver_id, status.expires, status.reason, status.owner, status.platforms)


def _about(violation: Violation, statuses: Sequence[WaiverStatus]) -> bool:
    """True when the waiver violation is about one of `statuses` (of its image): by the waiver's index, or by
    its ID in records of older gates, whose violations do not name the index."""
    if violation.waiver_index is not None:
        return violation.waiver_index in {s.index for s in statuses}
    return violation.id in {s.waiver_id for s in statuses}
