"""`python -m gate`."""

from gate.cli import run

run()
