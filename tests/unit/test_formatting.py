"""Formatting both ways: Telegram entities and Discord markdown -> spans
(core/formatting.py) -> Telegram HTML and Discord markdown, read back the way each
platform reads them (the Telegram stand-in's HTML parser, discord-markdown-py), with
recorded payloads beside the adapters."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from aiogram.types import MessageEntity, Update

import bridge.discord
import bridge.telegram
from bridge.discord import render as discord_render
from bridge.discord.convert import event_from_message as discord_event
from bridge.discord.command_cog import formatted_args
from bridge.discord.formatting import parse as parse_markdown
from bridge.telegram import render as telegram_render
from bridge.telegram.convert import event_from_message as telegram_event
from bridge.telegram.formatting import entities_from_spans, read_entities, spans_from_entities
from bridge.telegram.polling import drop_malformed_entities
from bridge.telegram.formatting import to_html as telegram_html
from core import formatting as fmt
from core.formatting import Span
from core.models import ChatRef, EventKind, MessageRef, OutboundPost, PlatformEvent
from sandbox.telegram.formatting import parse_html
from workers.moderation.redaction import redact
from workers.translation.text import protect_formatted

TG_PAYLOADS = Path(bridge.telegram.__file__).parent / "payloads"
DC_PAYLOADS = Path(bridge.discord.__file__).parent / "payloads"
FORMATTING_KINDS = {
    "bold",
    "italic",
    "underline",
    "strikethrough",
    "spoiler",
    "code",
    "pre",
    "text_link",
    "blockquote",
    "expandable_blockquote",
}


def tg_update(name: str):
    return Update.model_validate(json.loads((TG_PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))).message


def tg_entities(text: str, entities: list[dict]) -> tuple[Span, ...]:
    return spans_from_entities(text, [MessageEntity.model_validate(e) for e in entities])


def formatting_entities(entities: list[dict]) -> list[dict]:
    kept = [
        {k: v for k, v in e.items() if k in ("type", "offset", "length", "url", "language")}
        for e in entities
        if e["type"] in FORMATTING_KINDS
    ]
    return sorted(kept, key=lambda e: (e["offset"], -e["length"], e["type"]))


def entity(text: str, kind: str, part: str, **extra) -> dict:
    """A Bot API entity over ``part`` of ``text``, in UTF-16 units as Telegram counts."""
    start = text.index(part)
    return {
        "type": kind,
        "offset": fmt.utf16_offsets(text)[start],
        "length": len(part.encode("utf-16-le")) // 2,
        **extra,
    }


def shown_on_telegram(text: str, spans) -> tuple[str, list[dict]]:
    """What Telegram shows for our HTML: its text and entities (the stand-in's parser)."""
    shown, entities = parse_html(telegram_html(text, spans))
    return shown, formatting_entities(entities)


def post(text: str, spans=(), **changes) -> OutboundPost:
    return OutboundPost(
        kind=EventKind.NEW,
        link_id="l",
        destination=ChatRef("telegram", "-100"),
        source=MessageRef("discord", "1", "2"),
        sender="Anna",
        community="Leicester",
        text=text,
        formatting=tuple(spans),
        **changes,
    )


# -- Telegram entities --------------------------------------------------------------------


def test_telegram_entities_become_spans_with_utf16_offsets_right_after_emoji():
    message = tg_update("formatted_text")
    event = telegram_event(message, EventKind.NEW)
    shown = {(s.kind, event.text[s.start : s.end], s.data) for s in event.formatting}
    assert shown == {
        ("bold", "Samstag im Park!", ""),
        ("italic", "im Park", ""),
        ("link", "Park", "https://example.org/park?day=sat&x=1"),
        ("code", "<b>", ""),
        ("underline", "𝐌𝐚𝐢𝐧 stage", ""),  # astral letters: two UTF-16 units each
        ("strikethrough", "details", ""),  # after 👍🏽 (four units) and 𝐌𝐚𝐢𝐧
        ("pre", 'print("hi")', "python"),
        ("blockquote", "A quoted line", ""),
        ("spoiler", "spoiler ❤️", ""),
    }  # the hashtag and the custom emoji (its text is already the fallback emoji) are not formatting
    assert PlatformEvent.from_dict(json.loads(json.dumps(event.to_dict()))) == event


def test_caption_entities_format_the_caption():
    event = telegram_event(tg_update("photo_caption_formatted"), EventKind.NEW)
    assert [(s.kind, event.text[s.start : s.end]) for s in event.formatting] == [
        ("bold", "Schloss"),
        ("italic", "bei Nacht"),
    ]


def test_entities_outside_the_text_or_with_odd_links_are_left_out():
    spans = tg_entities(
        "ab😀",
        [
            {"type": "bold", "offset": 2, "length": 5},
            {"type": "text_link", "offset": 0, "length": 2, "url": "javascript:alert(1)"},
            {"type": "italic", "offset": 0, "length": 4},
        ],
    )
    assert spans == (Span(0, 3, "italic"),)


def test_impossible_entities_are_left_out_and_counted_the_text_as_typed():
    """Offsets the Bot API never sends: each is left out and counted, the rest kept."""
    text = "ab😀cd efgh"  # 😀 is two UTF-16 units: offsets 2..4
    spans, bad = read_entities(
        text,
        [
            MessageEntity(type="bold", offset=0, length=2),  # kept
            MessageEntity(type="italic", offset=-1, length=3),  # negative
            MessageEntity(type="bold", offset=5, length=99),  # past the end
            MessageEntity(type="underline", offset=3, length=2),  # starts inside 😀
            MessageEntity(type="strikethrough", offset=1, length=0),  # empty
            MessageEntity(type="url", offset=40, length=2),  # not formatting, but impossible too
            MessageEntity(type="code", offset=7, length=4),  # kept: "efgh"
            MessageEntity(type="bold", offset=8, length=1),  # inside code
            MessageEntity(type="italic", offset=1, length=4),  # crosses the bold without holding it
            MessageEntity(type="blockquote", offset=0, length=11),  # kept
            MessageEntity(type="expandable_blockquote", offset=0, length=6),  # a quote in a quote
            MessageEntity(type="text_link", offset=0, length=4, url="https://a.example"),  # kept
            MessageEntity(type="text_link", offset=0, length=2, url="https://b.example"),  # a link in a link
        ],
    )
    assert bad == 9
    assert {(s.kind, text[s.start : s.end], s.data) for s in spans} == {
        ("bold", "ab", ""),
        ("code", "efgh", ""),
        ("blockquote", text, ""),
        ("link", "ab😀", "https://a.example"),
    }
    assert read_entities(text, None) == ((), 0)


def test_malformed_entities_are_taken_out_of_the_raw_update_before_aiogram_reads_it():
    raw = json.loads((TG_PAYLOADS / "formatted_text.json").read_text(encoding="utf-8"))
    message = raw["message"]
    good = copy.deepcopy(message["entities"])
    message["entities"] += [
        {"type": "bold", "offset": "3", "length": 2},
        {"type": "bold", "offset": 2.5, "length": 2},
        {"type": "italic", "offset": None, "length": 2},
        {"type": "italic", "offset": True, "length": 2},
        {"offset": 1, "length": 2},
        "bold",
    ]
    message["reply_to_message"] = {**copy.deepcopy(message), "caption_entities": {"type": "bold"}}
    assert drop_malformed_entities(raw) == 6 + 6 + 1
    assert message["entities"] == good and "caption_entities" not in message["reply_to_message"]
    event = telegram_event(Update.model_validate(raw).message, EventKind.NEW)
    assert event is not None and len(event.formatting) == 9


def test_spans_back_to_telegram_html_give_the_same_entities():
    message = tg_update("formatted_text")
    event = telegram_event(message, EventKind.NEW)
    raw = json.loads((TG_PAYLOADS / "formatted_text.json").read_text(encoding="utf-8"))["message"]
    shown, entities = shown_on_telegram(event.text, event.formatting)
    assert shown == raw["text"]
    assert entities == formatting_entities(raw["entities"])
    assert formatting_entities(entities_from_spans(event.text, event.formatting)) == entities


def test_literal_markup_typed_on_discord_shows_literally_on_telegram():
    parsed = parse_markdown(r"<b>not bold</b> &amp; \*x\*")
    assert parsed.spans == ()
    shown, entities = shown_on_telegram(parsed.text, parsed.spans)
    assert shown == "<b>not bold</b> &amp; *x*" and entities == []


# -- Discord markdown ---------------------------------------------------------------------


def test_discord_markdown_becomes_spans_by_discords_rules():
    payload = json.loads((DC_PAYLOADS / "message_create_formatted.json").read_text(encoding="utf-8"))
    parsed = parse_markdown(payload["content"])
    text = parsed.text
    assert text.startswith(
        "Sommerfest\nSamstag im Park, bring *nicht fett* & <b> snake_case_name unter alt geheim x*y\n"
    )
    assert text.endswith('Kuchen\nMusik\nZitat\nprint("hi")\nklein 😄')
    shown = {(s.kind, text[s.start : s.end], s.data) for s in parsed.spans}
    assert shown == {
        ("heading", "Sommerfest", "1"),
        ("bold", "Samstag im Park", ""),
        ("italic", "im Park", ""),
        ("link", "Park", "https://example.org/park?day=sat"),
        ("underline", "unter", ""),
        ("strikethrough", "alt", ""),
        ("spoiler", "geheim", ""),
        ("code", "x*y", ""),
        ("list_item", "Kuchen", "•"),
        ("list_item", "Musik", "•"),
        ("blockquote", "Zitat", ""),
        ("pre", 'print("hi")', "python"),
        ("subtext", "klein 😄", ""),
    }  # snake_case_name: underscores inside a word are not italics on Discord


def test_recorded_discord_message_carries_its_formatting():
    from tests.unit.test_discord_convert import Gateway

    gateway = Gateway()
    message = gateway.feed("MESSAGE_CREATE", json.loads((DC_PAYLOADS / "message_create_formatted.json").read_text()))
    event = discord_event(message, EventKind.NEW)
    assert event.text == parse_markdown(message.content).text
    assert event.formatting == parse_markdown(message.content).spans and len(event.formatting) == 13


def test_discord_markdown_round_trips_through_spans():
    content = json.loads((DC_PAYLOADS / "message_create_formatted.json").read_text(encoding="utf-8"))["content"]
    parsed = parse_markdown(content)
    again = parse_markdown(discord_render.formatted(parsed.text, parsed.spans))
    assert (again.text, again.spans) == (parsed.text, parsed.spans)


def test_literal_markdown_typed_on_telegram_shows_literally_on_discord():
    text = "*not bold* __nor__ this ~~one~~ ||x|| `y` # no [a](https://x.org) > q <@123456789012345678> @everyone"
    markdown = discord_render.formatted(text, ())
    parsed = parse_markdown(markdown)
    assert parsed.text.replace("\u200b", "") == text and parsed.spans == ()


def test_hostile_markdown_is_plain_text_not_a_crash():
    content = "*" * 5000 + "_" * 5000 + "[" * 3000
    parsed = parse_markdown(content)
    assert parsed.text  # read, or given up on and kept as typed: the text never goes missing


# -- nesting, TG -> DC -> TG --------------------------------------------------------------


def test_nested_bold_italic_link_round_trips_telegram_discord_telegram():
    text = "Join us 🎉 at the big summer fair on Saturday!"
    entities = [
        entity(text, "bold", "at the big summer fair on Saturday!"),
        entity(text, "italic", "big summer fair"),
        entity(text, "text_link", "fair", url="https://example.org/fair"),
        entity(text, "underline", "Saturday"),
    ]
    assert entities[0]["offset"] == 11  # 🎉 is two UTF-16 units
    spans = tg_entities(text, entities)
    markdown = discord_render.formatted(text, spans)
    assert markdown == "Join us 🎉 **at the *big summer [fair](https://example.org/fair)* on __Saturday__!**"
    back = parse_markdown(markdown)
    assert (back.text, back.spans) == (text, spans)
    shown, got = shown_on_telegram(back.text, back.spans)
    assert shown == text and got == formatting_entities(entities)


def test_overlapping_marks_are_closed_and_reopened():
    html = telegram_html("abcdef", (Span(0, 4, "bold"), Span(2, 6, "italic")))
    assert html == "<b>ab<i>cd</i></b><i>ef</i>"
    assert parse_html(html)[0] == "abcdef"


# -- splitting ----------------------------------------------------------------------------


def test_a_split_closes_and_reopens_marks_on_telegram():
    text = ("word " * 2000).strip()
    parts = telegram_render.render_parts(post(text, [Span(0, len(text), "bold")]))
    assert len(parts) == 3
    shown = [parse_html(part) for part in parts]  # each part balanced: Telegram accepts it
    assert all(any(e["type"] == "bold" for e in entities) for _, entities in shown)
    body = [shown[0][0].removeprefix("Anna · Leicester: ")] + [t for t, _ in shown[1:]]
    assert " ".join(body) == text


def test_a_split_closes_and_reopens_marks_on_discord():
    text = ("mot " * 900).strip()
    parts = discord_render.compose_parts(text, (Span(0, len(text), "italic"), Span(10, 3000, "bold")), limit=2000)
    assert len(parts) in (2, 3) and all(len(p) <= 2000 for p in parts)
    for i, part in enumerate(parts):
        parsed = parse_markdown(part)  # each part balanced: no stray asterisk shows
        assert {s.kind for s in parsed.spans} >= ({"italic", "bold"} if i < 2 else {"italic"})
        assert "*" not in parsed.text
    assert " ".join(parse_markdown(p).text for p in parts) == text


# -- changed text -------------------------------------------------------------------------


def test_redaction_keeps_the_marks_around_what_it_replaced():
    text = "Call me on +44 7700 900123 tonight, **really**"
    spans = (Span(0, 26, "bold"), Span(27, 34, "italic"))
    redacted = redact(text, {"phone"}, ("GB",)).text
    moved = fmt.remap(text, redacted, spans)
    assert "[phone removed]" in redacted
    assert redacted[moved[0].start : moved[0].end] == "Call me on [phone removed]"
    assert redacted[moved[1].start : moved[1].end] == "tonight"


def test_telegram_render_defuses_mentions_inside_marks():
    parts = telegram_render.render_parts(post("hi @anna /start", [Span(3, 8, "bold"), Span(9, 15, "code")]))
    shown, entities = parse_html(parts[0])
    assert shown == "Anna · Leicester: hi @\u2060anna /\u2060start"
    assert {(e["type"], shown[e["offset"] : e["offset"] + e["length"]]) for e in entities} >= {
        ("bold", "@\u2060anna"),
        ("code", "/\u2060start"),
    }


def test_lists_and_headings_are_shown_sensibly_on_telegram():
    parsed = parse_markdown("## Plan\n- Kuchen\n- Musik\n1. eins\n2. zwei")
    shown, entities = parse_html(telegram_render.render_parts(post(parsed.text, parsed.spans))[0])
    assert shown == "Anna · Leicester: Plan\n• Kuchen\n• Musik\n1. eins\n2. zwei"
    assert [(e["type"], shown[e["offset"] : e["offset"] + e["length"]]) for e in entities][1:] == [("bold", "Plan")]


def test_spans_survive_json():
    spans = (Span(0, 2, "bold"), Span(1, 2, "link", "https://x.org"))
    assert fmt.from_json(json.loads(json.dumps(fmt.to_json(spans)))) == spans
    assert fmt.from_json([["bold", "x", 2], None, ["italic", 0, 1]]) == (Span(0, 1, "italic"),)
    assert post("ab", spans).to_dict()["formatting"] == [["bold", 0, 2], ["link", 1, 2, "https://x.org"]]
    assert "formatting" not in post("ab").to_dict()


def test_protected_formatted_text_keeps_code_and_literal_tags_out_of_the_translator():
    text = "Bring <b> & `code` to https://x.org/a **now**"
    spans = (Span(12, 18, "code"), Span(6, 9, "bold"), Span(39, 45, "italic"))
    protected = protect_formatted(text, spans)
    assert "<" not in protected.text and "&" not in protected.text and "code" not in protected.text
    html = fmt.to_html(protected.text, protected.spans(spans))
    back = protected.restore_formatted(*fmt.from_html(html))
    assert back == (text, fmt.normalised(spans, len(text)))


def test_html_form_round_trips():
    text = 'a<b & "c"\nd'
    spans = (Span(0, 11, "blockquote"), Span(2, 5, "link", 'https://x.org/?a=1&b="2"'), Span(10, 11, "pre", "py"))
    assert fmt.from_html(fmt.to_html(text, spans)) == (text, fmt.normalised(spans, len(text)))


def test_telegram_payloads_unchanged_for_plain_text():
    message = tg_update("text_message")
    event = telegram_event(message, EventKind.NEW)
    assert event.formatting == ()
    assert copy.deepcopy(event).to_dict() == event.to_dict()


def test_many_marks_are_split_into_parts_that_fit_and_parse():
    parsed = parse_markdown("**a** _b_ " * 500)  # 1,000 spans, markdown three times the text
    parts = discord_render.formatted_parts(parsed.text, parsed.spans, first_limit=1900)
    assert len(parts[0]) <= 1900 and all(len(p) <= 2000 for p in parts[1:])
    again = [parse_markdown(p) for p in parts]
    assert " ".join(p.text for p in again) == parsed.text.strip()
    assert sum(len(p.spans) for p in again) == len(parsed.spans)


# -- the original under a translation -----------------------------------------------------

ORIGINAL = "Hello 😀 friends!\nBring <b> & *this*: print(1)\nSee https://x.example and /start"


def translated_post(**changes) -> OutboundPost:
    o = ORIGINAL
    spans = (
        Span(o.index("friends"), o.index("friends") + 7, "bold"),
        Span(o.index("Hello"), o.index("!"), "italic"),
        Span(o.index("print"), o.index("print") + 8, "code"),
        Span(o.index("See"), o.index("See") + 3, "link", "https://example.org/see"),
        Span(0, 5, "blockquote"),  # quoted already: a quote in the quote is left out
    )
    base = {
        "language": "fr",
        "original": o,
        "original_language": "en",
        "translated_by": "LibreTranslate",
        "original_formatting": spans,
    }
    return post("Bonjour amis", [Span(8, 12, "bold")], **{**base, **changes})


def utf16_part(text: str, entity: dict) -> str:
    units = text.encode("utf-16-le")
    return units[2 * entity["offset"] : 2 * (entity["offset"] + entity["length"])].decode("utf-16-le")


def test_the_original_keeps_its_formatting_inside_the_quote_on_telegram():
    (html,) = telegram_render.render_parts(translated_post())
    shown, entities = parse_html(html)  # balanced: Telegram accepts it
    quoted = ORIGINAL.replace("/start", "/\u2060start")  # still not a tappable command
    assert shown.endswith("\n" + quoted)
    got = {(e["type"], utf16_part(shown, e), e.get("url", "")) for e in entities}
    # UTF-16 offsets right after the emoji, inside the one quote; what is not a mark shows as typed
    assert got == {
        ("bold", "Anna · Leicester:", ""),
        ("bold", "amis", ""),
        ("italic", "Original (English), traduit par LibreTranslate", ""),  # in the reader's language
        ("blockquote", quoted, ""),
        ("italic", "Hello 😀 friends", ""),
        ("bold", "friends", ""),
        ("code", "print(1)", ""),
        ("text_link", "See", "https://example.org/see"),
    }


def test_the_original_keeps_its_formatting_inside_the_quote_on_discord():
    post_ = translated_post()
    parts = discord_render.quoted_original_parts(
        "Original (English), translated by LibreTranslate", post_.original, post_.original_formatting
    )
    (content,) = discord_render.compose_parts("Bonjour amis", (Span(8, 12, "bold"),), original_parts=tuple(parts))
    parsed = parse_markdown(content)
    assert parsed.text == "Bonjour amis\nOriginal (English), translated by LibreTranslate\n" + ORIGINAL
    got = {(s.kind, parsed.text[s.start : s.end], s.data) for s in parsed.spans}
    assert got >= {
        ("bold", "amis", ""),
        ("blockquote", ORIGINAL, ""),
        ("bold", "friends", ""),
        ("italic", "Hello 😀 friends", ""),
        ("code", "print(1)", ""),
        ("link", "See", "https://example.org/see"),
    }
    assert not any(s.kind == "italic" and "this" in parsed.text[s.start : s.end] for s in parsed.spans)


def test_a_long_formatted_original_is_split_each_part_a_quote_with_its_marks_reopened():
    original = ("word " * 700).strip()
    parts = discord_render.quoted_original_parts("Original (English)", original, (Span(0, len(original), "bold"),))
    assert len(parts) == 2 and all(len(p) <= 2000 for p in parts)
    for part in parts:
        parsed = parse_markdown(part)
        kinds = {s.kind for s in parsed.spans}
        assert {"blockquote", "bold"} <= kinds and "*" not in parsed.text.replace("Original (English)", "")
    pieces = [parse_markdown(p).text.removeprefix("Original (English)\n") for p in parts]
    assert " ".join(pieces) == original
    tg = telegram_render.render_parts(translated_post(original=original, original_formatting=(Span(0, 3000, "bold"),)))
    shown = [parse_html(part) for part in tg]
    assert all({"blockquote", "bold"} <= {e["type"] for e in ents} for _, ents in shown[-1:])


def test_a_discord_organisers_announce_is_read_as_markdown():
    args, spans = formatted_args("announce", "towns pin **The fair** is on [Sat](https://example.org/s) \\*really\\*")
    assert args == "towns pin The fair is on Sat *really*"
    assert [(s.kind, args[s.start : s.end], s.data) for s in spans] == [
        ("bold", "The fair", ""),
        ("link", "Sat", "https://example.org/s"),
    ]
    assert formatted_args("consent", "**withdraw**") == ("**withdraw**", ())  # other commands: as typed
