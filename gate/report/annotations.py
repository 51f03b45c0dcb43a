"""GitHub Actions annotations: `::error ...::` and `::warning ...::` workflow commands for the job log.

GitHub shows at most 10 error and 10 warning annotations per step and drops the rest silently
(PLATFORMS.md B.1), so the gate prints the 10 most severe of each and a notice saying how many more the
summary lists. Report text is made one-line and harmless first (`log.safe`: no control bytes, no `::`),
then escaped the way the runner expects (`%`, CR, LF; in properties also `:` and `,`).
"""

from __future__ import annotations

from gate.policy.decision import Action, Decision, Violation
from gate.report import _text
from gate.report._common import FileLocation, image_titles
from gate.report.log import safe

__all__ = ["MAX_PER_LEVEL", "render"]

MAX_PER_LEVEL = 10
_IMAGE_CHARS = 150


def render(decision: Decision, *, location: FileLocation | None = None) -> str:
    """The annotation lines (possibly none), each ending in a newline.

    With `location`, annotations point at that Dockerfile line, so they show on the pull request's diff.
    """
    where = ""
    if location is not None:
        where = f"file={_text.command_property(location.path)},line={location.line},"
    lines: list[str] = []
    left_out = 0
    titles = image_titles(decision.images, _IMAGE_CHARS)  # images of one name for two platforms read as two
    for action, command in ((Action.FAIL, "error"), (Action.WARN, "warning")):
        found = [
            (index, title, v)
            for index, (image, title) in enumerate(zip(decision.images, titles, strict=True))
            for v in image.violations
            if v.action is action
        ]
        found.sort(key=lambda t: (-t[2].severity.rank, t[0]))  # stable: the engine's order within a severity
        for _, image_name, v in found[:MAX_PER_LEVEL]:
            title = _text.command_property(f"container-gate: {safe(v.rule_id, 100)}")
            lines.append(
                f"::{command} {where}title={title}::{_text.command_message(_message(v, image_name))}"
            )
        left_out += max(0, len(found) - MAX_PER_LEVEL)
    if left_out:
        # Not "findings": image checks, waivers and stale reports are annotated (and left out) too.
        what = "failure or warning is" if left_out == 1 else "failures or warnings are"
        lines.append(
            f"::notice title=container-gate::{left_out} more {what} not annotated "
            "(GitHub shows 10 of each per step); the job summary lists all of them"
        )
    return "".join(line + "\n" for line in lines)


def _message(v: Violation, image_name: str) -> str:
    f = v.finding
    subject = safe(v.id, 100)
    if f is not None and f.package is not None:
        subject += f" in {safe(f.package.name, 100)} {safe(f.package.version, 60)}".rstrip()
    elif f is not None and f.target:
        subject += f" in {safe(f.target, 100)}"
    return f"{subject}, image {safe(image_name, _IMAGE_CHARS)}: {safe(v.message, 200)}"
