"""How a stand-in exposes the API of the parts it is composed of."""

from __future__ import annotations

from typing import Any


class Part:
    """A public attribute or method of a stand-in that lives in one of its parts:
    ``posts = Part("state")`` makes ``stand_in.posts`` read (and assign) ``stand_in.state.posts``."""

    def __init__(self, part: str):
        self.part = part
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, stand_in: Any, owner: type | None = None) -> Any:
        if stand_in is None:
            return self
        return getattr(getattr(stand_in, self.part), self.name)

    def __set__(self, stand_in: Any, value: Any) -> None:
        setattr(getattr(stand_in, self.part), self.name, value)
