"""Splitting a long text into parts that each fit a limit: the one splitter
for Telegram's and Discord's message limits and the translators' request limits.

A cut prefers the strongest boundary near the end of the room a part has: a
paragraph, then a line, then a sentence (also after 。！？, which Chinese and
Japanese write without a space), then a word. A weaker boundary is taken when
the stronger ones would leave the part less than ``min_fill`` of its room
(words: half that). Only a run with no boundary at all is cut hard, and then
never inside a character: Python strings hold code points, so a UTF-16
surrogate pair stays whole, and the cut steps back over combining marks,
zero-width joiners, variation selectors, skin tones and flag pairs.

The platforms differ only in parameters: Telegram counts UTF-16 code units
(``measure=utf16_len``), Discord counts characters and its text is already
Markdown-escaped (``markdown_escapes``: a backslash stays with what it
escapes); a translator needs the parts to join back into the exact text
(``keep_whitespace``). Telegram parts are split before they are HTML-escaped,
so no entity or tag can be cut.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

Measure = Callable[[str], int]

_PARAGRAPH = re.compile(r"\n\s*\n")
_LINE = re.compile(r"\n")
_SENTENCE = re.compile(r"[.!?…][\"'”’)\]]*\s+|[。！？][\"'”’)\]」』]*\s*")
_WORD = re.compile(r"\s+")
_ZWJ = "\u200d"


def utf16_len(text: str) -> int:
    """The length Telegram counts: UTF-16 code units (an emoji outside the BMP takes two)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(
    text: str,
    limit: int,
    *,
    first_limit: int | None = None,
    measure: Measure = len,
    min_fill: float = 0.5,
    keep_whitespace: bool = False,
    markdown_escapes: bool = False,
) -> list[str]:
    """``text`` in parts of at most ``limit`` (the first at most ``first_limit``), measured by ``measure``.

    By default the text and each part are stripped of surrounding whitespace
    (an empty text gives no parts); with ``keep_whitespace`` nothing is
    dropped, ``"".join(parts) == text``, and a text that fits is one part
    even if empty. ``min_fill`` 0 takes the strongest boundary wherever it is.
    """
    rest = text if keep_whitespace else text.strip()
    room = limit if first_limit is None else first_limit
    parts: list[str] = []
    while measure(rest) > room:
        cut = _cut_point(rest, room, measure, min_fill, keep_whitespace, markdown_escapes)
        head, rest = rest[:cut], rest[cut:]
        if not keep_whitespace:
            head, rest = head.rstrip(), rest.lstrip()
        if head:
            parts.append(head)
        room = limit
    if rest or (keep_whitespace and not parts):
        parts.append(rest)
    return parts


def _fit(text: str, room: int, measure: Measure) -> int:
    """The longest prefix (in code points) whose measure fits ``room``."""
    low, high = 0, min(len(text), room)  # every code point measures at least 1
    while low < high:
        mid = (low + high + 1) // 2
        if measure(text[:mid]) <= room:
            low = mid
        else:
            high = mid - 1
    return low


def _cut_point(
    text: str, room: int, measure: Measure, min_fill: float, keep_whitespace: bool, markdown_escapes: bool
) -> int:
    """Where the next part ends: the latest good boundary within ``room``."""
    n = _fit(text, room, measure)
    if n == 0:
        return 1  # not even one character fits: it goes alone rather than never
    # Where whitespace is dropped, a boundary whose last (whitespace) character
    # is the one right after the room still counts: the part ends before it.
    stretch = not keep_whitespace and n < len(text) and text[n].isspace()
    window = text[: n + 1] if stretch else text[:n]
    floor = int(n * min_fill)
    for pattern, level_floor in ((_PARAGRAPH, floor), (_LINE, floor), (_SENTENCE, floor), (_WORD, floor // 2)):
        ends = [m.end() for m in pattern.finditer(window) if m.end() >= max(level_floor, 1)]
        if ends:
            return min(ends[-1], n)
    return _hard_cut(text, n, markdown_escapes)


def _hard_cut(text: str, cut: int, markdown_escapes: bool) -> int:
    """``cut``, moved back so it leaves a user-perceived character (and a
    Markdown escape) whole; unchanged where that would cost over half the part."""
    start = cut
    while cut > start // 2 and cut < len(text) and _continues(text, cut):
        cut -= 1
    if cut <= start // 2:
        cut = start
    if markdown_escapes:
        backslashes = cut - len(text[:cut].rstrip("\\"))
        if backslashes % 2 and cut > 1:
            cut -= 1
    return cut


def _continues(text: str, i: int) -> bool:
    """Whether the code point at ``i`` belongs to the same grapheme as the one before."""
    char, before = text[i], text[i - 1]
    code = ord(char)
    if unicodedata.category(char) in ("Mn", "Me", "Mc") or char == _ZWJ or before == _ZWJ:
        return True
    if 0xFE00 <= code <= 0xFE0F or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:
        return True  # variation selectors, skin tones, emoji tag sequences
    if _regional(char) and _regional(before):
        run = 0  # flags are pairs of regional indicators: cut only between pairs
        while i - run - 1 >= 0 and _regional(text[i - run - 1]):
            run += 1
        return run % 2 == 1
    return False


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF
