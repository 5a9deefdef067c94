"""The load generator: members' messages injected into the stand-ins at a paced
rate, and matched with the posts that reach the other side.

Each message carries a token (``zq…zq``, letters only, so no redaction,
translation or profanity filter touches it); the destination stand-in stamps
each post with its receipt time (``receipts=True``), so a message's latency is
receipt time minus inject time, both ``time.perf_counter()`` in this process.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

from .world import World

_LETTERS = "abcdefghijklmnop"
TOKEN = re.compile(r"zq([a-p]+)zq")
# Long enough for the offline detector to be sure; the token is noise to it.
TEXTS = {
    "telegram": "Hello friends, see you on Saturday at the market, bring the children {}",
    "discord": "Hallo Freunde, bis Samstag auf dem Markt, bringt die Kinder mit {}",
}
TG_MEMBERS = [
    {"id": 5000 + i, "is_bot": False, "first_name": name, "last_name": "Bench"}
    for i, name in enumerate(("Anna", "Ben", "Chloe", "Dev", "Emma", "Farid", "Grace", "Hugo"))
]
DC_MEMBERS = [
    {"id": str(300000000000000300 + i), "username": name.lower(), "global_name": f"{name} K.", "discriminator": "0"}
    for i, name in enumerate(("Max", "Lena", "Jonas", "Mia", "Paul", "Sofia", "Tim", "Zoe"))
]


def token(n: int) -> str:
    digits = format(n, "x")
    return "zq" + "".join(_LETTERS[int(d, 16)] for d in digits) + "zq"


def token_number(text: str) -> int | None:
    found = TOKEN.search(text or "")
    if not found:
        return None
    return int("".join(format(_LETTERS.index(c), "x") for c in found.group(1)), 16)


async def pace(rate: float, count: int, action) -> dict:
    """Call ``action()`` ``count`` times, the i-th at start + i/rate (never early;
    late ones catch up at once). Returns what was actually offered."""
    start = time.perf_counter()
    done = 0
    while done < count:
        due = min(count, int((time.perf_counter() - start) * rate) + 1)
        while done < due:
            action()
            done += 1
        if done < count:
            delay = start + done / rate - time.perf_counter()
            await asyncio.sleep(max(0.0, delay))
    elapsed = time.perf_counter() - start
    # The rate at which the messages went in: count-1 intervals between the first and the last.
    achieved = (count - 1) / elapsed if elapsed > 0 and count > 1 else float(count)
    return {"offered": count, "seconds": elapsed, "target_rate": rate, "achieved_rate": achieved}


@dataclass
class Batch:
    """The messages injected since :meth:`Traffic.begin`."""

    tg_mark: int
    dc_mark: int
    first: int  # number of the first message
    injected: dict[int, tuple[float, str]] = field(default_factory=dict)  # n -> (inject time, source)


class Traffic:
    """Injects messages round-robin across the source chats and matches the posts."""

    def __init__(self, world: World, pairs: list[tuple[int, int]], directions=("telegram", "discord")):
        self.world = world
        self.sources: list[tuple[str, int]] = []
        for tg, dc in pairs:
            if "telegram" in directions:
                self.sources.append(("telegram", tg))
            if "discord" in directions:
                self.sources.append(("discord", dc))
        self._next = 0
        self._turn = 0
        self.batch: Batch | None = None

    def begin(self) -> Batch:
        self.batch = Batch(self.world.telegram.sent_count, self.world.discord.post_count, self._next)
        return self.batch

    def inject(self, source: tuple[str, int] | None = None) -> int:
        if source is None:
            source = self.sources[self._turn % len(self.sources)]
            self._turn += 1
        platform, chat = source
        n = self._next
        self._next += 1
        text = TEXTS[platform].format(token(n))
        at = time.perf_counter()
        if platform == "telegram":
            self.world.telegram.inject_message(chat, TG_MEMBERS[n % len(TG_MEMBERS)], text)
        else:
            self.world.discord.inject_message(chat, DC_MEMBERS[n % len(DC_MEMBERS)], text)
        self.batch.injected[n] = (at, platform)
        return n

    def delivered(self) -> int:
        """Posts made since :meth:`begin` (both platforms)."""
        b = self.batch
        return self.world.telegram.sent_count - b.tg_mark + self.world.discord.post_count - b.dc_mark

    async def wait_delivered(self, expected: int, timeout: float, stall: float | None = None) -> float | None:
        """perf_counter() when ``expected`` posts had arrived; None after ``timeout``, or
        once nothing new arrived for ``stall`` seconds."""
        now = time.perf_counter()
        deadline, last_progress, seen = now + timeout, now, self.delivered()
        while now < deadline:
            delivered = self.delivered()
            if delivered >= expected:
                return now
            if delivered != seen:
                seen, last_progress = delivered, now
            elif stall is not None and now - last_progress > stall:
                return None
            await asyncio.sleep(0.02)
            now = time.perf_counter()
        return None

    def receipts(self) -> list[tuple[int, float, str, str]]:
        """(message number, latency s, source platform, destination platform) of every
        post of this batch that carries one of its tokens."""
        b = self.batch
        found = []
        arrived = [
            (p.get("received_at"), p.get("content") or "", "discord") for p in self.world.discord.posts()[b.dc_mark :]
        ]
        arrived += [
            (s.get("received_at"), s.get("text") or "", "telegram") for s in self.world.telegram.sent()[b.tg_mark :]
        ]
        for received_at, text, destination in arrived:
            n = token_number(text)
            if n is None or n not in b.injected or received_at is None:
                continue
            injected_at, source = b.injected[n]
            found.append((n, received_at - injected_at, source, destination))
        return found

    async def warm_up(self, per_source: int = 1, rate: float = 100.0, timeout: float = 60.0) -> None:
        """One (or a few) messages from every source chat: webhooks made, workers'
        models loaded, connections open. Raises if they do not all arrive."""
        self.begin()
        count = per_source * len(self.sources)
        await pace(rate, count, self.inject)
        if await self.wait_delivered(count, timeout) is None:
            raise RuntimeError(
                f"warm-up: only {self.delivered()} of {count} posts arrived in {timeout:.0f}s; "
                f"adapters log:\n{self.world.procs.log_tail('adapters')}"
            )
