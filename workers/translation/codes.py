"""Language codes per provider.

The configuration speaks ISO 639-1 (plus a few regional variants such as
zh-CN or pt-BR); every provider has its own dialect: Google wants zh-CN and
iw for Hebrew, MyMemory wants de-DE and gu-IN, LibreTranslate says zh (or
zh-Hans in newer releases) and pb for Brazilian Portuguese. One function maps
our code onto whatever codes a provider says it supports.
"""

from __future__ import annotations

from collections.abc import Collection

# Old and new names of the same language: providers disagree on which to use.
_ALIASES = {
    "he": ("iw",),
    "iw": ("he",),
    "jv": ("jw",),
    "jw": ("jv",),
    "tl": ("fil",),
    "fil": ("tl",),
    "nb": ("no",),
    "no": ("nb",),
    "id": ("in",),
    "yi": ("ji",),
}

# The variant to prefer when a provider only has regional codes for a base language.
_PREFERRED_REGION = {
    "zh": ("zh-CN", "zh-Hans", "zh-cn", "ZH"),
    "zh-CN": ("zh", "zh-Hans"),
    "zh-TW": ("zt", "zh-Hant", "zh-tw"),
    "pt": ("pt-PT",),
    "pt-BR": ("pb", "pt-br", "pt"),
    "pt-PT": ("pt",),
    "en": ("en-GB", "en-US"),
    "es": ("es-ES",),
    "fr": ("fr-FR",),
    "de": ("de-DE",),
    "it": ("it-IT",),
    "nl": ("nl-NL",),
    "sv": ("sv-SE",),
    "gu": ("gu-IN",),
    "hi": ("hi-IN",),
    "ar": ("ar-SA",),
    "ja": ("ja-JP",),
    "ko": ("ko-KR",),
    "ru": ("ru-RU",),
    "pl": ("pl-PL",),
    "uk": ("uk-UA",),
    "tr": ("tr-TR",),
    "cs": ("cs-CZ",),
    "da": ("da-DK",),
    "fi": ("fi-FI",),
    "el": ("el-GR",),
    "he": ("he-IL",),
}


def base(code: str) -> str:
    return code.split("-", 1)[0].lower()


def provider_code(code: str, supported: Collection[str]) -> str | None:
    """``code`` as a provider that supports ``supported`` writes it, or None.

    Exact match first, then the preferred regional form, then aliases, then
    any variant sharing the base language (case-insensitively)."""
    if not supported:
        return None
    by_lower = {s.lower(): s for s in supported}
    tries = [code, *_PREFERRED_REGION.get(code, ()), base(code), *_PREFERRED_REGION.get(base(code), ())]
    for alias in _ALIASES.get(base(code), ()):
        tries += [alias, *_PREFERRED_REGION.get(alias, ())]
    for attempt in tries:
        if attempt.lower() in by_lower:
            return by_lower[attempt.lower()]
    for s in sorted(supported):
        if base(s) == base(code) or base(s) in _ALIASES.get(base(code), ()):
            return s
    return None
