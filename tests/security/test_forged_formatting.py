"""A hostile member tries to forge formatting across the bridge.

Real `twinbridge run` and `twinbridge worker` processes, the Telegram and Discord
stand-ins on loopback. A member writes on one platform what would be markup on
the other (a sender line, a masked link, headings, quotes, lists, mentions,
timestamps, spoilers, a code block) under a display name chosen to look like
another sender; the test reads what the other platform's stand-in received and
checks that it shows exactly what was typed, as plain text: on Discord no live
markdown and no ping; on Telegram (parse_mode HTML) no entity but our own bold
sender prefix.
"""

from __future__ import annotations

import re

import pytest

from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, serving, start_bridge, wait_until

pytestmark = pytest.mark.e2e

LEICESTER = -1001000000001
GUILD = 112233445566770000
KREFELD = 112233445566778899

# One language on both sides (nothing is translated), policy `open`: full names,
# links allowed, nothing redacted or masked: the text crosses as typed.
LINKS = f"""
version: 1
communities:
  leicester: {{name: Leicester, language: en, chats: [{{telegram: {LEICESTER}}}]}}
  krefeld: {{name: Krefeld, language: en, chats: [{{discord: {KREFELD}}}]}}
links:
  - {{id: twins, communities: [leicester, krefeld], direction: both, policy: open}}
"""
# Display names chosen to pose as someone else, on a line of their own, with markup.
MALLORY_TG = {"id": 6660, "is_bot": False, "first_name": "Admin · Krefeld\n**Bot**", "last_name": "<b>x</b>"}
MALLORY_DC = {
    "id": "300000000000000666",
    "username": "mallory",
    "discriminator": "0",
    "global_name": "Admin · Leicester\n<b>Bot</b> \u202eevil",
}
ANNA = {"id": 5001, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}

FORGERIES = [
    "**Anna · Krefeld**\nI am the organiser, send me your address",
    "-# sent by the twinbridge team",
    "[verify your account](https://evil.example/login) now",
    "# Official notice\n## Step two\n### Step three",
    "> quoted as if someone said it\n>>> and a whole block",
    "- [photo]\n* *Not translated: no translator was available.*\n+ plus\n1. first\n2) second",
    "@everyone @here <@300000000000000301> <@!300000000000000301> <@&42> <#112233445566778899>",
    "<t:1700000000:R> <:pepe:123456789012345678> <a:wave:123456789012345678> </forgetme:1> <id:customize>",
    "||spoiler|| ~~gone~~ __under__ _it_ *em* `code`",
    "```\nopen code block\n```\nafter the fence ``` and ` alone",
    "\\*already escaped\\* back\\slash \\\\ end\\",
    '<b>Anna · Leicester:</b> <a href="tg://user?id=1">tap</a> &lt;i&gt; &amp; <tg-spoiler>s</tg-spoiler>',
    "<blockquote>Original (English)</blockquote> <code>x</code> <pre>y</pre> <u>u</u> <s>s</s>",
    "a line\n\n**Max · Krefeld:** fake reply\n-# subtext",
    "Tap /forgetme@twinbridge_bot to see the photos, or /consent withdraw",
]

BODY_FORMATTING = {
    "bold",
    "italic",
    "underline",
    "strikethrough",
    "spoiler",
    "code",
    "pre",
    "blockquote",
    "expandable_blockquote",
    "text_link",
}

# -- how Discord shows a content (the markdown rules that matter here) --------------------

_ESCAPED = re.compile(r"\\([^0-9A-Za-z\s])")  # Discord shows \X (X punctuation) as X
_URL = re.compile(r"https?://[^\s<>\[\]`|*~\\]+")
_ZERO_WIDTH = re.compile("[\u200b\u2060]")


def discord_shows(content: str) -> str:
    """The text Discord displays for ``content``, escapes resolved (URLs are taken as they are)."""
    out, position = [], 0
    for url in _URL.finditer(content):
        out += [_ESCAPED.sub(r"\1", content[position : url.start()]), url.group()]
        position = url.end()
    out.append(_ESCAPED.sub(r"\1", content[position:]))
    return _ZERO_WIDTH.sub("", "".join(out))


def live_markup(content: str) -> list[str]:
    """Markdown Discord would act on in ``content`` (empty: it all shows as plain text)."""
    bare = _URL.sub("url", _ESCAPED.sub("e", content))
    found = [f"inline {c!r}" for c in sorted(set(re.findall(r"[*_~|`<]", bare)))]
    if re.search(r"\[[^\]]*\]\(", bare):
        found.append("masked link")
    if re.search(r"@(everyone|here)\b", bare):
        found.append("mass mention")
    for line in bare.split("\n"):
        if re.match(r"\s*(#|>|-#|[-*+]\s|\d+[.)]\s)", line):
            found.append(f"line markup {line[:12]!r}")
    return found


def assert_literal_on_discord(content: str, typed: str) -> None:
    assert live_markup(content) == [], (content, live_markup(content))
    assert discord_shows(content) == typed.strip(), content


def assert_safe_label(label: str, community: str) -> None:
    """The webhook username (or Telegram prefix): one line, and the one "·" in it is ours,
    before the real community, so a chosen name cannot pose as another community's member."""
    assert "\n" not in label and "\u202e" not in label
    sender, _, shown_community = label.rpartition(" · ")
    assert shown_community == community and "·" not in sender, label


@pytest.fixture
async def world(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {KREFELD: "leicester"}}})
    async with serving(telegram, discord):
        env = bridge_env(tmp_path, LINKS, redis_url, prefix, telegram, discord)
        await start_bridge(procs, env, telegram, discord)
        yield telegram, discord
        procs.stop_all()


def webhook_posts(discord) -> list[dict]:
    return [p for p in discord.posts(KREFELD) if p.get("webhook_id")]


async def test_forgeries_from_telegram_show_as_typed_on_discord(world):
    telegram, discord = world
    for n, typed in enumerate(FORGERIES, start=1):
        telegram.inject_message(LEICESTER, MALLORY_TG, typed)
        await wait_until(lambda n=n: len(webhook_posts(discord)) >= n, 30, message=f"forgery {n} on Discord")
        post = webhook_posts(discord)[n - 1]
        assert_literal_on_discord(post["content"], typed)
        assert post["allowed_mentions"] == {"parse": []}
        assert_safe_label(post["username"], "Leicester")


async def test_forgeries_from_discord_show_as_typed_on_telegram(world):
    telegram, discord = world
    for n, typed in enumerate(FORGERIES, start=1):
        discord.inject_message(KREFELD, MALLORY_DC, typed)
        await wait_until(lambda n=n: len(telegram.sent(LEICESTER)) >= n, 30, message=f"forgery {n} on Telegram")
        sent = telegram.sent(LEICESTER)[n - 1]
        assert sent["parse_mode"] == "HTML"
        shown = telegram.message(LEICESTER, sent["message_id"])
        label, _, body = shown["text"].partition(": ")
        assert_safe_label(label, "Krefeld")
        # Our bold "label:" prefix comes first and nothing typed reaches into it. Discord's
        # markdown crosses as formatting since issue 15 (docs/architecture.md, "How
        # formatting crosses"): only formatting, inside the body, links only to http(s).
        entities = shown.get("entities") or []
        assert entities[:1] == [{"type": "bold", "offset": 0, "length": len(label) + 1}], shown
        for entity in entities[1:]:
            assert entity["type"] in BODY_FORMATTING, entity
            assert entity["offset"] >= len(label) + 2, entity
            if entity["type"] == "text_link":
                assert entity["url"].startswith(("https://", "http://")), entity
        if typed.startswith(("<b>", "<blockquote>", "Tap ")):
            # Telegram's own markup typed on Discord is not markdown: it shows as typed.
            assert _ZERO_WIDTH.sub("", body) == typed.strip()
        # Nothing Telegram would make tappable on its own: a bot command or a mention.
        assert not re.search(r"(?<![\w/<>])[/@][A-Za-z0-9_]", body), body  # after < or > Telegram sees none


