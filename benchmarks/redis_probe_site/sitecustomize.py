"""Loaded by Python at start-up when this directory is on PYTHONPATH (the rediscost
benchmark only): counts the process's Redis round trips (benchmarks/redis_probe.py)."""

import os

if os.environ.get("TB_BENCH_REDIS_PROBE_DIR"):
    from benchmarks import redis_probe

    redis_probe.install(os.environ["TB_BENCH_REDIS_PROBE_DIR"], os.environ.get("TB_BENCH_REDIS_PROBE_ROLE", "process"))
