"""How a problem message shows what the file said (shortened: a hostile file
may hold megabytes) and the closest allowed value (did you mean ...?)."""

from __future__ import annotations

import difflib
from typing import Any


def show(value: Any, limit: int = 40) -> str:
    """A value for a problem message: its repr, shortened (a hostile file may hold megabytes)."""
    if isinstance(value, (str, int, float, bool, type(None))):
        text = repr(value)
    else:
        kind = "list" if isinstance(value, list) else "mapping" if isinstance(value, dict) else type(value).__name__
        text = f"a {kind}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def field_key(value: Any) -> str:
    """A mapping key as part of a field path, shortened."""
    text = str(value) if isinstance(value, (str, int, float, bool, type(None))) else show(value)
    return text if len(text) <= 40 else text[:39] + "…"


def suggest(value: Any, choices: list[str] | tuple[str, ...]) -> str:
    """The fix for a value outside ``choices``: the choices, and the closest one if any is close."""
    close = (
        difflib.get_close_matches(field_key(value), [str(c) for c in choices], n=1)
        if isinstance(value, (str, int))
        else []
    )
    listed = ", ".join(str(c) for c in choices) if choices else "(none defined)"
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"use one of: {listed}{hint}"
