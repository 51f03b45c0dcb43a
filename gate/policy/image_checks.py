"""Image checks: pure functions over an Image that say whether one check passes, and why.

Each check returns a CheckResult: passed True/False, or None when the image facts needed are missing
(the engine then fails closed: the rule triggers and says what data to supply).
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

from gate.model import Image
from gate.policy.schema import ImageCheck

__all__ = ["CHECKS", "CheckResult", "runs_as_root"]


class CheckResult(BaseModel):
    """The outcome of one image check."""

    model_config = ConfigDict(frozen=True)

    check_id: str
    passed: bool | None
    message: str


def runs_as_root(user: str | None) -> tuple[bool, bool]:
    """(runs as root, root set explicitly) for a config User value."""
    if user is None or not user.strip():
        return True, False
    name = user.strip().split(":", 1)[0]
    return name in {"root", "0"}, True


def _non_root_user(image: Image, _check: ImageCheck) -> CheckResult:
    if not image.config_known:
        return CheckResult(check_id="non-root-user", passed=None, message=_NO_CONFIG)
    root, explicit = runs_as_root(image.user)
    if not root:
        return CheckResult(check_id="non-root-user", passed=True, message=f"runs as user {image.user!r}")
    how = f"explicitly (USER {image.user})" if explicit else "by default (no USER is set)"
    return CheckResult(check_id="non-root-user", passed=False, message=f"the image runs as root {how}")


_NO_CONFIG = "the image config is not known; pass --image-metadata (docker inspect or skopeo inspect --config)"

CHECKS: dict[str, Callable[[Image, ImageCheck], CheckResult]] = {
    "non-root-user": _non_root_user,
}
