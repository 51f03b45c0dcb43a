"""`make demo`: gate the bundled example report with the built-in default policy and write every output.

Exits 0 when the demo ran, whatever the verdict (the verdict is what the demo shows).
"""

from __future__ import annotations

import sys
from pathlib import Path

from gate.cli import main

HERE = Path(__file__).resolve().parent
OUT = Path("demo-output")
REPORT = HERE / "web-1.4.2.trivy.json"
OUTPUTS = {
    "--json": "decision.json",
    "--sarif": "container-gate.sarif",
    "--summary": "summary.md",
    "--junit": "TEST-container-gate.xml",
    "--gitlab-report": "gl-container-scanning-report.json",
    "--codequality": "gl-code-quality-report.json",
}


def demo() -> int:
    """Run the gate on the example report; return 0 when it ran (pass, warn or fail), 2 when it could not."""
    OUT.mkdir(exist_ok=True)
    args = ["check", str(REPORT), "--policy", "builtin:default"]
    for flag, name in OUTPUTS.items():
        args += [flag, str(OUT / name)]
    print(f"$ gate {' '.join(args)}\n", flush=True)
    code = main(args)
    if code == 2:
        return 2
    print(f"\nexit code {code} ({'the policy failed' if code == 1 else 'pass or warn'}); outputs in {OUT}/:")
    for name in OUTPUTS.values():
        path = OUT / name
        if path.exists():
            print(f"  {path}  ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(demo())
