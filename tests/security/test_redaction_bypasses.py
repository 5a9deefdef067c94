"""A hostile member tries to get personal data across a `school` link past redaction:
invisible characters inside an address, fullwidth or Arabic-Indic digits, digits
spaced out, a soft hyphen inside a link, mathematical-bold letters, a number from a
range the numbering plan reserves, national formats of the twins' countries.

The first group goes through the moderation stage (the link's policy and its
communities' languages decide what is looked for); the last test goes through a
real worker and adapters and asserts on what the stand-ins received."""

from __future__ import annotations

import re
import textwrap
import unicodedata

import pytest

from core.links import load_links
from core.models import Author, EventKind, MessageRef, PlatformEvent
from sandbox.discord import DiscordStandIn
from sandbox.telegram import TelegramStandIn
from sandbox.translator import LibreTranslateStandIn
from workers.moderation.stage import moderate

from ..helpers import DC_TOKEN, TG_TOKEN, bridge_env, start_bridge, wait_until

LINKS = """
version: 1
communities:
  leicester: {{name: Leicester Year 8, language: en, chats: [{{telegram: {tg}}}]}}
  krefeld: {{name: Krefeld Klasse 8b, language: {language}, chats: [{{discord: {dc}}}]}}
links:
  - id: year8
    communities: [leicester, krefeld]
    policy: school
policies:
  school:
    moderators: ["telegram:9001"]
    retention_days: 7
"""


def school_link(tmp_path, language="de", tg=-1001000000011, dc=112233445566778811):
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(LINKS.format(tg=tg, dc=dc, language=language)))
    config = load_links(path, pseudonym_key="k")
    return config, config.link("year8")


def moderated(tmp_path, text, language="de"):
    config, link = school_link(tmp_path, language)
    event = PlatformEvent(
        kind=EventKind.NEW,
        source=MessageRef("telegram", "-1001000000011", "7"),
        text=text,
        author=Author(id="5001", display_name="Anna Smith", first_name="Anna"),
    )
    return moderate(event, link, config)


def visible(text: str) -> str:
    """What a reader sees, folded: NFKC, invisible characters gone, digits in ASCII."""
    text = "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c) != "Cf")
    return "".join(str(unicodedata.decimal(c)) if unicodedata.decimal(c, None) is not None else c for c in text)


HOSTILE = [
    # (what the member writes, what must not cross (folded as a reader sees it), marker)
    ("mail me: anna\u200b.smith@exam\u200bple.org", ["anna.smith", "example.org"], "[email removed]"),
    ("mail me: anna.smith\u2060@\u2060example.org", ["anna.smith", "example.org"], "[email removed]"),
    ("mail me: ａｎｎａ＠ｅｘａｍｐｌｅ．ｏｒｇ", ["anna@example.org"], "[email removed]"),
    ("mail me: 𝐚𝐧𝐧𝐚@𝐞𝐱𝐚𝐦𝐩𝐥𝐞.𝐨𝐫𝐠", ["anna@example.org"], "[email removed]"),
    ("mail me: anna [at] example [dot] org", ["anna", "example"], "[email removed]"),
    ("mail me: anna (at) example.org", ["anna", "example"], "[email removed]"),
    ("ring ０７７００ ９００１２３", ["07700"], "[phone removed]"),
    ("ring ٠٧٧٠٠ ٩٠٠١٢٣", ["07700"], "[phone removed]"),
    ("ring 0 7 7 0 0 9 0 0 1 2 3", ["0 7 7 0 0"], "[phone removed]"),
    ("ring 0\u200b7\u200b7\u200b0\u200b0\u200b9\u200b0\u200b0\u200b1\u200b2\u200b3", ["0770"], "[phone removed]"),
    ("ring 07700\u00ad900\u00ad123", ["07700"], "[phone removed]"),
    ("ring 07700-900-123 or 07700.900.123", ["07700"], "[phone removed]"),
    ("ring +44 7700 900123", ["7700 900123"], "[phone removed]"),  # a reserved (drama) range
    ("ring ⓪⑦⑦⓪⓪ ⑨⓪⓪①②③", ["07700"], "[phone removed]"),
    ("ring o77OO 9OO l23", ["77", "9OO"], "[phone removed]"),  # letters for digits
    ("ring 07700 900123 €", ["07700", "900123"], "[phone removed]"),  # a unit does not make it a price
    ("ring order 07700 900123", ["07700", "900123"], "[phone removed]"),  # nor a word an order number
    ("ring 07700 900123 2 times", ["07700", "900123"], "[phone removed]"),
    ("slides: https://exam\u00adple.org/deck", ["example", "deck"], "[link removed]"),
    ("slides: exam\u00adple.org/agenda", ["example"], "[link removed]"),
    ("slides: ｅｘａｍｐｌｅ．ｏｒｇ/agenda", ["example"], "[link removed]"),
    ("ask @bob", ["@bob"], "[handle removed]"),
    ("ask @\u200banna_s", ["anna_s"], "[handle removed]"),
    ("I live at LE1\u00a05WW", ["LE1"], "[postcode removed]"),
    ("Wir wohnen in 47798 Krefeld", ["47798"], "[postcode removed]"),
]


