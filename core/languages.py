"""Language codes the configuration accepts (ISO 639-1, plus the regional
variants translation providers distinguish)."""

ISO_639_1 = frozenset(
    """
    aa ab af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy
    da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht
    hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky
    la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny
    oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss
    st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo
    za zh zu
    """.split()
)

REGIONAL = frozenset({"zh-CN", "zh-TW", "pt-BR", "pt-PT", "en-GB", "en-US", "es-419", "fr-CA"})


def is_language(code: str) -> bool:
    return code in ISO_639_1 or code in REGIONAL


# How each language names itself, for "Original (Deutsch)" notes.
ENDONYMS = {
    "en": "English",
    "de": "Deutsch",
    "fr": "français",
    "es": "español",
    "zh": "中文",
    "zh-CN": "中文（简体）",
    "zh-TW": "中文（繁體）",
    "gu": "ગુજરાતી",
    "it": "italiano",
    "pl": "polski",
    "nl": "Nederlands",
    "pt": "português",
    "pt-BR": "português (Brasil)",
    "uk": "українська",
    "ru": "русский",
    "ar": "العربية",
    "hi": "हिन्दी",
    "ja": "日本語",
    "tr": "Türkçe",
    "cs": "čeština",
    "sv": "svenska",
    "da": "dansk",
    "fi": "suomi",
    "el": "Ελληνικά",
    "he": "עברית",
    "ko": "한국어",
}
