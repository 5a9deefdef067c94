"""The stored formats' version (the ``config:schema`` key) and the migrations between versions.

Version 1 is the formats as issue 16 found them (an install without the key is at version 1).
A change of a stored format adds a step to :data:`MIGRATIONS` (``n`` -> the function that takes
the keys from version ``n`` to ``n + 1``; each step idempotent: a crash half-way and a second run
must end in the same state) and bumps :data:`CURRENT`. Every long-running process checks at start
(:func:`check`): an older Redis is migrated, a newer one refuses the process (exit 2)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from .keys import Keys

CURRENT = 1

Migration = Callable[[object, Keys], None]

# n -> the step from version n to n + 1 (none yet: version 1 is today's formats).
MIGRATIONS: dict[int, Migration] = {}


class SchemaTooNew(Exception):
    """The Redis was written by a newer twinbridge than this one."""

    def __init__(self, stored: int, known: int):
        self.stored, self.known = stored, known
        super().__init__(
            f"this Redis was written by a newer twinbridge (stored formats version {stored}, this twinbridge "
            f"knows up to {known}); upgrade this host"
        )


def stored_version(redis, keys: Keys) -> int | None:
    """The stored formats' version, or None when the key is absent (an install from before it)."""
    value = redis.get(keys.schema())
    if value is None:
        return None
    return int(value.decode() if isinstance(value, bytes) else value)


def set_version(redis, keys: Keys, version: int) -> None:
    redis.set(keys.schema(), str(version))  # configuration: no expiry


def check(redis, keys: Keys, *, current: int = CURRENT, migrations: Mapping[int, Migration] | None = None) -> list[int]:
    """Bring the stored formats to ``current``: run each registered step from the stored
    version up, recording the version after each (so a crash resumes at the step that failed).
    Returns the versions migrated from ([] when nothing was to do). Raises
    :class:`SchemaTooNew` when Redis holds a newer version than ``current``."""
    steps = MIGRATIONS if migrations is None else migrations
    stored = stored_version(redis, keys)
    version = 1 if stored is None else stored
    if version > current:
        raise SchemaTooNew(version, current)
    done: list[int] = []
    while version < current:
        step = steps.get(version)
        if step is None:
            raise RuntimeError(f"no migration registered from stored formats version {version}")
        step(redis, keys)
        done.append(version)
        version += 1
        set_version(redis, keys, version)
    if stored is None:
        set_version(redis, keys, version)
    return done
