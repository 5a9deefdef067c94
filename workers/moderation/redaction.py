"""Personal data in chat messages, replaced by visible markers before a message
crosses a link (pure functions: no I/O, no network).

Detectors read a normalised copy of the text (normalise.py: NFKC, no format
characters such as zero-width spaces or soft hyphens, every script's digits as
ASCII), so "ａｎｎａ＠ｅｘａｍｐｌｅ．ｏｒｇ", "anna\u200b@example.org" and
"٠٧٧٠٠ ٩٠٠١٢٣" are found like their plain forms; each find is mapped back onto
the original text, hidden characters inside it included, and only that span is
replaced: the rest of the message stays exactly as typed.

Each kind has one detector. They run from the most specific to the least
(an e-mail address before the handle and link inside it, an IBAN or card
number before the phone number its digits might look like), and each sees the
text with earlier finds blanked out, so nothing is found twice and nothing is
replaced inside a marker. Markers already in the text count as found, which
makes ``redact`` idempotent.

A pupil's number in a school chat is worse than a date wrongly removed, and a
chat full of "[phone removed]" where dates stood is bad for the twinning: both
are measured on tests/unit/data/pii_bypasses.tsv (docs/privacy.md has the
figures). What each kind covers, and deliberately leaves alone:

email     local@domain.tld, Latin (with accents), Greek or Cyrillic letters, IDN
          in punycode; spelled out "anna [at] example [dot] org", "info(at)schule.de",
          "anna @ example.org", with "at"/"dot" in brackets in the link languages
          ([arroba], (ät), [punkt], [chiocciola], [małpa]…) or as bare English words
          "anna at example dot org" (both words: "look at example.com" stays), the
          TLD on the known list. Not "user@localhost" or "x@y" (no dot-TLD).
url       http(s)://…, www.…, and bare domains "example.org/agenda" whose TLD is
          on a short known list (or any lower-case TLD when a path follows).
          TLDs that are also everyday words ("it", "in", "at", "be", "me", "no",
          "is", "us", "my") count only with a path, a third label
          ("comune.roma.it") or a hyphen/digit in the name ("partner-schule.at"),
          so "great.it was" stays. Not "e.g.", "i.e.", "Mr.Smith", decimals, or
          file names ("report.pdf", "photo.jpg": not TLDs on the list).
handle    @username of 2–32 of [A-Za-z0-9_] (dots inside for Discord; Discord,
          Instagram and TikTok names may be that short), and Discord mentions
          <@123…>/<@!123…>. Not e-mail addresses, "@everyone"/"@here", "@ 5pm",
          "@5pm", "@14:30", and not "@home", "@school", "@work"… ("@" for "at").
postcode  GB "LE1 5WW"; IE "A65 F4E2"; CA "K1A 0B1"; NL "1234 AB" before a town
          or after a keyword; US ZIP+4 "12345-6789" and ", IL 62704"; AU "NSW 2000";
          PL "00-950 Warszawa"; PT "1100-053"; BR "01310-100"; JP "〒100-0001"
          (and "100-0001" next to Japanese text); IN "Mumbai 400001",
          "अहमदाबाद 380009"; CN "上海市徐汇区 200030"; after a keyword (PLZ, CP,
          code postal, código postal, CAP, CEP, postcode, ZIP, PIN, kod pocztowy,
          邮编, 郵便番号, 우편번호…) the region's code; DE/FR/ES/IT/MX… "47798 Krefeld",
          AT/CH/BE/DK… "1010 Wien", SE/CZ/GR "114 55 Stockholm" when a capitalised
          town ends the clause, at a line start, after "," ":" ";" "(" or a place
          preposition ("in 47798 Krefeld", "à 59000 Lille"). Each only for its
          regions. Not counts ("10000 Schritte heute", "25000 Einwohner"), not
          years before a town, not digit codes that are the tail of a longer
          number ("(11) 91234-5678" is a phone number, not a ZIP+4).
iban      Country code + check digits + the country's exact length, groups of
          four separated by single spaces allowed, mod-97 checksum valid.
card      13–19 digits, contiguous or in 4-4-4-4(-3) / 4-6-5 / 4-6-4 groups
          (spaces or dashes), Luhn-valid, with a known issuer prefix
          (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro UK).
ip        IPv4 (four octets 0–255, no leading zeros, optional :port; not after
          "v"/"version", not a fifth dotted number) and IPv6 (``ipaddress``
          validated, at least four hex digits). Not "1.2.3", dates, or times.
phone     By shape and possible length, not by allocation (phones.py): runs of
          digits with the separators people use (spaced out one by one, dotted,
          dashed, bracketed), international "+…"/"00…" always, national formats
          for the given regions; dates, times, prices, years, thousands, lists,
          scores and named references (order, ISBN, version…) set aside.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass

import phonenumbers

from .normalise import normalise
from .phones import phone_spans

KINDS = ("email", "phone", "url", "handle", "postcode", "iban", "card", "ip")

MARKERS = {
    "email": "[email removed]",
    "phone": "[phone removed]",
    "url": "[link removed]",
    "handle": "[handle removed]",
    "postcode": "[postcode removed]",
    "iban": "[IBAN removed]",
    "card": "[card number removed]",
    "ip": "[IP address removed]",
}

# Most specific first: see the module docstring.
_ORDER = ("email", "iban", "card", "url", "ip", "handle", "postcode", "phone")

_MARKER_RE = re.compile("|".join(re.escape(m) for m in MARKERS.values()))
_MASK = "\x00"  # stands in for what is already found: no detector matches it

Span = tuple[int, int]

# Latin letters with accents count as letters in addresses and around handles.
# Latin letters with accents, Greek and Cyrillic count as letters in addresses and around
# handles (an address with a Cyrillic "а" in it is still an address).
_L = "A-Za-z0-9\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff"


@dataclass(frozen=True)
class Redacted:
    text: str  # the text with each found item replaced by its marker
    found: dict[str, int]  # kind -> how many were replaced (only kinds with >0)


def redact(text: str, kinds: Collection[str], regions: Collection[str] = ()) -> Redacted:
    """Replace each item of the given kinds with a visible marker: "[email removed]",
    "[phone removed]", "[link removed]", "[handle removed]", "[postcode removed]",
    "[IBAN removed]", "[card number removed]", "[IP address removed]".
    ``regions``: ISO 3166 region codes to parse national phone numbers and postcodes
    for (e.g. {"GB","DE","FR","NI","CN","IN"}); international +… numbers always."""
    out, found, pos = [], Counter[str](), 0
    for start, end, kind in find(text, kinds, regions):
        out += [text[pos:start], MARKERS[kind]]
        found[kind] += 1
        pos = end
    out.append(text[pos:])
    return Redacted("".join(out), dict(found))


def find(text: str, kinds: Collection[str], regions: Collection[str] = ()) -> list[tuple[int, int, str]]:
    """(start, end, kind) of each item of personal data in ``text``, in order, as
    spans of the original text: detectors read the normalised copy (see
    normalise.py), so hidden characters inside an item are part of its span."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds of personal data: {sorted(unknown)}")
    wanted = frozenset(r.upper() for r in regions)
    copy = normalise(text.replace(_MASK, " "))
    masked = _mask(copy.text, (m.span() for m in _MARKER_RE.finditer(copy.text)))
    finds: list[tuple[int, int, str]] = []
    for kind in _ORDER:
        if kind not in kinds:
            continue
        spans = [s for s in _merge(_DETECTORS[kind](masked, wanted)) if _MASK not in masked[s[0] : s[1]]]
        finds += [(*copy.original_span(start, end), kind) for start, end in spans]
        masked = _mask(masked, spans)
    # One original character can fold into several ("½" → "1⁄2"): finds that now
    # touch the same characters become one.
    merged: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(finds):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]), merged[-1][2])
        else:
            merged.append((start, end, kind))
    return merged


