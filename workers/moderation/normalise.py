"""The copy of a message that PII detectors read, and the way back to the original.

A member who wants a phone number or address to cross can hide it from a
pattern without hiding it from a reader: fullwidth or Arabic-Indic digits,
a zero-width space inside an address, a soft hyphen inside a link,
mathematical-bold letters. Detectors therefore run on a normalised copy:

- Unicode NFKC (fullwidth and other compatibility forms become plain:
  "０７９１１" → "07911", "𝐚𝐧𝐧𝐚" → "anna", "＠" → "@", no-break spaces → " ");
- format characters (category Cf: zero-width space/joiners, soft hyphen,
  bidi marks, word joiner, BOM…) dropped;
- every decimal digit of any script as its ASCII digit ("٠٧٩" → "079");
- dashes and the minus sign as "-", the ideographic full stop as ".".

``Normalised.original_span`` maps what a detector found on the copy back to
the characters of the original text that produced it (hidden characters
inside included), so the rest of the message is kept exactly as typed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"), "-")
_EXTRA = {**_DASHES, ord("\u3002"): ".", ord("\uff61"): "."}


@dataclass(frozen=True)
class Normalised:
    text: str  # what detectors read
    # starts[i], ends[i]: the original characters text[i] came from; None when identical.
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original characters behind text[start:end] (end > start)."""
        if self.starts is None or self.ends is None:
            return start, end
        return self.starts[start], self.ends[end - 1]


def normalise(text: str) -> Normalised:
    if text.isascii() or (
        unicodedata.is_normalized("NFKC", text) and not any(_folds(c) for c in text if not c.isascii())
    ):
        return Normalised(text)  # the common case: nothing to fold, offsets stay as they are
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        if unicodedata.category(text[i]) == "Cf":
            i = j
            continue
        # A base character and its combining marks fold together ("e" + U+0301 → "é").
        while j < n and unicodedata.combining(text[j]):
            j += 1
        chunk = text[i:j]
        if not chunk.isascii():
            chunk = _fold(chunk)
        out.append(chunk)
        starts += [i] * len(chunk)
        ends += [j] * len(chunk)
        i = j
    return Normalised("".join(out), tuple(starts), tuple(ends))


def _folds(c: str) -> bool:
    return ord(c) in _EXTRA or unicodedata.category(c) == "Cf" or unicodedata.decimal(c, None) is not None


def _fold(chunk: str) -> str:
    folded = unicodedata.normalize("NFKC", chunk).translate(_EXTRA)
    if folded.isascii():
        return folded
    chars = []
    for c in folded:
        digit = unicodedata.decimal(c, None)
        if digit is not None:
            chars.append(str(digit))
        elif unicodedata.category(c) != "Cf":
            chars.append(c)
    return "".join(chars)