@pytest.mark.parametrize(
    ("text", "secrets", "marker"), HOSTILE, ids=[h[0].encode("unicode_escape").decode()[:40] for h in HOSTILE]
)
def test_disguised_personal_data_does_not_cross(tmp_path, text, secrets, marker):
    result = moderated(tmp_path, text)
    assert marker in result.text
    for secret in secrets:
        assert secret not in visible(result.text), f"{secret!r} crossed in {result.text!r}"
    assert result.text.startswith(text.split()[0] + " ")  # the words around it stay as typed


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("hi", "मेरा नंबर 98765 43210 है"),
        ("hi", "मेरा नंबर +91-98765-43210 है"),
        ("en", "my cousin: 98765 43210"),  # an English class may be in India
        ("zh", "我的手机 138 0013 8000"),
        ("zh", "电话：１３８００１３８０００"),
        ("fr", "appelle au 06 12 34 56 78"),
        ("es", "mi móvil 612 34 56 78"),
        ("pl", "zadzwoń 512 345 678"),
        ("pt", "liga (11) 91234-5678"),
        ("ja", "電話は090-1234-5678です"),
    ],
)
def test_national_phone_formats_of_the_twins_countries(tmp_path, language, text):
    result = moderated(tmp_path, text, language)
    assert result.decisions == {"redacted.phone": 1}
    assert not re.search(r"\d{3}", visible(result.text))


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("de", "Schule: Marktstraße 5, 47798 Krefeld"),
        ("fr", "au 12 rue Victor Hugo, 75001 Paris"),
        ("es", "Calle Mayor 5, 28013 Madrid"),
        ("nl", "Coolsingel 40, 3011 AD Rotterdam"),
        ("pl", "ul. Marszałkowska 1, 00-950 Warszawa"),
        ("it", "Via Orazio 3, 20121 Milano"),
        ("en", "Springfield, IL 62704-1234"),
        ("en", "Ottawa K1A 0B1"),
        ("hi", "अहमदाबाद 380009"),
        ("zh", "上海市徐汇区 200030"),
        ("ja", "〒100-0001 東京都"),
        ("pt", "CEP 01310-100"),
        ("en", "Leicester LE1 5WW"),
    ],
)
def test_postcodes_of_the_twins_countries(tmp_path, language, text):
    assert moderated(tmp_path, text, language).decisions == {"redacted.postcode": 1}


@pytest.mark.parametrize(
    "text",
    [
        "on 12.05.2025 at 14:30",
        "€12,50",
        "order 4471",
        "room 204",
        "1999–2004",
        "ISBN 978-0-306-40615-7",
        "Bestellnummer 4711 0815 2231",
        "Treffen am 23.11.2026 um 14:30 Uhr",
        "25.000 Einwohner",
        "I'm @home",
    ],
)
def test_look_alikes_stay(tmp_path, text):
    assert moderated(tmp_path, text).text == text