# Where a language's speakers live in numbers (a community says only its language, and a
# pupil of an English-speaking class may have an Indian or Canadian number or address).
_LANGUAGE_REGIONS = {
    "en": ("GB", "US", "IE", "CA", "AU", "NZ", "IN", "ZA"),
    "de": ("DE", "AT", "CH", "LU"),
    "fr": ("FR", "BE", "CH", "CA", "LU", "MA"),
    "es": ("ES", "MX", "NI", "AR", "CO", "CL", "PE", "US"),
    "pt": ("PT", "BR"),
    "it": ("IT", "CH"),
    "nl": ("NL", "BE"),
    "pl": ("PL",),
    "zh": ("CN", "TW", "HK", "SG"),
    "ja": ("JP",),
    "ko": ("KR",),
    "hi": ("IN",),
    "gu": ("IN",),
    "mr": ("IN",),
    "ta": ("IN", "LK"),
    "te": ("IN",),
    "kn": ("IN",),
    "ml": ("IN",),
    "pa": ("IN", "PK"),
    "bn": ("BD", "IN"),
    "ur": ("PK", "IN"),
    "da": ("DK",),
    "sv": ("SE", "FI"),
    "fi": ("FI",),
    "nb": ("NO",),
    "nn": ("NO",),
    "no": ("NO",),
    "cs": ("CZ",),
    "sk": ("SK",),
    "hu": ("HU",),
    "ro": ("RO", "MD"),
    "el": ("GR", "CY"),
    "tr": ("TR",),
    "uk": ("UA",),
    "ru": ("RU", "UA", "KZ"),
    "ar": ("EG", "SA", "MA", "AE"),
}