async def test_reply_quote_of_a_hostile_message_is_neutralised(world):
    telegram, discord = world
    hostile = "```\n# Big\n@everyone [x](https://evil.example) ||s||"
    native = discord.inject_message(KREFELD, MALLORY_DC, hostile)
    await wait_until(lambda: telegram.sent(LEICESTER), 30, message="the hostile message on Telegram")
    copy = telegram.sent(LEICESTER)[0]
    telegram.inject_message(LEICESTER, ANNA, "What do you mean?", reply_to_message_id=copy["message_id"])
    await wait_until(lambda: webhook_posts(discord), 30, message="the reply on Discord")
    content = webhook_posts(discord)[0]["content"]
    lines = content.split("\n")
    quote = [line for line in lines if line.startswith(">")]
    assert quote, content
    link = lines[len(quote)]
    assert link.endswith(f"/{KREFELD}/{native['id']}")
    assert "\n".join(lines[len(quote) + 1 :]) == "What do you mean?"
    body = "\n".join(line[2:] if line.startswith("> ") else line[1:] for line in quote)
    assert live_markup(body) == [], (body, live_markup(body))
    # The quote shows the words the hostile message showed (its markdown consumed, the
    # unclosed fence literal), none of them live.
    assert discord_shows(body) == "```\nBig\n@everyone x s"


# -- a held message shown to a moderator -------------------------------------------------

PSEUDONYM_KEY = "test-pseudonym-key-0123456789abcdef"
CLASS_TG = -1001000000011
CLASS_DC = 112233445566778811
TEACHER_DC = {"id": "300000000000000777", "username": "frau.weber", "global_name": "Frau Weber", "discriminator": "0"}
SCHOOL = f"""
version: 1
communities:
  a: {{name: Year 8, language: en, chats: [{{telegram: {CLASS_TG}}}]}}
  b: {{name: Klasse 8b, language: en, chats: [{{discord: {CLASS_DC}}}]}}
links:
  - {{id: year8, communities: [a, b], policy: school}}
policies:
  school: {{moderators: ["discord:{TEACHER_DC["id"]}"]}}
"""


async def test_a_held_message_shows_as_typed_to_the_moderator(tmp_path, procs, redis_url, prefix):
    """A pupil's held message is copied into the teacher's DM with Approve/Reject:
    it must not be able to pose as the bridge ("**Already approved**", a masked link)."""
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {CLASS_DC: "8b"}}})
    await telegram.start()
    await discord.start()
    try:
        env = bridge_env(tmp_path, SCHOOL, redis_url, prefix, telegram, discord, TWINBRIDGE_PSEUDONYM_KEY=PSEUDONYM_KEY)
        await start_bridge(procs, env, telegram, discord)
        telegram.inject_message(CLASS_TG, ANNA, "/consent")
        await wait_until(
            lambda: any("Thank you!" in t for w, t in telegram.transcript(CLASS_TG) if w == "bot"),
            30,
            message="the consent confirmation",
        )
        typed = "**Already approved by Mrs Patel** ~~ignore~~\n# Approve it [here](https://evil.example) @everyone"
        telegram.inject_message(CLASS_TG, ANNA, typed)
        dm = (await wait_until(lambda: discord.dms(TEACHER_DC["id"]), 30, message="the held message"))[0]
        content = dm["content"]
        assert "Held for approval" in content
        assert live_markup(content) == [], (content, live_markup(content))
        # As typed, but for the link, which the school policy removes before anyone sees it.
        assert typed.replace("https://evil.example", "[link removed]") in discord_shows(content)
    finally:
        procs.stop_all()
        await telegram.stop()
        await discord.stop()
