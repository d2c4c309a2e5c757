"""Diagnostics: every problem netspec finds in a spec, with where it is.

A diagnostic prints as ``file:line:col: kind 'name': message``, the form compilers and editors
understand. Passes collect diagnostics instead of raising, so a user sees every problem at once.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]
MAX_MESSAGE = 500  # characters


@dataclass(frozen=True, order=True)
class Position:
    """A 1-based line and column in a spec file."""

    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


@dataclass(frozen=True)
class Diagnostic:
    message: str
    file: str = "<spec>"
    position: Position | None = None
    layer: str | None = None
    kind: str | None = None
    severity: Severity = "error"
    note: str | None = None  # context, e.g. the block use a layer comes from

    def __post_init__(self) -> None:
        # A message quotes what was written, which may be a megabyte-long word.
        if len(self.message) > MAX_MESSAGE:
            head, tail = self.message[: MAX_MESSAGE - 100], self.message[-80:]
            cut = len(self.message) - len(head) - len(tail)
            object.__setattr__(self, "message", f"{head}…[{cut:,} characters]…{tail}")

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def location(self) -> str:
        return f"{self.file}:{self.position}" if self.position else self.file

    def subject(self) -> str:
        """``kind 'name'`` for a layer's problem, empty for a spec-wide one."""
        if self.layer and self.kind:
            return f"{self.kind} '{self.layer}'"
        return self.layer or self.kind or ""

    def __str__(self) -> str:
        parts = [self.location()]
        if self.severity == "warning":
            parts.append("warning")
        if subject := self.subject():
            parts.append(subject)
        parts.append(self.message + (f" ({self.note})" if self.note else ""))
        return printable(": ".join(parts))

    def to_json(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "file": self.file,
            "line": self.position.line if self.position else None,
            "column": self.position.column if self.position else None,
            "layer": self.layer,
            "kind": self.kind,
            "message": self.message,
            "note": self.note,
        }


class SpecError(Exception):
    """Raised by the Python API when a spec has errors; holds all of them."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics = [d for d in diagnostics if d.is_error]
        super().__init__("\n".join(str(d) for d in self.diagnostics))


# C0 and C1 controls, DEL, Unicode's line and paragraph separators, and the marks that reorder
# text on screen (Trojan Source).
_CONTROLS = "\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069"
_UNPRINTABLE = re.compile(f"[\n{_CONTROLS}]")
_UNPRINTABLE_BUT_NEWLINE = re.compile(f"[{_CONTROLS}]")


def printable(text: str, *, newlines: bool = False) -> str:
    """``text`` with control characters written as escapes (``\x1b``), so that a spec's
    strings print as what they are and never act on the terminal. ``newlines`` keeps line
    breaks (a message of several lines); a diagnostic is one line."""
    pattern = _UNPRINTABLE_BUT_NEWLINE if newlines else _UNPRINTABLE
    return pattern.sub(_escape, text)


def printable_json(value: object) -> str:
    """JSON for people and tools alike: non-ASCII text stays readable, but the controls JSON
    leaves raw (DEL, C1, line separators, bidi marks) are escaped as ``\\u`` sequences."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return _UNPRINTABLE_BUT_NEWLINE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    return _closest(word, tuple(choices))


@functools.lru_cache(maxsize=1024)  # a repeated layer makes the same mistake in every copy
def _closest(word: str, choices: tuple[str, ...]) -> str:
    if len(word) > 64:  # no name or option is that long, and difflib's cost grows with it
        return ""
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered:
        return f" (did you mean '{lowered[word.lower()]}'?)"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    if not close and len(word) >= 3:
        close = [c for c in choices if c.lower().startswith(word.lower())][:1]
    return f" (did you mean '{close[0]}'?)" if close else ""


def plural(count: int, noun: str, suffix: str = "s") -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}{suffix}"