def regions_for_languages(languages: Collection[str]) -> set[str]:
    """Regions whose phone numbers and postcodes members of these languages write
    (en→GB,US,IE,CA,AU,NZ,IN,ZA; de→DE,AT,CH,LU; zh→CN,TW,HK,SG; gu→IN…), plus the
    region a language tag names ("pt-BR", "zh-TW"; not "es-419")."""
    regions: set[str] = set()
    for language in languages:
        base, _, variant = language.replace("_", "-").partition("-")
        regions.update(_LANGUAGE_REGIONS.get(base.lower(), ()))
        if len(variant) == 2 and variant.isalpha():
            regions.add(variant.upper())
    return regions


# --- plumbing ---------------------------------------------------------------


def _mask(text: str, spans: Iterable[Span]) -> str:
    for start, end in spans:
        text = text[:start] + _MASK * (end - start) + text[end:]
    return text


def _merge(spans: Iterable[Span]) -> list[Span]:
    """Overlapping finds (one number seen by several regions) become one."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


# --- email ------------------------------------------------------------------

_EMAIL = re.compile(
    rf"(?<![{_L}._%+-])[{_L}_%+-](?:[{_L}._%+-]*[{_L}_%+-])?"  # local part, no dot at either end
    rf"@(?:[{_L}](?:[{_L}-]*[{_L}])?\.)+(?:[A-Za-z]{{2,24}}|xn--[A-Za-z0-9-]+)(?![{_L}-])"
)


# Spelled-out addresses: "anna [at] example [dot] org", "info(at)schule.de", "anna @ example.org",
# "anna at example dot org". The "at" and "dot" in brackets in the link languages; as bare
# words only in English and only together ("look at example.com" is not an address).
_AT_WORDS = "at|ät|arroba|arobase|chiocciola|apenstaartje|klammeraffe|affe|małpa|malpa|snabel-a|собака"
_DOT_WORDS = "dot|punkt|point|punto|punt|kropka|ponto|пункт|точка|[.]"
_SPELLED_AT = rf"\s*[\[({{<]\s*(?:{_AT_WORDS}|@)\s*[\])}}>]\s*|\s+at\s+|\s+@\s*|\s*@\s+"
_SPELLED_DOT = rf"\s*[\[({{<]\s*(?:{_DOT_WORDS})\s*[\])}}>]\s*|\s+dot\s+|\s?[.]\s?"
_LABEL = rf"[{_L}](?:[{_L}-]*[{_L}])?"
_SPELLED_EMAIL = re.compile(
    rf"(?i)(?<![{_L}._%+-])[{_L}_%+-](?:[{_L}._%+-]*[{_L}_%+-])?(?P<at>{_SPELLED_AT})"
    rf"(?P<domain>(?:{_LABEL}(?:{_SPELLED_DOT}))+)(?P<tld>[A-Za-z]{{2,24}})(?![{_L}-])"
)
_PLAIN_DOT = re.compile(r"(?<![\[({<\s])\s?[.]\s?(?![\])}>])")


_SPELLED_HINT = re.compile(rf"(?i)@|[\[({{<]\s*(?:{_AT_WORDS})\s*[\])}}>]|\bdot\b")


def _emails(text: str, regions: frozenset[str]) -> Iterator[Span]:
    yield from (m.span() for m in _EMAIL.finditer(text))
    if not _SPELLED_HINT.search(text):
        return  # the common case: nothing that could spell out an "@"
    for m in _SPELLED_EMAIL.finditer(text):
        if m.group("tld").lower() not in _TLDS:
            continue  # spelled out, the end must be a TLD that we know
        if m.group("at").strip().lower() == "at" and _PLAIN_DOT.search(m.group("domain")):
            continue  # "look at example.com": a bare "at" needs a spelled-out dot too
        yield m.span()


# --- url --------------------------------------------------------------------

_TLDS = frozenset(
    """com org net edu gov int info biz eu io app dev online site web shop school museum
    travel club news blog email social gg ly nrw berlin koeln paris bzh cat gal barcelona madrid
    uk de fr es nl cn ie ch pl pt br mx ni us ca au nz se dk fi cz sk hu ro gr tr ru ua
    jp kr tw hk sg za ar cl lu si hr ee lv lt is me tv at be it in no my""".split()
)
# TLDs that are everyday words: "great.it was", "ok.no worries" are typos, not links.
_WORDLIKE_TLDS = frozenset("at be in is it me my no us".split())
_SCHEME_URL = re.compile(r"(?i)(?<![\w@.])(?:https?://|www\.)[^\s<>\"]+")
_BARE_DOMAIN = re.compile(
    r"(?i)(?<![\w@./:-])((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+([a-z]{2,24}))(?::\d{2,5})?(/[^\s<>\"]*)?(?![\w@-])"
)
_TRAILING = ".,;:!?'\"»”’…)]}"


def _trim(text: str, start: int, end: int) -> Span:
    """Sentence punctuation after a link is not part of it; a ")" is unless unbalanced."""
    while end > start and text[end - 1] in _TRAILING:
        if text[end - 1] == ")" and text.count("(", start, end) >= text.count(")", start, end):
            break
        end -= 1
    return start, end


def _urls(text: str, regions: frozenset[str]) -> Iterator[Span]:
    for m in _SCHEME_URL.finditer(text):
        yield _trim(text, *m.span())
    for m in _BARE_DOMAIN.finditer(text):
        host, tld, path = m.group(1), m.group(2), m.group(3)
        if path is not None and len(path) > 1 and tld.islower():
            yield _trim(text, *m.span())  # "schule.nrw/termine": a path makes any TLD a link
        elif tld.lower() in _TLDS and (
            tld.lower() not in _WORDLIKE_TLDS or path or host.count(".") >= 2 or re.search(r"[\d-]", host)
        ):
            yield _trim(text, *m.span())


# --- handle -----------------------------------------------------------------

# Telegram usernames are 5–32 characters, Discord's, Instagram's and TikTok's from 2 (and
# may start with a digit or "_"): "@bob" is someone. What follows an "@" used as "at" is
# left: "@home", "@ 5pm", "@5pm", "@14:30", "@everyone".
_HANDLE = re.compile(rf"(?<![{_L}@._/-])@([A-Za-z0-9_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)(?![{_L}@-])")
_DISCORD_MENTION = re.compile(r"<@!?\d{15,21}>")
_NOT_PEOPLE = frozenset(
    """everyone here channel admin admins home work school night noon lunch dinner breakfast
    the last least all once me you him her us them it my your this that""".split()
)
_TIME_OR_NUMBER = re.compile(r"(?i)\d{1,2}(?:[:.h]\d{2})?(?:am|pm|h|uhr)?|\d+(?:st|nd|rd|th)?|_+")


def _handles(text: str, regions: frozenset[str]) -> Iterator[Span]:
    for m in _HANDLE.finditer(text):
        name = m.group(1)
        if 2 <= len(name) <= 32 and name.lower() not in _NOT_PEOPLE and not _TIME_OR_NUMBER.fullmatch(name):
            yield m.span()
    for m in _DISCORD_MENTION.finditer(text):
        yield m.span()


# --- postcode ---------------------------------------------------------------

# Inward codes like "2GB"/"1TB" follow console names ("PS5 2GB") more often than streets.
_UK_POSTCODE = re.compile(r"(?<![\w-])[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?(?!\d[GTP]B\b)\d[ABD-HJLNP-UW-Z]{2}(?![\w-])")
_NL_POSTCODE = re.compile(r"(?<![\w-])[1-9]\d{3} ?(?!SA|SD|SS)[A-Z]{2}(?![\w-])")
_CA_POSTCODE = re.compile(r"(?<![\w-])[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d(?![\w-])")
# Eircode: routing key and a unique part; the unique part must hold a letter ("A65 F4E2"),
# or "D02 2023" would be a Dublin district and a year.
_IE_EIRCODE = re.compile(
    r"(?<![\w-])(?:[AC-FHKNPRTV-Y]\d{2}|D6W) ?(?=[0-9AC-FHKNPRTV-Y]{0,3}[AC-FHKNPRTV-Y])"
    r"[0-9AC-FHKNPRTV-Y]{4}(?![\w-])"
)
_JP_POSTCODE = re.compile(r"〒\s?\d{3}-?\d{4}(?!\d)")
_JP_PLAIN = re.compile(r"(?<![\w-])\d{3}-\d{4}(?![\w-])")
_PT_POSTCODE = re.compile(r"(?<![\w-])\d{4}-\d{3}(?![\w-])")
_BR_CEP = re.compile(r"(?<![\w-])\d{5}-\d{3}(?![\w-])")
_PL_POSTCODE = re.compile(r"(?<![\w-])\d{2}-\d{3}(?![\w-])")
_AU_STATE_POSTCODE = re.compile(r"\b(?:NSW|VIC|QLD|SA|WA|TAS|NT|ACT) (\d{4})(?![\w-])")
_TOWN_AFTER = re.compile(r"[ \t]+[A-ZÀ-ÝŁŚŻ][\w'-]+")
_ZIP4 = re.compile(r"(?<![\w-])\d{5}-\d{4}(?![\w-])")
_US_STATE_ZIP = re.compile(r"(?<=, )([A-Z]{2}) (\d{5})(?![\w-])")
_US_STATES = frozenset(
    """AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV
    NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR""".split()
)
_POSTCODE_KEYWORD = re.compile(
    r"(?:(?i:plz|postleitzahl|code postal|c[oó]digo postal|post ?code|zip(?: ?code)?|pin ?code|postcode"
    r"|kod pocztowy|posta kodu|postnummer|postinumero|postal code|cep|индекс|почтовый индекс)"
    r"|\bCP\b|\bC\.P\.|\bCAP\b|\bPIN\b|邮编|邮政编码|郵便番号|우편번호)"
    r"(?:\s+(?i:ist|is|es|est|è|lautet|to|je))?\s*[:：]?\s*(\d{2,6}(?:-\d{3,4})?|\d{3} \d{2,3})(?!\d)"
)
_DIGITS_BY_REGION = {
    "DE": 5,
    "FR": 5,
    "ES": 5,
    "IT": 5,
    "MX": 5,
    "US": 5,
    "NI": 5,
    "FI": 5,
    "HR": 5,
    "GR": 5,
    "TR": 5,
    "UA": 5,
    "KR": 5,
    "SE": 5,
    "CZ": 5,
    "SK": 5,
    "PE": 5,
    "CO": 6,
    "MA": 5,
    "EG": 5,
    "SA": 5,
    "PK": 5,
    "AT": 4,
    "CH": 4,
    "BE": 4,
    "NL": 4,
    "DK": 4,
    "NO": 4,
    "HU": 4,
    "AU": 4,
    "NZ": 4,
    "ZA": 4,
    "AR": 4,
    "LU": 4,
    "PT": 7,
    "BR": 8,
    "PL": 5,
    "CN": 6,
    "IN": 6,
    "RU": 6,
    "SG": 6,
    "RO": 6,
    "CL": 7,
    "JP": 7,
    "TW": 5,
    "BD": 4,
}
_TOWN_FIRST_REGIONS = frozenset({"DE", "FR", "ES", "IT", "MX", "FI", "HR", "TR", "UA", "LU", "MA"})
_FOUR_DIGIT_TOWN_REGIONS = frozenset({"AT", "CH", "BE", "DK", "NO", "HU", "LU"})
_SPACED_TOWN_REGIONS = frozenset({"SE", "CZ", "SK", "GR"})  # "114 55 Stockholm", "110 00 Praha"
# A code then its town, ending the clause ("…, 47798 Krefeld", "75001 Paris, France", "in
# 60311 Frankfurt am Main"): "10000 Schritte heute geschafft" goes on like a sentence.
# Anchored at a line start, after "," ";" ":" "(" or a place preposition.
_TOWN_TAIL = (
    r"(?=[ \t]+([A-ZÀ-ÝΑ-ΩА-Я][\w'-]+)"
    r"(?:[ \t]+(?:am|an|der|sur|de|del|la|le|di|im|[A-ZÀ-ÝΑ-ΩА-Я][\w'-]*))*[ \t]*(?:$|[,.;:!?()]))"
)
_ANCHOR_BEFORE = re.compile(r"(?m)(?:^|[,;:(]|(?<![\w'])(?i:in|à|en|a|nach|aus|w|do|da|di|de|bei|from|to) )[ \t]*$")
_ADDRESS_LINE = re.compile(rf"(?m)(?<![\w.,/-])(\d{{5}}){_TOWN_TAIL}")
_ADDRESS_LINE_4 = re.compile(rf"(?m)(?<![\w.,/-])((?!19\d\d|20\d\d)[1-9]\d{{3}}){_TOWN_TAIL}")
_ADDRESS_LINE_SPACED = re.compile(rf"(?m)(?<![\w.,/-])(\d{{3}} \d{{2}}){_TOWN_TAIL}")
# India and China write the town (or district) first: "Ahmedabad 380009", "Mumbai - 400 001",
# "અમદાવાદ 380009", "上海市徐汇区 200030"; the code ends the clause.
_PIN_AFTER_TOWN = re.compile(
    r"(?:\b[A-Z][a-z]+|[\u0900-\u0dff]+)[ \t]*[-–,]?[ \t]*"
    r"([1-9]\d{2} ?\d{3})(?![\w-])(?=[ \t]*(?:$|[,.;:!?()।]))"
)
_CN_AFTER_PLACE = re.compile(r"(?<=[\u4e00-\u9fff])[ \t,，]*(\d{6})(?!\d)(?=\s*(?:$|[,.;:!?()，。；：！？）]))")
# Capitalised words that follow a 5-digit count rather than a postcode ("25000 Einwohner").
_UNITS = frozenset(
    """euro euros eur dollar dollars usd pfund franken yuan rupien rupees einwohner menschen leute
    personen besucher teilnehmer schüler kinder stimmen punkte kilometer km meter jahre jahren tage
    stunden minuten seiten stück unterschriften follower views likes people persons students
    visitors members votes points pupils fans""".split()
)


_NEXT_TO_CJK = re.compile(r"^[\u3040-\u9fff] ?\d|\d ?[\u3040-\u9fff]$")


def _stands_alone(text: str, start: int, end: int) -> bool:
    """A code of digits and a dash is not the tail of a longer number: "(11) 91234-5678"
    and "+55 11 91234-5678" are phone numbers that look like a ZIP+4."""
    return not re.search(r"[\d)][ .-]?$", text[max(0, start - 2) : start]) and not re.match(
        r"[ .-]?\d", text[end : end + 2]
    )


def _postcodes(text: str, regions: frozenset[str]) -> Iterator[Span]:
    if not any(c.isdigit() for c in text):
        return  # every format has digits
    if "GB" in regions:
        yield from (m.span() for m in _UK_POSTCODE.finditer(text))
    if "NL" in regions:
        for m in _NL_POSTCODE.finditer(text):
            keyword = re.search(r"(?i)post ?code\s*:?\s*$", text[max(0, m.start() - 12) : m.start()])
            if keyword or _TOWN_AFTER.match(text, m.end()):
                yield m.span()
    if "US" in regions:
        yield from (m.span() for m in _ZIP4.finditer(text) if _stands_alone(text, *m.span()))
        yield from (m.span(2) for m in _US_STATE_ZIP.finditer(text) if m.group(1) in _US_STATES)
    if "CA" in regions:
        yield from (m.span() for m in _CA_POSTCODE.finditer(text))
    if "IE" in regions:
        yield from (m.span() for m in _IE_EIRCODE.finditer(text))
    if "AU" in regions:
        yield from (m.span(1) for m in _AU_STATE_POSTCODE.finditer(text))
    yield from (m.span() for m in _JP_POSTCODE.finditer(text))  # 〒 says what it is
    if "JP" in regions:  # "100-0001 東京都…": next to the address, else a US local number
        yield from (
            m.span()
            for m in _JP_PLAIN.finditer(text)
            if _stands_alone(text, *m.span()) and _NEXT_TO_CJK.search(text[max(0, m.start() - 2) : m.end() + 2])
        )
    for region, pattern in (("PT", _PT_POSTCODE), ("BR", _BR_CEP)):
        if region in regions:
            yield from (m.span() for m in pattern.finditer(text) if _stands_alone(text, *m.span()))
    if "PL" in regions:
        for m in _PL_POSTCODE.finditer(text):
            if _TOWN_AFTER.match(text, m.end()):  # "00-950 Warszawa"; not a score "12-345"
                yield m.span()
    lengths = {_DIGITS_BY_REGION[r] for r in regions if r in _DIGITS_BY_REGION}
    for m in _POSTCODE_KEYWORD.finditer(text):
        code = m.group(1)
        digits = sum(c.isdigit() for c in code)
        is_pin = m.group(0)[:3].lower() == "pin"
        if (digits in lengths or ("US" in regions and _ZIP4.fullmatch(code))) and (not is_pin or digits == 6):
            yield m.span(1)
    address_lines = []
    if regions & _TOWN_FIRST_REGIONS:
        address_lines.append(_ADDRESS_LINE)
    if regions & _FOUR_DIGIT_TOWN_REGIONS:
        address_lines.append(_ADDRESS_LINE_4)
    if regions & _SPACED_TOWN_REGIONS:
        address_lines.append(_ADDRESS_LINE_SPACED)
    for pattern in address_lines:
        for m in pattern.finditer(text):
            line_start = text.rfind("\n", 0, m.start()) + 1
            if m.group(2).lower() not in _UNITS and _ANCHOR_BEFORE.search(
                text, max(line_start, m.start() - 12), m.start()
            ):
                yield m.span(1)
    if "IN" in regions:
        yield from (m.span(1) for m in _PIN_AFTER_TOWN.finditer(text))
    if "CN" in regions:
        yield from (m.span(1) for m in _CN_AFTER_PLACE.finditer(text))


# --- iban -------------------------------------------------------------------

_IBAN_LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BR": 29,
    "BY": 28,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IQ": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LC": 32,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NL": 18,
    "NO": 15,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "SA": 24,
    "SC": 31,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "ST": 25,
    "SV": 28,
    "TL": 23,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VA": 22,
    "VG": 24,
    "XK": 20,
}
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})\d{2}")


def iban_is_valid(iban: str) -> bool:
    """Country length and the ISO 7064 mod-97 check (spaces ignored)."""
    iban = iban.replace(" ", "").upper()
    if not iban.isascii() or not iban.isalnum() or _IBAN_LENGTHS.get(iban[:2]) != len(iban):
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _ibans(text: str, regions: frozenset[str]) -> Iterator[Span]:
    for m in _IBAN_START.finditer(text):
        length = _IBAN_LENGTHS.get(m.group(1).upper())
        if not length:
            continue
        # Walk the characters: a single space is allowed only between groups of four.
        i, chars = m.start(), list[str]()
        while i < len(text) and len(chars) < length:
            c = text[i]
            if c.isascii() and c.isalnum():
                chars.append(c)
            elif not (c == " " and len(chars) % 4 == 0 and text[i + 1 : i + 2].isalnum()):
                break
            i += 1
        after = text[i : i + 1]
        if len(chars) == length and not (after.isascii() and after.isalnum()) and iban_is_valid("".join(chars)):
            yield m.start(), i


# --- card -------------------------------------------------------------------

_CARD = re.compile(
    r"(?<![\w+.,/-])(?:"
    r"\d{13,19}"
    r"|\d{4}(?P<s>[ -])\d{4}(?P=s)\d{4}(?P=s)\d{1,4}(?:(?P=s)\d{3})?"  # 4-4-4-4, 4-4-4-4-3
    r"|\d{4}(?P<a>[ -])\d{6}(?P=a)\d{4,5}"  # Amex 4-6-5, Diners 4-6-4
    r")(?![\w-]|[.,]\d)"
)


def luhn_is_valid(number: str) -> bool:
    digits = [int(d) for d in reversed(re.sub(r"[ -]", "", number))]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    return bool(digits) and total % 10 == 0


def _known_issuer(d: str) -> bool:
    n, two, three, four, six = len(d), int(d[:2]), int(d[:3]), int(d[:4]), int(d[:6])
    return (
        (d[0] == "4" and n in (13, 16, 19))  # Visa
        or ((51 <= two <= 55 or 2221 <= four <= 2720) and n == 16)  # Mastercard
        or (two in (34, 37) and n == 15)  # American Express
        or ((four == 6011 or two == 65 or 644 <= three <= 649 or 622126 <= six <= 622925) and 16 <= n <= 19)  # Discover
        or (3528 <= four <= 3589 and 16 <= n <= 19)  # JCB
        or ((two in (36, 38, 39) or 300 <= three <= 305) and 14 <= n <= 19)  # Diners Club
        or (two == 62 and 16 <= n <= 19)  # UnionPay
        or ((two in (50, 56, 57, 58) or four in (6759, 6761, 6762, 6763)) and 13 <= n <= 19)  # Maestro
    )


def _cards(text: str, regions: frozenset[str]) -> Iterator[Span]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group(0))
        if 13 <= len(digits) <= 19 and _known_issuer(digits) and luhn_is_valid(digits):
            yield m.span()


# --- ip ---------------------------------------------------------------------

_IPV4 = re.compile(r"(?<![\w.:/-])((?:\d{1,3}\.){3}\d{1,3})(?::\d{1,5})?(?![\w-]|\.\d)")
_VERSION_BEFORE = re.compile(r"(?i)(?:\bversion|\bversión|\bver\.?|\bv)\s*$")
_IPV6 = re.compile(r"(?<![\w:.])[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*[0-9A-Fa-f](?:%[\w.]+)?(?![\w:])")


def _ips(text: str, regions: frozenset[str]) -> Iterator[Span]:
    for m in _IPV4.finditer(text):
        octets = m.group(1).split(".")
        if all(int(o) <= 255 and (o == "0" or not o.startswith("0")) for o in octets) and not _VERSION_BEFORE.search(
            text[max(0, m.start() - 10) : m.start()]
        ):
            yield m.span()
    for m in _IPV6.finditer(text):
        candidate = m.group(0).split("%")[0]
        if candidate.count(":") < 2 or sum(c in "0123456789abcdefABCDEF" for c in candidate) < 4:
            continue  # "14:30:00" is not an address, nor is a bare "::1"
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        yield m.span()


# --- phone ------------------------------------------------------------------


def _phones(text: str, regions: frozenset[str]) -> Iterator[Span]:
    return phone_spans(text, regions)  # by shape and possible length: see phones.py


def preload() -> None:
    """Load every region's phone-number metadata now (phonenumbers loads a region's on
    first use). A worker's parent process does this before forking its pool, so the
    children share it copy-on-write instead of each loading its own."""
    phonenumbers.PhoneMetadata.load_all()


_DETECTORS: dict[str, Callable[[str, frozenset[str]], Iterable[Span]]] = {
    "email": _emails,
    "url": _urls,
    "handle": _handles,
    "postcode": _postcodes,
    "iban": _ibans,
    "card": _cards,
    "ip": _ips,
    "phone": _phones,
}
