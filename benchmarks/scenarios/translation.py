"""4. Translation economy: provider calls per message, and the policy's cache.

Two links of five communities each: Leicester (Telegram, en) writes; the four
others read German (Discord), French (Telegram), Spanish (Discord) and German
(Telegram): 4 destinations, 3 target languages. Calls are counted where they
land, at the LibreTranslate stand-in.

- link ``economy`` (no cache): one message → expected 3 provider calls.
- link ``cached`` (``translation_cache_days: 1``): the same message twice →
  expected 3 calls for the first, 0 for the second (3 cache hits).
"""

from __future__ import annotations

from ..load import Traffic
from ..world import Community, Layout, Link, World
from . import Context

LEICESTER = {"id": 5001, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}
READERS = (("de", "discord"), ("fr", "telegram"), ("es", "discord"), ("de", "telegram"))
TEXTS = (
    "Good morning everyone, the meeting is tomorrow at the town hall, please bring your friends",
    "Thank you for the welcome, see you on Saturday at the match with the whole community",
    "Hello friends, the event today starts at the library, everyone is welcome",
)


def _link(layout: Layout, name: str, base: int, policy: str) -> tuple[int, list[tuple[str, str, int]]]:
    source = Community(f"{name}_leicester", "Leicester", "en", "telegram", -1003000000000 - base)
    layout.communities.append(source)
    readers = []
    for k, (language, platform) in enumerate(READERS, start=1):
        chat = (-1003000000000 - base - k) if platform == "telegram" else (112233445566800000 + base + k)
        community = Community(f"{name}_{k}_{language}", f"Twin {k}", language, platform, chat)
        layout.communities.append(community)
        readers.append((language, platform, chat))
    layout.links.append(Link(name, tuple(c.id for c in layout.communities[-5:]), policy))
    return source.chat, readers


async def _send(world: World, chat: int, text: str, expected_posts: int) -> dict:
    """One message; how many provider calls it caused and what each reader got."""
    calls_before = len(world.standins.libre.requests)
    traffic = Traffic(world, [])
    traffic.begin()
    world.telegram.inject_message(chat, LEICESTER, text)
    arrived = await traffic.wait_delivered(expected_posts, timeout=30)
    calls = [r for r in world.standins.libre.requests[calls_before:] if r.path == "/translate"]
    return {
        "posts_arrived": traffic.delivered(),
        "all_arrived": arrived is not None,
        "provider_calls": len(calls),
        "targets_called": sorted(r.target for r in calls),
    }


async def run(ctx: Context) -> dict:
    layout = Layout(
        policies={
            "bench": {"base": "community", "translation": ["libre"]},
            "cached": {"base": "community", "translation": ["libre"], "translation_cache_days": 1},
        }
    )
    economy_source, readers = _link(layout, "economy", 0, "bench")
    cached_source, _ = _link(layout, "cached", 100, "cached")
    languages = sorted({language for language, _, _ in readers})
    runs = []
    async with World(layout, ctx.redis_url, name="translation") as world:
        await world.start_worker(2)
        await world.start_adapters()
        for k in range(1 if ctx.quick else ctx.runs):
            text = TEXTS[k % len(TEXTS)]
            one = await _send(world, economy_source, text, len(READERS))
            first = await _send(world, cached_source, text, len(READERS))
            cache_entries = len([key async for key in world.redis.scan_iter(match=f"{world.prefix}tr:*")])
            second = await _send(world, cached_source, text, len(READERS))
            hits = len(languages) - second["provider_calls"] if second["all_arrived"] else None
            runs.append(
                {
                    "uncached": one,
                    "cached_first": first,
                    "cached_second": second,
                    "cache_entries": cache_entries,
                    "cache_hits_second": hits,
                }
            )
            ctx.say(
                f"translation run {k + 1}: {one['provider_calls']} calls for {len(READERS)} readers in "
                f"{len(languages)} languages; cached link: {first['provider_calls']} then "
                f"{second['provider_calls']} calls ({hits} cache hits)"
            )
        # Which language each reader got (the stand-in marks its translations "[xx] ").
        shown = {}
        for language, platform, chat in readers:
            texts = (
                [s["text"] for s in world.telegram.sent(chat)]
                if platform == "telegram"
                else [p["content"] for p in world.discord.posts(chat)]
            )
            shown[f"{platform}:{language}"] = all(f"[{language}]" in t for t in texts) and bool(texts)
    return {
        "setup": {
            "readers": [f"{p}:{lang}" for lang, p, _ in readers],
            "target_languages": languages,
            "runs": len(runs),
        },
        "runs": runs,
        "each_reader_got_its_language": shown,
    }
