"""Text that `json.loads` reads but no output can write back: a lone UTF-16 surrogate.

`json.loads` reads `"\\ud800"` into a string, and decodes bytes with "surrogatepass", so a surrogate written as
its own bytes (UTF-8 `ed a0 80`) is read too. No UTF-8 output (a record, SARIF, XML, Markdown) can encode such a
string: every reader that parses with `json.loads` checks what it read. The reports' own parser refuses them.
"""

from __future__ import annotations

import json
import re

__all__ = ["LONE_SURROGATE", "has_lone_surrogate"]

LONE_SURROGATE = "a lone UTF-16 surrogate (\\ud800 to \\udfff), which no output can carry"
"""What `has_lone_surrogate` found, for messages."""

# A lone surrogate as json.loads reads one: escaped (`\ud800`), or its own bytes in UTF-8.
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(document: str | bytes, value: object) -> bool:
    """True when `value`, parsed from the JSON `document` by `json.loads`, holds a lone UTF-16 surrogate."""
    if isinstance(document, str):
        raw = document.encode("utf-8", "surrogatepass")
    elif (encoding := json.detect_encoding(document)) not in ("utf-8", "utf-8-sig"):  # UTF-16 or UTF-32
        raw = document.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")
    else:
        raw = document
    if not _SURROGATE.search(raw):  # the common case: no surrogate at all
        return False
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
