"""Thin platform glue: GitHub (step outputs, PR comment) and GitLab (dotenv report, MR note).

The only network code besides `gate.intel`: `requests` over a Session the caller makes and closes.
No policy logic lives here; these modules move what `gate check` wrote to where each platform shows it.
"""

from __future__ import annotations

__all__: list[str] = []
