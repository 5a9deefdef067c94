"""A poison message (a payload the workers cannot decode, or one the pipeline
raises on) between good ones in one chat: the good ones arrive, in order and
promptly; the poisoned ones are retried a bounded number of times, then parked
in the dead letters with their reason; the chat's lane moves on and nothing
stays queued. Real adapters, a real Celery worker, real Redis.

The poisoned events go in through the same ``Ingress`` the adapters use (a
direct ingress push): no platform sends such events on purpose, but a bug in a
converter or in a stage could make one."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
import redis as redis_lib

from core import deadletters
from bridge.ingress import Ingress
from core.models import Author, EventKind, MessageRef, PlatformEvent
from core.task_queue import TaskQueue

from ..e2e.test_whole_path import ANNA
from ..e2e.twins import dc_channel, fleet_env, standins, tg_chat
from ..helpers import serving, wait_until
from ..processes import run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

CHAT = tg_chat(0)


def poisoned(message_id: str, **fields) -> PlatformEvent:
    """An event of Anna's in the test chat, with a field of the wrong type."""
    author = Author(id=str(ANNA["id"]), display_name="Anna Smith", first_name="Anna")
    return PlatformEvent(
        kind=EventKind.NEW, source=MessageRef("telegram", str(CHAT), message_id), author=author, **fields
    )


@pytest.mark.slow
async def test_poisoned_events_are_dead_lettered_and_the_chat_moves_on(
    tmp_path, procs, redis_url, prefix, keys, aredis
):
    telegram, discord = standins(1)
    async with serving(telegram, discord):
        env = fleet_env(tmp_path, 1, redis_url, prefix, telegram, discord)
        procs.start("worker", ["worker", "--concurrency", "2"], env)
        procs.start("run", ["run"], env)
        await wait_until(lambda: discord.identified.is_set(), 90, message="the Discord adapter")
        ingress = Ingress(aredis, keys, TaskQueue.for_settings(SimpleNamespace(redis_prefix=prefix)))
        seq_key = keys.seq(f"telegram:{CHAT}")

        async def position_is(n: int) -> bool:
            return int(await aredis.get(seq_key) or 0) == n

        started = time.monotonic()
        telegram.inject_message(CHAT, ANNA, "good 1")
        await wait_until(lambda: position_is(1), 30, message="good 1 accepted")
        # Raises inside the pipeline (language detection is given a number).
        assert await ingress.accept(poisoned("9001", text=12345))
        telegram.inject_message(CHAT, ANNA, "good 2")
        await wait_until(lambda: position_is(3), 30, message="good 2 accepted")
        # PlatformEvent.from_dict rejects it (a timestamp that is not a number).
        assert await ingress.accept(poisoned("9002", text="a bad timestamp", timestamp="soon"))
        telegram.inject_message(CHAT, ANNA, "good 3")

        def shown():
            return [text for _, text in discord.transcript(dc_channel(0))]

        await wait_until(lambda: len(shown()) >= 3, 60, message="the three good messages")
        elapsed = time.monotonic() - started
        assert shown() == ["good 1", "good 2", "good 3"]  # in order, once each

        sync = redis_lib.Redis.from_url(redis_url, decode_responses=True)
        try:
            await wait_until(lambda: len(deadletters.read(sync, keys)) == 2, 60, message="two dead letters")
            letters = {letter.source: letter for letter in deadletters.read(sync, keys)}
        finally:
            sync.close()
        raised = letters[f"telegram:{CHAT}:9001"]
        rejected = letters[f"telegram:{CHAT}:9002"]
        assert raised.kind == rejected.kind == deadletters.EVENT
        assert raised.attempts == 1 + deadletters.EVENT_RETRIES  # retried, with backoff, then parked
        assert re.search(r"\w+Error", raised.reason)  # what failed, never the text
        assert rejected.attempts == 1  # the same bytes cannot decode on a second try
        assert "bad payload" in rejected.reason and "ValueError" in rejected.reason
        assert raised.link == rejected.link == "pair-0"
        # Nothing of either waits anywhere: Celery's queue, the ingress stream, in-flight markers.
        await wait_until(lambda: _nothing_queued(aredis, prefix, keys), 30, message="empty queues")
        assert procs.procs["worker"].poll() is None  # the worker lives on

        listed = run_cli(["dead-letters", "list"], env=env)
        assert listed.returncode == 0, listed.stderr
        assert "2 dead letter(s)" in listed.stdout and "bad payload" in listed.stdout
        assert "a bad timestamp" not in listed.stdout and "Anna" not in listed.stdout

        # An organiser retries them: both go back through ingress and the worker, at new
        # positions of the chat; still poisoned, they are parked again, and the chat goes on.
        first_ids = {letter.entry_id for letter in letters.values()}
        retried = run_cli(["dead-letters", "retry"], env=env)
        assert "2 dead letter(s) put back" in retried.stdout, retried.stdout + retried.stderr
        telegram.inject_message(CHAT, ANNA, "good 4")
        await wait_until(lambda: len(shown()) >= 4, 60, message="the message after the retried ones")
        assert shown() == ["good 1", "good 2", "good 3", "good 4"]
        sync = redis_lib.Redis.from_url(redis_url, decode_responses=True)
        try:
            await wait_until(lambda: _parked_again(sync, keys, first_ids), 60, message="both parked again")
        finally:
            sync.close()
        await wait_until(lambda: _nothing_queued(aredis, prefix, keys), 30, message="empty queues after the retry")
        print(
            f"\nFIGURES poison: 3 good messages around 2 poisoned ones in one chat shown, in order, "
            f"{elapsed:.1f}s after the first was written; pipeline error parked after {raised.attempts} "
            f"attempts, bad payload after {rejected.attempts}"
        )


def _parked_again(sync, keys, first_ids) -> bool:
    letters = deadletters.read(sync, keys)
    return (
        len(letters) == 2
        and not first_ids & {letter.entry_id for letter in letters}
        and sorted(letter.attempts for letter in letters) == [1, 1 + deadletters.EVENT_RETRIES]
    )


async def _nothing_queued(aredis, prefix, keys) -> bool:
    queued = await aredis.llen(f"{prefix}celery:moderation")
    unacked = await aredis.hlen(f"{prefix}celery:unacked")
    in_ingress = await aredis.xlen(keys.ingress())
    in_flight = [k async for k in aredis.scan_iter(match=f"{keys.prefix}inflight:*")]
    return queued == 0 and unacked == 0 and in_ingress == 0 and not in_flight
