"""Turning pydantic's validation errors into netspec's "expected vs got" messages."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from netspec.diagnostics import did_you_mean
from netspec.layers.args import describe_value


def _literal(error: Mapping[str, Any]) -> str:
    expected = error.get("ctx", {}).get("expected", "")
    got = error["input"]
    hint = did_you_mean(got, re.findall(r"'([^']*)'", expected)) if isinstance(got, str) else ""
    return f"expected {expected}, got {describe_value(got)}{hint}"


_TEMPLATES: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "int_type": lambda e: f"expected an integer, got {describe_value(e['input'])}",
    "float_type": lambda e: f"expected a number, got {describe_value(e['input'])}",
    "finite_number": lambda e: f"expected a finite number, got {describe_value(e['input'])}",
    "bool_type": lambda e: f"expected true or false, got {describe_value(e['input'])}",
    "string_type": lambda e: f"expected a string, got {describe_value(e['input'])}",
    "list_type": lambda e: f"expected a list, got {describe_value(e['input'])}",
    "dict_type": lambda e: f"expected a mapping, got {describe_value(e['input'])}",
    "model_type": lambda e: f"expected a mapping, got {describe_value(e['input'])}",
    "greater_than_equal": lambda e: f"must be ≥ {e['ctx']['ge']}, got {describe_value(e['input'])}",
    "greater_than": lambda e: f"must be > {e['ctx']['gt']}, got {describe_value(e['input'])}",
    "less_than_equal": lambda e: f"must be ≤ {e['ctx']['le']}, got {describe_value(e['input'])}",
    "less_than": lambda e: f"must be < {e['ctx']['lt']}, got {describe_value(e['input'])}",
    "too_short": lambda e: (
        f"expected at least {e['ctx']['min_length']} item(s), got {describe_value(e['input'])}"
    ),
    "too_long": lambda e: (
        f"expected at most {e['ctx']['max_length']} items, got {describe_value(e['input'])}"
    ),
    "literal_error": _literal,
    "enum": _literal,
}


def explain(error: Mapping[str, Any]) -> str:
    """One pydantic error as a sentence; unknown error types keep pydantic's own text."""
    template = _TEMPLATES.get(error["type"])
    if template is not None:
        return template(error)
    message = str(error["msg"])
    return message[:1].lower() + message[1:]
