"""A YAML document to Python objects in one bounded pass over the parser's events.

PyYAML's safe loading builds a node graph first (a node and two marks per value, about
300 bytes each: 120 MB for a 10,000-link file) and the objects from it afterwards. Here
the objects are built as libyaml's events arrive (PyYAML's own parser where it was built
without libyaml), with PyYAML's resolver and safe constructors for every scalar, so the
values are the same as `yaml.safe_load`'s; only the assembly of lists and mappings is
ours, and it refuses, before building more, a document that nests more than ``max_depth``
levels or whose aliases expand to more than ``max_values`` values (a "billion laughs"),
and an alias inside the node it refers to. Collections with an explicit tag (``!!set``,
``!!omap``) are refused: a links file has none.
"""

from __future__ import annotations

from typing import Any

import yaml

# libyaml's parser where PyYAML was built with it (its wheels are): ten times faster.
LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_STR = "tag:yaml.org,2002:str"


class TooComplex(yaml.YAMLError):
    def __init__(self, message: str, fix: str, mark: yaml.Mark | None = None) -> None:
        super().__init__(message)
        self.message, self.fix, self.mark = message, fix, mark


class _Merge:
    """The ``<<`` key of a mapping: what follows is merged into it."""


class _Open:
    """A list or mapping being read: its items so far, the values it expands to, its anchor."""

    __slots__ = ("anchor", "items", "mapping", "merges", "pending_key", "size", "start_mark")

    def __init__(self, mapping: bool, anchor: str | None, start_mark: yaml.Mark) -> None:
        self.mapping = mapping
        self.anchor = anchor
        self.start_mark = start_mark
        self.items: list[Any] = []
        self.merges: list[Any] = []
        self.pending_key: Any = None  # a mapping's key waiting for its value
        self.size = 1

    def add(self, value: Any, mark: yaml.Mark) -> None:
        if not self.mapping:
            self.items.append(value)
        elif self.pending_key is None:
            try:
                hash(value)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", self.start_mark, "found unhashable key", mark
                ) from None
            self.pending_key = (value,)
        else:
            key = self.pending_key[0]
            self.pending_key = None
            if key is _Merge:
                self.merges.append((value, mark))
            else:
                self.items.append((key, value))

    def value(self) -> Any:
        if not self.mapping:
            return self.items
        merged: list[tuple[Any, Any]] = []
        for value, mark in self.merges:  # as PyYAML's flatten_mapping: explicit keys win, then the first merged
            parts = value if isinstance(value, list) else [value]
            if not all(isinstance(part, dict) for part in parts):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    self.start_mark,
                    "expected a mapping or list of mappings for merging",
                    mark,
                )
            for part in reversed(parts):
                merged.extend(part.items())
        return dict(merged + self.items)


def load(text: str, *, max_depth: int, max_values: int) -> Any:
    """The document's value (None for an empty one), or a YAMLError: :class:`TooComplex`
    for the bounds, PyYAML's own errors for the rest (syntax, an undefined alias, several
    documents, a tag without a safe constructor)."""
    loader = LOADER(text)
    try:
        return _build(loader, max_depth, max_values)
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" in str(exc.problem):  # libyaml's own limit (1,000 levels), met while scanning ahead
            raise _too_deep(max_depth, exc.problem_mark) from None
        raise
    finally:
        loader.dispose()


def _too_deep(max_depth: int, mark: yaml.Mark | None) -> TooComplex:
    return TooComplex(
        f"nested more than {max_depth} levels deep",
        "a links file needs a handful of levels; remove the extra brackets or indentation",
        mark,
    )


def _build(loader: yaml.SafeLoader, max_depth: int, max_values: int) -> Any:
    constructors = loader.yaml_constructors
    anchors: dict[str, tuple[Any, int]] = {}  # anchor -> (its value, the values it expands to)
    stack: list[_Open] = []
    documents = 0
    result: Any = None
    while loader.check_event():
        event = loader.get_event()  # type: ignore[no-untyped-call]  # untyped in its stubs
        kind = type(event)
        if kind is yaml.ScalarEvent:
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
            if tag == _STR:  # most values: what the safe constructor returns for them
                value: Any = event.value
            elif tag == _MERGE and stack and stack[-1].mapping and stack[-1].pending_key is None:
                value = _Merge
            else:
                construct = constructors.get(tag)
                if construct is None or tag in (_SEQ, _MAP):
                    raise yaml.constructor.ConstructorError(
                        None, None, f"could not determine a constructor for the tag {tag!r}", event.start_mark
                    )
                value = construct(loader, yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark))
            size = 1
            if event.anchor is not None:
                anchors[event.anchor] = (value, size)
        elif kind is yaml.SequenceStartEvent or kind is yaml.MappingStartEvent:
            if len(stack) >= max_depth:
                raise _too_deep(max_depth, event.start_mark)
            default = _MAP if kind is yaml.MappingStartEvent else _SEQ
            if event.tag not in (None, "!", default):
                raise yaml.constructor.ConstructorError(
                    None, None, f"the tag {event.tag!r} is not used in a links file", event.start_mark
                )
            stack.append(_Open(kind is yaml.MappingStartEvent, event.anchor, event.start_mark))
            continue
        elif kind is yaml.SequenceEndEvent or kind is yaml.MappingEndEvent:
            node = stack.pop()
            value, size = node.value(), node.size
            if node.anchor is not None:
                anchors[node.anchor] = (value, size)
        elif kind is yaml.AliasEvent:
            if any(node.anchor == event.anchor for node in stack):
                raise TooComplex(
                    "an alias refers to the node it is inside of (a loop)",
                    "use aliases (`*name`) only for parts defined before and outside them",
                    event.start_mark,
                )
            if event.anchor not in anchors:
                raise yaml.composer.ComposerError(
                    None, None, f"found undefined alias {event.anchor!r}", event.start_mark
                )
            value, size = anchors[event.anchor]
        else:
            if kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise yaml.composer.ComposerError(
                        "expected a single document in the stream", None, "but found another document", event.start_mark
                    )
                anchors.clear()
            continue
        if stack:
            stack[-1].size += size
            size = stack[-1].size
            stack[-1].add(value, event.start_mark)
        else:
            result = value
        if size > max_values:
            raise TooComplex(
                f"its anchors and aliases expand to more than {max_values:,} values (an alias bomb?)",
                "write the repeated parts out, or nest fewer aliases (`*name`) inside anchored parts",
                event.start_mark,
            )
    return result
