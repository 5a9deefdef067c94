"""The links configuration of a worker process, loaded once per version of the file.

The worker's main process loads it before its pool forks (the stages' preloads,
workers/app.py), so the pool's processes share those pages copy-on-write instead of each
reading and holding a copy of its own: a 10,000-link file takes ~1 s and ~40 MB per
process (docs/benchmarks.md, "Configuration scale"). A process that finds the file
changed since (its modification time or size) loads it anew, as each pool process did
before at its first task.
"""

from __future__ import annotations

import os

from core.links import LinksConfig, load_links
from core.settings import Settings

_loaded: dict[tuple, LinksConfig] = {}


def _key(settings: Settings) -> tuple:
    path = settings.config_path
    try:
        stat = os.stat(path)
        version: tuple = (stat.st_mtime_ns, stat.st_size)
    except OSError:
        version = ()  # load_links says what is wrong with it
    return (str(path), version, settings.pseudonym_key)


def links_config(settings: Settings) -> LinksConfig:
    """``settings``' links file, validated (:class:`core.links.ConfigError` if it is not)."""
    key = _key(settings)
    config = _loaded.get(key)
    if config is None:
        config = load_links(settings.config_path, pseudonym_key=settings.pseudonym_key)
        keep(settings, config, key)
    return config


def keep(settings: Settings, config: LinksConfig, key: tuple | None = None) -> None:
    """Remember ``config`` as ``settings``' file's (`twinbridge worker` loaded it to check it
    before starting Celery: not read a second time; only the newest is kept)."""
    _loaded.clear()
    _loaded[key or _key(settings)] = config
