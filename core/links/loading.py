"""Reading `config/links.yaml`: a bounded safe YAML load (size, nesting, alias
expansion), then validation; every problem is reported, not just the first."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from .model import LinksConfig
from .problems import ConfigError, Problem
from .schema import MAX_DEPTH, MAX_EXPANDED_NODES, MAX_FILE_BYTES
from .validation import Checker


class _TooComplex(yaml.YAMLError):
    def __init__(self, message: str, fix: str, mark: yaml.Mark | None = None) -> None:
        super().__init__(message)
        self.message, self.fix, self.mark = message, fix, mark


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing documents that nest too deeply or whose
    aliases expand to too many nodes, before anything is built from them (the
    composer shares an aliased node, so counting costs one pass over distinct nodes)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # untyped in its stubs
                raise _TooComplex(
                    f"nested more than {MAX_DEPTH} levels deep",
                    "a links file needs a handful of levels; remove the extra brackets or indentation",
                    mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_document(self) -> yaml.Node | None:
        node = super().compose_document()
        if node is not None:
            _check_expansion(node)
        return node


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Raise :class:`_TooComplex` if the document, with every alias written out,
    would exceed MAX_EXPANDED_NODES nodes, or if an alias refers to itself."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_EXPANDED_NODES:
                raise _TooComplex(
                    f"its anchors and aliases expand to more than {MAX_EXPANDED_NODES:,} values (an alias bomb?)",
                    "write the repeated parts out, or nest fewer aliases (`*name`) inside anchored parts",
                    node.start_mark,
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise _TooComplex(
                "an alias refers to the node it is inside of (a loop)",
                "use aliases (`*name`) only for parts defined before and outside them",
                node.start_mark,
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


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
                        "a links file is a few kilobytes: check that this is the right file, "
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
        return yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader with bounds
    except _TooComplex as exc:
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
