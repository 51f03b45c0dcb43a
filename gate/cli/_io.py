"""Reading input files and writing outputs: '-' is stdin or stdout, and a failure is one line naming the file."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from gate.errors import InputError, OutputError
from gate.files import read_capped

__all__ = ["read_input", "stdout_problem", "write_output"]

_WRITE_SLICE = 1 << 20


def read_input(
    path: str,
    what: str,
    *,
    stdin: TextIO | None = None,
    written_by: str = "",
    limit: tuple[int, str] | None = None,
) -> bytes:
    """The bytes of the input file `path`; '-' reads `stdin` when one is given (else '-' is a file name).

    `what` the file is ("report", "VEX document", ...) and, for files a CI step makes, `written_by` ("the scan
    step wrote it") go into the errors. Raises InputError when the file is a directory, missing or unreadable, or
    holds more than `limit` bytes when one is given, with what the file should be ("a VEX document"); reports have
    none: they can be hundreds of megabytes.
    """
    if path == "-" and stdin is not None:
        return stdin.buffer.read() if hasattr(stdin, "buffer") else stdin.read().encode("utf-8")
    try:
        return Path(path).read_bytes() if limit is None else read_capped(Path(path), *limit)
    except IsADirectoryError:
        noun = what if what.endswith("file") else f"{what} file"
        raise InputError(f"{path}: is a directory; give the {noun}") from None
    except FileNotFoundError:
        advice = f"check the path or that {written_by}" if written_by else f"check the path to the {what}"
        raise InputError(f"{path}: no such file; {advice}") from None
    except OSError as exc:
        which = "" if written_by else f" the {what}"
        raise InputError(f"{path}: cannot read{which} ({exc.strerror or exc})") from None


def write_output(flag: str, target: str, text: str | Iterable[bytes], out: TextIO) -> None:
    """Write `text` (or UTF-8 bytes in pieces) to the file `target` (its folder made if needed), or to `out`
    when `target` is '-'.

    Raises OutputError naming `flag` and the file when it cannot be written.
    """
    if target == "-":
        try:
            if isinstance(text, str):
                out.write(text)
            elif hasattr(out, "buffer"):
                out.flush()
                out.buffer.writelines(text)
            else:
                out.write(b"".join(text).decode("utf-8"))
        except OSError as exc:
            raise OutputError(f"{flag} -: {stdout_problem(exc)}") from None
        return
    path = Path(target)
    try:
        if path.parent != Path():
            path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):  # a file stands where a folder of the path should be
        blocker = next((str(p) for p in reversed(path.parents) if p.is_file()), str(path.parent))
        raise OutputError(f"{flag} {target}: cannot write ({blocker} is a file, not a folder)") from None
    except OSError as exc:
        raise OutputError(f"{flag} {target}: cannot write ({exc.strerror or exc})") from None
    try:
        if not isinstance(text, str):
            with path.open("wb") as binary:
                binary.writelines(text)
            return
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            # In slices: encoding a 100 MB text in one piece would hold a second copy of it in memory.
            for start in range(0, len(text), _WRITE_SLICE):
                handle.write(text[start : start + _WRITE_SLICE])
    except OSError as exc:
        raise OutputError(f"{flag} {target}: cannot write ({exc.strerror or exc})") from None


def stdout_problem(exc: OSError) -> str:
    """Why standard output could not be written, in words (the output is incomplete either way)."""
    if isinstance(exc, BrokenPipeError):
        return "cannot write to standard output: it was closed early (did a `| head` exit?)"
    return f"cannot write to standard output ({exc.strerror or exc})"
