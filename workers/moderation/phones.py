"""Phone numbers by their shape, on the normalised copy of a message.

A number is removed because it could be dialled, not because it is allocated
today: a reserved range ("+44 7700 900123", kept for drama) or a typo of a
real number is still someone's number in a chat. So a run of digits with the
separators people put in phone numbers (spaces, "-", ".", "/", brackets: "0
7 7 0 0 9 0 0 1 2 3", "0151.2345.6789", "+49 (0) 151 2345 6789", "138 0013
8000") is a phone number when phonenumbers calls it *possible* (its length
fits the numbering plan): international "+…"/"00…" always, national numbers
for the link's regions.

Look-alikes are set aside first, by shape or by the word before them, since
"possible" is mostly a matter of length:
- dates (23.11.2026, 2026-11-23, 12/05/09), months (06/2024), year ranges
  (1999–2004, 2026/27); times and decimals never join a run (":" and "," end it);
- quantities: thousands groups (1.250.000, 1 250 000), decimals (51.33881234),
  numbers with a currency, unit or counted noun next to them (€ 1 234 567,
  2 500 000 km, 1234567 points/Punkte/personnes/人);
- references named as such: order, booking, invoice, ticket, ISBN, version,
  build, student numbers… in the link languages ("Bestellnummer 4711 0815 2231",
  "订单号 20261123004711", "Pedido nº 20231123-0042"), and "#1234567" — but not a
  number dialled with a trunk "0" and 10–12 digits ("order 07700 900123" still goes);
- dotted quads (999.168.1.1), ISBN-13 (978/979 with a valid check digit), lists in
  order ("1 2 3 4 5 6 7 8 9 10", "sizes 36 38 40 42 44", "1914 1918 1939 1945") unless
  they start with a trunk "0", pairs ("6-4 6-3 6-7 7-5").
None of these exceptions applies to a number written with "+".
Letters typed for digits inside a number count as digits ("o7700 9OO 123").
Fewer than 7 digits is never a phone number here (room, order and house
numbers; local numbers without an area code are let through).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise

import phonenumbers

MIN_DIGITS = 7
MAX_DIGITS = 17  # E.164's 15 plus an international or trunk prefix

_HIDE = "\x01"  # a look-alike's place in the phone view: no run crosses it

# Look-alikes that runs must not swallow; each bounded so it cannot eat part of
# a dotted phone number ("06.12.34.56.78" is not the date 06.12.34).
_DATE = re.compile(
    r"(?<![\d./-])(?:"
    r"(?:0?[1-9]|[12]\d|3[01])([./-])(?:0?[1-9]|1[0-2])\1(?:\d{4}|\d{2})"  # 23.11.2026, 23/11/26
    r"|(?:0?[1-9]|1[0-2])([./-])(?:0?[1-9]|[12]\d|3[01])\2(?:\d{4}|\d{2})"  # 11/23/2026 (US)
    r"|(?:1[5-9]|20)\d\d([./-])(?:0?[1-9]|1[0-2])\3(?:0?[1-9]|[12]\d|3[01])"  # 2026-11-23
    r")(?!\d|[./-]\d)"
    r"|(?<![\d./-])(?:1[5-9]|20)\d\d ?[-/] ?(?:(?:1[5-9]|20)\d\d|\d\d)(?!\d|[./-]\d)"  # 1999-2004, 2026/27
    r"|(?<![\d./-])(?:0?[1-9]|1[0-2])[./](?:1[5-9]|20)\d\d(?!\d|[./-]\d)"  # 06/2024, 9.2025
)
# Letters typed for digits inside a number: "o7700 900 123", "07700 9OO 123", "0l51".
_LETTER_DIGIT = re.compile(r"(?<![A-Za-z])[oOlI](?=\d{2})|(?<=\d)[oOlI]+(?![A-Za-z])")
_AS_DIGITS = str.maketrans("oOlI", "0011")
# Glued to a Latin, Greek or Cyrillic word it is part of a code ("A4711", "v2"); Chinese
# and Japanese write numbers right after their words ("手机号是13800138000").
_RUN = re.compile(
    r"(?<![A-Za-z]-)(?<![A-Za-z0-9_\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff])(?<!\d[,:])"
    r"(?:\+ ?)?\(?\d[\d ()./-]*"
)
_GROUP = re.compile(r"\d+")
_UNIT_AFTER = re.compile(
    r"\s?(?:[€$£¥₹%‰°元円人个次票位분원]|(?i:eur|usd|gbp|chf|cny|rmb|inr|pln|yen|yuan|euros?|dollars?|pounds?"
    r"|rupees?|pesos?|reais|córdobas?|złotych|zł|km|kg|mb|gb|tb|kb|px|mi|m²|km²|ha|l|ml|t"
    r"|points?|pts|people|persons|views|likes|followers|votes|steps|visitors|members|students|pupils|times"
    r"|punkte|leute|menschen|einwohner|schritte|besucher|stimmen|aufrufe|mal|personnes|habitants|vues|fois"
    r"|personas|habitantes|puntos|visitas|votos|veces|persone|abitanti|punti|volte|mensen|inwoners|punten"
    r"|keer|osób|mieszkańców|punktów|razy|pessoas|pontos|vezes|लोग|अंक)(?!\w))"
)
_CURRENCY_BEFORE = re.compile(r"[€$£¥₹]\s?$")
# Words that name the number as something other than a phone number, just before it.
_REFERENCE_BEFORE = re.compile(
    r"(?i)(?:order|booking|invoice|ticket|tracking|reference|ref|receipt|case|account|customer|isbn|issn|doi"
    r"|version|build|release|serial|v|student|matrikel\w*|bestell\w*|auftrag\w*|rechnung\w*|buchung\w*|sendung\w*|kunden\w*"
    r"|vorgang\w*|aktenzeichen|referenz\w*|commande|facture|réf[ée]rence|réf|billet|dossier|pedido|factura"
    r"|referencia|reserva|ordine|fattura|riferimento|prenotazione|bestelling|factuur|referentie|boeking"
    r"|zamówieni\w*|faktur\w*|rezerwacj\w*|encomenda|fatura|referência"
    r"|订单号?|单号|发票号?|编号|注文番号|注文|予約番号|伝票番号)"
    r"\.?\s*(?:(?i:no|nr|nº|n°|num|number|nummer|numéro|número|numero|numer|id|code|#)\.?\s*)?[:：#]?\s*$"
)


def phone_spans(text: str, regions: frozenset[str]) -> Iterator[tuple[int, int]]:
    """Spans of ``text`` (already normalised: ASCII digits, "-" dashes) that are phone numbers."""
    view = _LETTER_DIGIT.sub(lambda m: m.group(0).translate(_AS_DIGITS), text)
    if sum(c.isdigit() for c in view) < MIN_DIGITS:
        return
    view = _DATE.sub(lambda m: _HIDE * len(m.group(0)), view)
    national = tuple(sorted(regions & phonenumbers.SUPPORTED_REGIONS))
    for run in _RUN.finditer(view):
        groups = [(m.start() + run.start(), m.end() + run.start()) for m in _GROUP.finditer(run.group(0))]
        plus = run.group(0).startswith("+")
        for piece in _pieces(view, groups):
            yield from _numbers_in(view, piece, plus and piece[0] == groups[0], national)


def _pieces(text: str, groups: list[tuple[int, int]]) -> Iterator[list[tuple[int, int]]]:
    """A run's digit groups, cut where the separator says a new number starts
    (" / ", two spaces, a line break) after a whole one."""
    piece = [groups[0]]
    for before, group in pairwise(groups):
        between = text[before[1] : group[0]]
        strong = "  " in between or " / " in between or len(between) > 3
        # "02151 / 77 88 99" is one number: a cut needs a whole number before it.
        if "\n" in between or (strong and sum(e - s for s, e in piece) >= MIN_DIGITS):
            yield piece
            piece = []
        piece.append(group)
    yield piece


def _numbers_in(
    text: str, groups: list[tuple[int, int]], plus: bool, national: tuple[str, ...]
) -> Iterator[tuple[int, int]]:
    """The phone numbers among consecutive digit groups: the longest possible
    number from each group on (so "0151 2345678 0171 1234567" is two)."""
    if not plus:
        # A price or count next to a run may be only its first or last group ("0151 2345678
        # 2 times", "€5 0151 2345678"); if what is left is too short for a number, the
        # unit does not make a phone number a quantity ("07700 900123 €" still goes).
        trimmed = groups
        while len(trimmed) > 1 and _UNIT_AFTER.match(text, trimmed[-1][1]):
            trimmed = trimmed[:-1]
        while len(trimmed) > 1 and _CURRENCY_BEFORE.search(text, max(0, trimmed[0][0] - 2), trimmed[0][0]):
            trimmed = trimmed[1:]
        if sum(e - s for s, e in trimmed) >= MIN_DIGITS:
            groups = trimmed
    digits = [text[s:e] for s, e in groups]
    if sum(map(len, digits)) < MIN_DIGITS or _looks_like_something_else(text, groups, digits, plus):
        return
    numbers: list[list[int]] = []
    i = 0
    while i < len(groups):
        found = _longest_from(text, groups, digits, i, plus and i == 0, national)
        if found:
            start, end, i = found
            numbers.append([start, end, i])
        elif numbers and numbers[-1][2] == i:
            # Too short to start a number itself, right after one in the same run: the
            # rest of it ("…123 07700 900123" leaves no "900123" behind).
            numbers[-1][1:] = [groups[i][1], i + 1]
            i += 1
        else:
            i += 1
    for start, end, _ in numbers:
        yield start, end


def _longest_from(
    text: str, groups: list[tuple[int, int]], digits: list[str], i: int, plus: bool, national: tuple[str, ...]
) -> tuple[int, int, int] | None:
    """(start, end, next group) of the longest possible number starting at group i."""
    longest, count = i, 0  # at most MAX_DIGITS: a long run costs linear time, not quadratic
    while longest < len(groups) and count + len(digits[longest]) <= MAX_DIGITS:
        count += len(digits[longest])
        longest += 1
    for j in range(longest, i, -1):
        number = "".join(digits[i:j])
        if len(number) < MIN_DIGITS:
            return None
        if _possible(("+" if plus else "") + number, national):
            start, end = groups[i][0], groups[j - 1][1]
            if plus:
                start = text.rindex("+", 0, start)  # "+44", "+ 44"
            if text[start - 1 : start] == "(" or (text[end : end + 1] == ")" and "(" in text[start:end]):
                start, end = start - (text[start - 1 : start] == "("), end + (text[end : end + 1] == ")")
            return start, end, j
    return None


def _looks_like_something_else(text: str, groups: list[tuple[int, int]], digits: list[str], plus: bool) -> bool:
    start, end = groups[0][0], groups[-1][1]
    if plus:
        return False  # "+…" is written only for phone numbers
    before = text[max(0, start - 30) : start]
    number = "".join(digits)
    trunk_dialled = number.startswith("0") and 10 <= len(number) <= 12  # 07700 900123, 0151 23456789
    if (before.endswith("#") or _REFERENCE_BEFORE.search(before)) and not trunk_dialled:
        return True
    after = text[end : end + 12]
    if re.match(r"[.,]\d", after):
        return True  # 1.250.000,50
    if (
        len(groups) == 1
        and len(digits[0]) <= 8
        and not digits[0].startswith("0")
        and (_CURRENCY_BEFORE.search(before) or _UNIT_AFTER.match(after))
    ):
        return True  # €1234567, 1234567 points; grouped amounts are thousands (below)
    seps = {text[a[1] : b[0]] for a, b in pairwise(groups)}
    if (
        len(groups) >= 2
        and not digits[0].startswith("0")
        and len(digits[0]) <= 3
        and len(seps) == 1
        and all(len(d) == 3 for d in digits[1:])
        and (seps != {" "} or len(digits[0]) < 3 or len(groups) > 3)
    ):
        return True  # thousands: 1.250.000, 1 250 000 (but "612 345 678" is a Spanish mobile)
    if len(groups) == 2 and seps <= {".", ","} and len(digits[0]) <= 3 and not digits[0].startswith("0"):
        return True  # a decimal: 51.33881234
    if len(groups) == 4 and seps == {"."} and all(len(d) <= 3 for d in digits) and not digits[0].startswith("0"):
        return True  # an IP address or version that is not one: 999.168.1.1
    if len(number) == 13 and number[:3] in ("978", "979") and _isbn13_ok(number):
        return True
    values = [int(d) for d in digits]
    if (
        len(groups) >= 4
        and not digits[0].startswith("0")
        and (all(a < b for a, b in pairwise(values)) or all(a > b for a, b in pairwise(values)))
    ):
        return True  # a list in order: 1 2 3 4 5 6 7 8 9 10, sizes 36 38 40 42, 1914 1918 1939 1945
    separators = [text[a[1] : b[0]] for a, b in pairwise(groups)]
    if (
        len(groups) >= 6
        and max(map(len, digits)) <= 2
        and separators[0::2] == [separators[0]] * len(separators[0::2])
        and separators[1::2] == [separators[1]] * len(separators[1::2])
        and separators[0] != separators[1]
    ):
        return True  # pairs: tennis sets 6-4 6-3 6-7 7-5
    return False


def _isbn13_ok(number: str) -> bool:
    return sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(number)) % 10 == 0


# Not cached: a cache would keep members' phone numbers in the worker's memory after
# their messages have gone.
def _possible(number: str, national: tuple[str, ...]) -> bool:
    candidates: list[tuple[str, str | None]] = [(number, None)] if number.startswith("+") else []
    if number.startswith("00") and len(number) > 8:
        candidates.append(("+" + number[2:], None))
    if not number.startswith("+"):
        candidates += [(number, region) for region in national]
    for candidate, region in candidates:
        try:
            parsed = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            return True
    return False
