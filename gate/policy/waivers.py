"""Waivers: alias-aware matching, expiry on an injected date, and what each waiver did."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from fnmatch import fnmatchcase

from gate.model import Finding
from gate.policy.decision import WaiverState, WaiverStatus
from gate.policy.schema import Waiver

__all__ = ["EXPIRY_WARNING_DAYS", "WaiverBook", "waiver_matches"]

EXPIRY_WARNING_DAYS = 14
"""A used waiver that expires within this many days is reported as expiring."""


def waiver_matches(waiver: Waiver, finding: Finding, *, image: str) -> bool:
    """True when the waiver's ID is the finding's ID or one of its aliases, and every scope given holds."""
    wanted = waiver.id.upper()
    if not any(i.upper() == wanted for i in finding.all_ids):
        return False
    package = finding.package
    if waiver.packages is not None and (package is None or not _glob(package.name, waiver.packages)):
        return False
    if waiver.purls is not None and (package is None or not _glob(package.purl, waiver.purls)):
        return False
    if waiver.paths is not None:
        paths = [p for p in (package.path if package else "", finding.target) if p]
        if not any(_glob(p, waiver.paths) for p in paths):
            return False
    return waiver.images is None or _glob(image, waiver.images)


def _glob(value: str, patterns: Sequence[str]) -> bool:
    return any(fnmatchcase(value, p) for p in patterns)


class WaiverBook:
    """The waivers of one evaluation: which apply to a finding, and afterwards what each one did.

    Lives only inside one evaluate() call; the counts it keeps are that call's.
    """

    def __init__(self, waivers: Sequence[Waiver], *, today: date, image: str) -> None:
        self._waivers = list(waivers)
        self._today = today
        self._image = image
        self._matched = [0] * len(self._waivers)

    def _matching(self, finding: Finding) -> list[int]:
        return [i for i, w in enumerate(self._waivers) if waiver_matches(w, finding, image=self._image)]

    def waiver_for(self, finding: Finding) -> Waiver | None:
        """The first waiver in force that matches the finding (and count the match)."""
        for i in self._matching(finding):
            self._matched[i] += 1
            if self._waivers[i].expires >= self._today:
                return self._waivers[i]
        return None

    def expired_for(self, finding: Finding) -> list[Waiver]:
        """Waivers that match the finding but have expired."""
        return [self._waivers[i] for i in self._matching(finding) if self._waivers[i].expires < self._today]

    def statuses(self) -> tuple[WaiverStatus, ...]:
        """What each waiver did: used, expiring soon, expired, or unused."""
        out = []
        for waiver, matched in zip(self._waivers, self._matched):
            days_left = (waiver.expires - self._today).days
            if days_left < 0:
                state = WaiverState.EXPIRED
            elif matched == 0:
                state = WaiverState.UNUSED
            elif days_left <= EXPIRY_WARNING_DAYS:
                state = WaiverState.EXPIRING
            else:
                state = WaiverState.USED
            out.append(
                WaiverStatus(
                    waiver_id=waiver.id,
                    reason=waiver.reason,
                    expires=waiver.expires,
                    owner=waiver.owner,
                    state=state,
                    matched=matched,
                    days_left=days_left,
                )
            )
        return tuple(out)