# --- end to end: a real worker and adapters, the stand-ins of Telegram, Discord, LibreTranslate ---

CLASS_TG = -1001000000011
GUILD = 112233445566770000
CLASS_DC = 112233445566778811
TEACHER = {"id": 9001, "is_bot": False, "first_name": "Mrs", "last_name": "Patel"}
PUPIL = {"id": 5001, "is_bot": False, "first_name": "Anna", "last_name": "Smith"}
DISGUISED = (
    "Ring me: \uff10\uff17\uff17\uff10\uff10 \uff19\uff10\uff10\uff11\uff12\uff13 or 0 7 7 0 0 9 0 0 1 2 3, "
    "mail a\u200bnna@exam\u200bple.org, slides exam\u00adple.org/deck, insta @bob. "
    "See you on 12.05.2025 at 14:30 in room 204!"
)
MARKERS = ["[phone removed]", "[email removed]", "[link removed]", "[handle removed]"]


def leaked(text: str) -> list[str]:
    seen = visible(text)
    digits = re.sub(r"\D", "", seen)
    return [s for s in ("anna", "example", "@bob", "deck") if s in seen.lower()] + (
        ["the phone number"] if "77009001" in digits else []
    )


@pytest.mark.e2e
@pytest.mark.timeout(120)
async def test_hostile_member_through_the_real_pipeline(tmp_path, procs, redis_url, prefix):
    telegram = TelegramStandIn(token=TG_TOKEN)
    discord = DiscordStandIn(token=DC_TOKEN, guilds={GUILD: {"name": "Krefeld", "channels": {CLASS_DC: "klasse-8b"}}})
    libre = LibreTranslateStandIn()
    for server in (telegram, discord, libre):
        await server.start()
    try:
        env = bridge_env(
            tmp_path,
            LINKS.format(tg=CLASS_TG, dc=CLASS_DC, language="de"),
            redis_url,
            prefix,
            telegram,
            discord,
            LIBRETRANSLATE_URL=libre.url,
            TWINBRIDGE_PSEUDONYM_KEY="test-pseudonym-key-0123456789abcdef",
            TWINBRIDGE_LOG_LEVEL="INFO",
        )
        await start_bridge(procs, env, telegram, discord)
        telegram.start_private(TEACHER)
        telegram.inject_message(CLASS_TG, PUPIL, "/consent")
        await wait_until(
            lambda: any(w == "bot" and "Thank you!" in t for w, t in telegram.transcript(CLASS_TG)),
            30,
            message="the consent confirmation",
        )
        telegram.inject_message(CLASS_TG, PUPIL, DISGUISED)

        # The teacher is shown the message already redacted.
        held = await wait_until(
            lambda: next(
                (m for m in telegram.private_messages(TEACHER["id"]) if "Held for approval" in m["text"]), None
            ),
            30,
            message="the held message at the teacher",
        )
        assert all(marker in held["text"] for marker in MARKERS), held["text"]
        assert leaked(held["text"]) == [], held["text"]
        approve = held["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        telegram.inject_callback(TEACHER, TEACHER["id"], held["message_id"], approve)

        # What the Discord stand-in received: the markers, none of the data, the rest as typed.
        [post] = await wait_until(
            lambda: [p for p in discord.posts(CLASS_DC) if p.get("webhook_id")],
            30,
            message="the approved post on Discord",
        )
        content = post["content"]
        assert all(marker in content for marker in MARKERS), content
        assert leaked(content) == [], content
        assert "12.05.2025" in content and "14:30" in content and "room 204" in content
        # Neither did the translator see any of it.
        translated = [q for r in libre.requests if r.path == "/translate" for q in r.q]
        assert translated and all(leaked(q) == [] for q in translated)
    finally:
        procs.stop_all()
        for server in (telegram, discord, libre):
            await server.stop()
