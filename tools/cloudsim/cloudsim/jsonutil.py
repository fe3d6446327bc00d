"""Strict JSON for device input, shared by every service: one reading of what counts as JSON."""

from __future__ import annotations

import json
from typing import Any


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def loads_strict(text: str) -> Any:
    """json.loads that refuses NaN/Infinity (not JSON) and reports nesting too deep for the
    parser as ValueError, like any other malformed input."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
