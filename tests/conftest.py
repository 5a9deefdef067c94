"""Shared fixtures: a real Redis (dedicated database, a key prefix per test,
cleaned afterwards)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import redis as redis_lib
import redis.asyncio as aioredis

from core.storage.keys import Keys

# What a test needs, marked by its directory (tests/unit: nothing; tests/integration: a
# real Redis, clients against the stand-ins, sometimes a worker; tests/e2e: the
# `twinbridge` commands as subprocesses). tests/security and tests/faults are groups of
# their own: their modules say which kind they are (pytestmark), unit when they do not.
KINDS = ("unit", "integration", "e2e")
GROUPS = ("security", "faults", "browser")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by these marks
def pytest_collection_modifyitems(config, items):
    root = Path(__file__).parent
    for item in items:
        directory = item.path.relative_to(root).parts[0]
        if directory in KINDS:
            item.add_marker(directory)
        elif directory in GROUPS:
            item.add_marker(directory)
            if not any(item.get_closest_marker(kind) for kind in KINDS):
                item.add_marker("unit")
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    if workers > 1:
        items[:] = _longest_first(items, workers)


def _weight(item) -> int:
    """A rough cost: a test marked slow, then the ones that start processes, then Redis, then pure."""
    if item.get_closest_marker("slow"):
        return 3
    if item.get_closest_marker("e2e"):
        return 2
    return 1 if item.get_closest_marker("integration") else 0


def _longest_first(items: list, workers: int) -> list:
    """The order pytest-xdist hands out: each worker gets a contiguous block of the list and
    the others steal the END of a busy worker's block. Dealt round-robin by cost, every block
    starts with its share of the long tests and ends with quick ones, so no worker is left
    alone with a 90-second test at the end (the same order in every worker: stable sort)."""
    ordered = sorted(items, key=_weight, reverse=True)
    return [item for block in range(workers) for item in ordered[block::workers]]


def _test_redis_url() -> str:
    """db 15, or with pytest-xdist one database per worker (gw0: 15, gw1: 13, gw2: 12, …;
    14 is the benchmark's), so parallel groups never see each other's keys or queues."""
    explicit = os.environ.get("TWINBRIDGE_TEST_REDIS_URL")
    if explicit:
        return explicit
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    return f"redis://127.0.0.1:6379/{15 if index == 0 else 14 - index}"


TEST_REDIS_URL = _test_redis_url()


def _cleanup(prefix: str) -> None:
    client = redis_lib.Redis.from_url(TEST_REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)
    client.close()


@pytest.fixture
def redis_url() -> str:
    return TEST_REDIS_URL


@pytest.fixture
def prefix() -> str:
    value = f"tbtest:{uuid.uuid4().hex[:10]}:"
    yield value
    _cleanup(value)


@pytest.fixture
def keys(prefix) -> Keys:
    return Keys(prefix)


@pytest.fixture
def sync_redis(redis_url):
    client = redis_lib.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
async def aredis(redis_url):
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def celery_app(settings):
    """A Celery app (producer side) for the module's `settings` fixture."""
    from workers.app import make_celery

    app = make_celery(settings)
    yield app
    app.close()


@pytest.fixture
def procs(tmp_path, prefix):
    """Start real `twinbridge` commands; stopped (and their logs shown on failure) afterwards.
    Depends on `prefix` so the processes stop before the test's keys are cleaned up."""
    from .processes import Procs

    p = Procs(tmp_path)
    yield p
    p.stop_all()
    for name in p.procs:  # pytest shows this output only when the test failed
        print(f"----- {name} log -----\n{p.log(name)[-4000:]}")
