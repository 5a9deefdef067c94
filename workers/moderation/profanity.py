"""Masking strong profanity, slurs and insults in chat text, offline.

Word lists ship inside the package (``workers/moderation/wordlists/{lang}.txt``,
read through ``importlib.resources`` so they work from an installed wheel).
They are deliberately short: strong words only, each one checked against the
other languages the bridge carries, because every list of a link applies to
every message of that link (a message's language is not known word by word).
English is always on, being the bridge's common tongue; a word that is
ordinary in another Latin-script language is therefore not in the English
list ("dick" is German for thick, "ass" German for ace, "retard" French for
delay, "slut" Swedish for end, "bellend" German for barking; each list's
header says what it leaves out and why). The lists were checked against the
Debian word lists of English, German, French, Spanish, Italian, Dutch,
Polish, Portuguese, Swedish, Norwegian and Danish.

List format, one entry a line::

    # comment
    word            whole word
    stem*           the stem at the start of a word: "fuck*" matches "fucking"
    two words       a phrase; any run of spaces/separators between its words
    word !          a slur: the result is marked ``severe``

Matching happens on a *skeleton* of the text that remembers, for each of its
characters, which character of the original it came from; the masking is done
on the original, so its length, case and accents are kept:

* NFKD, Latin combining diacritics dropped, case folded (``Scheiße`` and
  ``SCHEISSE`` are both ``scheisse``; full-width and mathematical letters
  become plain ones), a few letters NFKD leaves alone mapped by hand (``ı``),
  invisible format characters (zero-width spaces, soft hyphens) dropped;
* leetspeak: each letter of an entry also accepts 0→o, 1→i/l, 3→e, 4→a,
  5/$→s, 7→t, @→a, !→i, |→i/l, €→e;
* stretched letters: a letter the entry has once may appear once or three and
  more times ("fuuuck"), never exactly twice, so "Twatt" (a village) is not
  "twat" and the Italian "putto" is not the Spanish "puto"; a letter the
  entry has twice or more may appear any number of times from that count on;
* separators inside a word: up to three of ``. - _ * · • ~`` between any two
  letters ("f.u.c.k", "bull-shit"); spaces only when *every* letter of a run
  of three or more stands alone ("f u c k", "what a s h i t day"), never
  between longer words ("f uck" is left alone);
* whole words with Unicode boundaries (letters, digits and combining marks,
  so Gujarati vowel signs count as inside the word; ``_`` does not; ``@``,
  ``$`` and ``€`` do, being leetspeak, so "@handles" are left alone);
* Chinese (and other CJK) entries of two or more characters are matched as
  substrings, since the script puts no spaces between words; a single CJK
  character would only be matched standing alone. CJK entries get neither
  leetspeak nor stretched letters ("他妈妈的", his mother's, is not "他妈的").

The Scunthorpe problem is handled by whole-word matching plus lists written
against it: no short stem ends in ``*`` when a harmless word starts with it
(German "fick*" would catch the surname Fickel and Swedish "fick", got; Dutch
"kut*" the German Kutsche; Polish "jeb*" Jebel), compounds are listed one by
one instead ("kutwijf", "gefickt"), and words whose everyday meaning wins
are left out: "Schwanz" (tail; "Schwanzflosse" is a fish's tail fin), French
"con" (Spanish and Italian "with"), "coño" (whose unaccented form "cono" is a
cone), "pédé" (Portuguese "pede", asks), Italian "troia" (Troy), Dutch
"kanker" (cancer; only its insult compounds are listed). Masking keeps the
first character of the match and stars the rest, spaces between a phrase's
words excepted ("Scheiße" -> "S******", "porco dio" -> "p**** ***").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources

__all__ = ["ProfanityResult", "available_languages", "check_profanity"]

ALWAYS = "en"  # the bridge's common tongue: its list applies on every link
_PACKAGE = __package__ or "workers.moderation"


@dataclass(frozen=True)
class ProfanityResult:
    text: str  # the text with each profane word masked: first letter kept, rest '*' ("f***")
    count: int  # how many words (or phrases) were masked
    severe: bool  # True if any masked entry is marked severe (slurs: " !" in the lists)


# --- the skeleton ---------------------------------------------------------------

# Letters NFKD does not decompose but a reader takes for the plain one. Not
# "ø" (Danish and Norwegian "jøder", Jews, would become Spanish "joder") nor
# "ł" (Polish "pierdoła", a dodderer, would become "pierdol*").
_BY_HAND = {"đ": "d", "ħ": "h", "ı": "i", "ŧ": "t", "ŀ": "l"}


def _is_latin_diacritic(ch: str) -> bool:
    o = ord(ch)
    return (
        0x0300 <= o <= 0x036F
        or 0x1AB0 <= o <= 0x1AFF
        or 0x1DC0 <= o <= 0x1DFF
        or 0x20D0 <= o <= 0x20FF
        or 0xFE20 <= o <= 0xFE2F
    )


@functools.lru_cache(maxsize=4096)
def _fold(ch: str) -> str:
    """What one character of the text becomes in the skeleton (possibly nothing)."""
    if unicodedata.category(ch) == "Cf":  # zero-width space/joiner, soft hyphen, BOM...
        return ""
    out = []
    for part in unicodedata.normalize("NFKD", ch):
        if _is_latin_diacritic(part):
            continue
        for low in part.casefold():
            out.append(_BY_HAND.get(low, low))
    return "".join(out)


def _skeleton(text: str) -> tuple[str, list[int]]:
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for c in _fold(ch):
            chars.append(c)
            origin.append(i)
    return "".join(chars), origin


def _normalize_entry(entry: str) -> str:
    return "".join(_fold(ch) for ch in entry)


# --- character classes ------------------------------------------------------------


def _mark_ranges() -> str:
    """Every combining mark (Mn, Mc, Me) as a regex class body: the vowel signs
    of Gujarati and other Indic scripts are marks, which ``\\w`` leaves out."""
    ranges: list[tuple[int, int]] = []
    # Planes 0 and 1 plus the variation selectors of plane 14 hold every mark.
    for cp in (*range(0x20000), *range(0xE0100, 0xE01F0)):
        if unicodedata.category(chr(cp)).startswith("M"):
            if ranges and ranges[-1][1] == cp - 1:
                ranges[-1] = (ranges[-1][0], cp)
            else:
                ranges.append((cp, cp))
    return "".join(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges)


_MARKS = _mark_ranges()
# A character inside a word: a letter or digit (not "_"), a combining mark, or
# a leetspeak symbol that usually stands inside words ("a$$hole", "@ss").
_WORD = rf"(?:[^\W_]|[{_MARKS}@$€])"
_START = rf"(?<!{_WORD})"
_END = rf"(?!{_WORD})"
_SEP_CHARS = "._\\-*·•~"
_SEP = f"[{_SEP_CHARS}]"
_LEET = {
    "a": "a4@",
    "e": "e3€",
    "i": "i1!|",
    "l": "l1|",
    "o": "o0",
    "s": "s5$",
    "t": "t7",
}
# A run of three or more single letters spaced apart ("f u c k", "f. u. c. k"):
# entries are looked for in its letters joined, starting and ending at any of
# them ("what a s h i t day"). Every gap must hold a space ("f.u.c.k f.u.c.k"
# is two words, each matched through the separators an entry's pattern allows
# between its letters).
_SINGLE = r"(?:[^\W_]|[@$€!|])"
_SPACED = re.compile(rf"{_START}{_SINGLE}(?:{_SEP}*\s[\s{_SEP_CHARS}]*{_SINGLE}){{2,}}{_END}")


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return (
        0x3040 <= o <= 0x30FF
        or 0x3400 <= o <= 0x4DBF
        or 0x4E00 <= o <= 0x9FFF
        or 0xF900 <= o <= 0xFAFF
        or 0xAC00 <= o <= 0xD7AF
        or 0x20000 <= o <= 0x3FFFF
    )


def _letter(ch: str, n: int) -> str:
    cls = _LEET.get(ch)
    c = f"[{re.escape(cls)}]" if cls else re.escape(ch)
    if not ch.isalpha():
        return c * n
    if n == 1:
        return f"{c}(?:{c}{c}+)?"  # once, or stretched to three and more
    return f"{c}{{{n},}}"


def _word_pattern(word: str) -> str:
    runs: list[tuple[str, int]] = []
    for ch in word:
        if runs and runs[-1][0] == ch:
            runs[-1] = (ch, runs[-1][1] + 1)
        else:
            runs.append((ch, 1))
    return f"{_SEP}{{0,3}}".join(_letter(ch, n) for ch, n in runs)


# --- the lists --------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    words: tuple[str, ...]  # normalized (skeleton) form, one item per word of a phrase
    prefix: bool
    severe: bool

    @property
    def substring(self) -> bool:
        """Matched anywhere (CJK, two characters or more), not as a whole word."""
        joined = "".join(self.words)
        return len(self.words) == 1 and len(joined) > 1 and all(_is_cjk(c) for c in joined)

    def pattern(self, bounded: bool = True) -> str:
        """The entry's regex, without the word boundary before it (the matcher
        puts one in front of all whole-word entries at once); ``bounded=False``
        drops the one after it too (for letters spaced apart, where any letter
        may end a word)."""
        if self.substring:
            return f"{_SEP}{{0,3}}".join(re.escape(c) for c in self.words[0])
        body = rf"(?:\s|{_SEP})+".join(_word_pattern(w) for w in self.words)
        tail = f"{_WORD}*" if self.prefix else ""
        return f"{body}{tail}{_END if bounded else ''}"


def _parse(text: str) -> list[_Entry]:
    entries = []
    for raw in text.splitlines():
        line = re.sub(r"(?:^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        severe = False
        if line.endswith(" !"):
            severe, line = True, line[:-2].rstrip()
        prefix = line.endswith("*")
        line = line.rstrip("*").strip()
        words = tuple(w for w in (_normalize_entry(w) for w in line.split()) if w)
        if words:
            entries.append(_Entry(words, prefix, severe))
    return entries


def _wordlists():
    return resources.files(_PACKAGE).joinpath("wordlists")


@functools.cache
def available_languages() -> frozenset[str]:
    """The languages a word list ships for ("en", "de", ...)."""
    return frozenset(p.name[:-4] for p in _wordlists().iterdir() if p.name.endswith(".txt"))


@functools.cache
def _load(lang: str) -> tuple[_Entry, ...]:
    return tuple(_parse(_wordlists().joinpath(f"{lang}.txt").read_text(encoding="utf-8")))


def _base(code: str) -> str:
    return re.split(r"[-_]", code.strip(), maxsplit=1)[0].lower()


class _Matcher:
    def __init__(self, langs: frozenset[str]) -> None:
        seen: dict[tuple[tuple[str, ...], bool], _Entry] = {}
        for lang in sorted(langs):
            for e in _load(lang):
                key = (e.words, e.prefix)
                if key not in seen or (e.severe and not seen[key].severe):
                    seen[key] = e
        # Longest first: at one position a phrase or compound wins over its first word.
        self.entries = sorted(seen.values(), key=lambda e: (-len(" ".join(e.words)), e.words))
        # Each alternative starts with its first letter, which lets the regex
        # engine reject it at a glance; an empty group at its end names it.
        alts: dict[bool, list[str]] = {True: [], False: []}
        for i, e in enumerate(self.entries):
            alts[e.substring].append(f"{e.pattern()}(?P<e{i}>)")
        parts = []
        if alts[False]:
            parts.append(f"{_START}(?:{'|'.join(alts[False])})")
        if alts[True]:
            parts.append(f"(?:{'|'.join(alts[True])})")
        self.regex = re.compile("|".join(parts) or r"(?!)")
        # For runs of letters spaced apart, joined: no word boundaries at all.
        self.loose = re.compile(
            "|".join(f"{e.pattern(bounded=False)}(?P<e{i}>)" for i, e in enumerate(self.entries)) or r"(?!)"
        )


@functools.lru_cache(maxsize=64)
def _matcher(langs: frozenset[str]) -> _Matcher:
    return _Matcher(langs)


def _matcher_for(languages: Collection[str]) -> _Matcher:
    wanted = {_base(code) for code in languages if code} | {ALWAYS}
    return _matcher(frozenset(wanted & available_languages()))


def preload(language_sets: Collection[Collection[str]] = ()) -> None:
    """Read every word list now, and build the matchers of ``language_sets`` (each
    link's languages; building one takes ~0.15 s). A worker's parent process does
    this before forking its pool, so the children share the result copy-on-write."""
    for lang in available_languages():
        _load(lang)
    for languages in language_sets:
        _matcher_for(languages)


_SINGLE_RE = re.compile(_SINGLE)
_SPELLED_MAX = 24  # letters one spelled-out word may take (keeps "a a a a ..." linear)


def _entry(m: re.Match[str]) -> int:
    """The index of the entry a match is of: each alternative is a group named e<index>."""
    assert m.lastgroup is not None  # every alternative is a named group
    return int(m.lastgroup[1:])


def _spaced(skel: str, matcher: _Matcher):
    """Entries spelled out in runs of single letters ("what a s h i t day"):
    (first letter, last letter, entry index), as positions in ``skel``."""
    for run in _SPACED.finditer(skel):
        letters = [j for j in range(run.start(), run.end()) if _SINGLE_RE.fullmatch(skel[j])]
        joined = "".join(skel[j] for j in letters)
        i = 0
        while i < len(joined):
            m = matcher.loose.match(joined, i, i + _SPELLED_MAX)
            if m and m.end() - i >= 2:
                yield letters[i], letters[m.end() - 1], _entry(m)
                i = m.end()
            else:
                i += 1


def check_profanity(text: str, languages: Collection[str]) -> ProfanityResult:
    """Mask profanity of the given languages' lists (plus English always, the bridge's common
    tongue) in ``text``. Lists are loaded once per process (lazy, cached per language set).

    Language codes may carry a region ("pt-BR", "zh-CN"); languages without a
    list are ignored."""
    if not text:
        return ProfanityResult(text, 0, False)
    if isinstance(languages, str):
        languages = (languages,)
    matcher = _matcher_for(languages)
    skel, origin = _skeleton(text)
    # (start, end) in the skeleton, entry index, whether spaces inside stay
    found: list[tuple[int, int, int, bool]] = [
        (m.start(), m.end(), _entry(m), True) for m in matcher.regex.finditer(skel)
    ]
    if _SPACED.search(skel):
        taken = [(a, b) for a, b, _, _ in found]
        for a, last, index in _spaced(skel, matcher):
            if not any(a < b2 and a2 <= last for a2, b2 in taken):
                found.append((a, last + 1, index, False))
    if not found:
        return ProfanityResult(text, 0, False)
    out = list(text)
    for a, b, _, keep_spaces in found:
        start, end = origin[a], origin[b - 1] + 1
        # Combining marks or invisible characters right after the word belong to it.
        while end < len(text) and not _fold(text[end]) and unicodedata.category(text[end])[0] in "MC":
            end += 1
        # The spaces between the words of a phrase stay; those between letters
        # spelled out one by one ("f u c k") are masked with them.
        gaps = {origin[j] for j in range(a, b) if skel[j].isspace()} if keep_spaces else set()
        for i in range(start + 1, end):
            if i not in gaps:
                out[i] = "*"
    severe = any(matcher.entries[index].severe for _, _, index, _ in found)
    return ProfanityResult("".join(out), len(found), severe)
