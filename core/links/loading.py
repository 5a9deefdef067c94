"""Reading `config/links.yaml`: a bounded safe YAML load (size, nesting, alias
expansion), then validation; every problem is reported, not just the first."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from .model import LinksConfig
from .problems import ConfigError, Problem
from .schema import MAX_DEPTH, MAX_EXPANDED_NODES, MAX_FILE_BYTES
from .validation import Checker
from . import yaml_tree


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the file is turned into objects: a large
    file makes hundreds of thousands of them, none garbage yet, and each collection
    would walk them all again (four fifths of the time of a 10,000-link file)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_yaml(path: Path) -> Any:
    """The parsed file, or :class:`ConfigError` (missing, too large, unreadable, bad YAML, bombs)."""
    file = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ConfigError(
                [
                    Problem(
                        file,
                        "(file)",
                        f"too large (over {MAX_FILE_BYTES // 1024} KiB)",
                        "a links file is a few kilobytes (10,000 links are 2.5 MB): check that this is the right file, "
                        "or split very large deployments into several installs",
                    )
                ]
            )
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [
                Problem(
                    file,
                    "(file)",
                    "the file does not exist",
                    "create it from config/links.example.yaml, or pass --config PATH / set TWINBRIDGE_CONFIG",
                )
            ]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            [Problem(file, "(file)", f"cannot be read: {exc.__class__.__name__}", "make it a readable UTF-8 text file")]
        ) from None
    try:
        with _collector_paused():
            return yaml_tree.load(text, max_depth=MAX_DEPTH, max_values=MAX_EXPANDED_NODES)
    except yaml_tree.TooComplex as exc:
        where = f"line {exc.mark.line + 1}, column {exc.mark.column + 1}" if exc.mark else "(file)"
        raise ConfigError([Problem(file, where, f"refused: {exc.message}", exc.fix)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(syntax)"
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(
            [
                Problem(
                    file,
                    where,
                    f"YAML syntax error: {problem}",
                    "check indentation (spaces, not tabs) and quoting near that line",
                )
            ]
        ) from None
    except (ValueError, OverflowError, RecursionError) as exc:  # e.g. a date like 2024-13-45, a 5000-digit number
        raise ConfigError(
            [
                Problem(
                    file,
                    "(file)",
                    f"a value cannot be read ({exc.__class__.__name__})",
                    'quote values that are meant as text, e.g. `name: "2024-13-45"`',
                )
            ]
        ) from None


def load_links(path: str | Path, *, pseudonym_key: str | None = None, strict_secrets: bool = False) -> LinksConfig:
    """Load and validate; raise :class:`ConfigError` listing every problem.

    ``strict_secrets``: also require the secrets a policy needs (the pseudonym
    key), as `twinbridge check` and the workers do.
    """
    path = Path(path)
    checker = Checker(str(path))
    data = read_yaml(path)
    config = checker.check(data, pseudonym_key=pseudonym_key, strict_secrets=strict_secrets)
    if checker.problems:
        raise ConfigError(checker.problems)
    assert config is not None
    return replace(config, path=path)
