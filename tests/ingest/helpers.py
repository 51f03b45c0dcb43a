"""Small VEX documents for the ingest tests."""

from __future__ import annotations

import json
from typing import Any

from gate.ingest.vex import VexDocument, read_vex


def openvex(*statements: dict[str, Any], **document: Any) -> VexDocument:
    """An OpenVEX document of `statements` (its other keys replaced by `document`), read as `--vex vex.json`."""
    raw = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex-1",
        "author": "me",
        "timestamp": "2026-11-20T10:00:00Z",
        "version": 1,
        "statements": list(statements),
        **document,
    }
    return read_vex("vex.json", json.dumps(raw).encode())
