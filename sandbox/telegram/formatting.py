"""Text as Telegram shows it: the HTML parse mode (its tags only, balanced, the three
specials escaped) turned into plain text and entities measured in UTF-16 code units,
surrounding whitespace trimmed, and the ``bot_command`` entity of a member's leading
"/command".

``<tg-time unix="1647531900" format="wDT">22:45 tomorrow</tg-time>`` becomes a
``date_time`` entity with ``unix_time`` and ``date_time_format`` (the format, when
given, must match ``r|w?[dD]?[tT]?``; without one the text is shown as written)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from typing import Any

from sandbox.telegram.protocol import bad_request

_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}
ALLOWED_TAGS = frozenset(_SIMPLE_TAGS) | {"a", "span", "tg-time"}
# Telegram's date-time entity formatting: relative, or weekday, short/long date, short/long time.
DATE_TIME_FORMAT = re.compile(r"r|w?[dD]?[tT]?")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Telegram measures text and entity offsets in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


class _EntityParser(HTMLParser):
    """Telegram's HTML: its tags only, balanced, and the three specials escaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.text_parts: list[str] = []
        self.length = 0  # UTF-16 units so far
        self.open: list[tuple[str, int, dict[str, str | None]]] = []
        self.entities: list[dict[str, Any]] = []

    def _append(self, text: str) -> None:
        self.text_parts.append(text)
        self.length += utf16_len(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in ALLOWED_TAGS:
            raise bad_request(f'can\'t parse entities: Unsupported start tag "{tag}"')
        if tag == "a" and not attributes.get("href"):
            raise bad_request('can\'t parse entities: the tag "a" needs an href')
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise bad_request('can\'t parse entities: Tag "span" must have class "tg-spoiler"')
        if tag == "tg-time":
            unix = attributes.get("unix") or ""
            if not unix.isdigit():
                raise bad_request('can\'t parse entities: Tag "tg-time" must have a valid attribute "unix"')
            if not DATE_TIME_FORMAT.fullmatch(attributes.get("format") or ""):
                raise bad_request("can't parse entities: Invalid date-time format specified")
        self.open.append((tag, self.length, attributes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise bad_request(f'can\'t parse entities: Unsupported start tag "{tag}/"')

    def handle_endtag(self, tag: str) -> None:
        if not self.open:
            raise bad_request(f'can\'t parse entities: Unexpected end tag "{tag}"')
        name, start, attributes = self.open.pop()
        if name != tag:
            raise bad_request(f"can't parse entities: Can't find end tag corresponding to start tag \"{name}\"")
        length = self.length - start
        if length <= 0:
            return
        entity: dict[str, Any] = {"offset": start, "length": length}
        if tag == "a":
            href = attributes.get("href") or ""
            if href.startswith("tg://user?id="):
                entity.update(
                    type="text_mention", user={"id": int(href.split("=", 1)[1] or 0), "is_bot": False, "first_name": ""}
                )
            else:
                entity.update(type="text_link", url=href)
        elif tag == "span":
            entity["type"] = "spoiler"
        elif tag == "tg-time":
            entity.update(type="date_time", unix_time=int(attributes["unix"] or 0))
            if attributes.get("format"):
                entity["date_time_format"] = attributes["format"]
        elif (
            tag == "pre"
            and self.entities
            and self.entities[-1].get("type") == "pre"
            and (
                self.entities[-1]["offset"],
                self.entities[-1]["length"],
            )
            == (start, length)
        ):
            return  # <pre><code class="language-x">: one pre entity, with its language
        elif tag == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        else:
            entity["type"] = _SIMPLE_TAGS[tag]
            language = attributes.get("class") or ""
            if tag == "code" and language.startswith("language-") and self.open and self.open[-1][0] == "pre":
                entity.update(type="pre", language=language[len("language-") :])
        self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        for special in "<>&":
            if special in data:
                raise bad_request(f'can\'t parse entities: Unescaped "{special}" (write {html.escape(special)})')
        self._append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in _NAMED_ENTITIES:
            raise bad_request(f'can\'t parse entities: Unsupported HTML entity "&{name};"')
        self._append(_NAMED_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            self._append(chr(code))
        except (ValueError, OverflowError):
            raise bad_request(f'can\'t parse entities: Invalid character reference "&#{name};"') from None

    def handle_comment(self, data: str) -> None:
        raise bad_request("can't parse entities: comments are not supported")

    def handle_decl(self, decl: str) -> None:
        raise bad_request("can't parse entities: declarations are not supported")

    def handle_pi(self, data: str) -> None:
        self.handle_decl(data)

    def unknown_decl(self, data: str) -> None:
        self.handle_decl(data)


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """(plain text, entities) as Telegram would show a text sent with parse_mode HTML;
    raise :class:`ApiError` 400 "can't parse entities" on anything Telegram rejects."""
    parser = _EntityParser()
    parser.feed(source)
    parser.close()
    if parser.open:
        raise bad_request(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{parser.open[-1][0]}\""
        )
    return "".join(parser.text_parts), sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))


def strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims surrounding whitespace; entities move and shrink with it."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    limit = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(limit, entity["offset"] - shift + entity["length"])
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


# "/command" (letters, digits, underscores) with an optional "@bot_username", ended
# by the text's end or a character that cannot continue it.
_BOT_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@/])")


def command_entities(text: str) -> list[dict[str, Any]]:
    """Telegram marks a leading "/command" or "/command@bot_username" (members' side;
    the only entity we compute)."""
    match = _BOT_COMMAND.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]
