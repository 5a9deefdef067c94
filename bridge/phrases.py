"""The few words the bridge itself adds to relayed posts, in the reader's language.

English is the fallback for a language not listed here. Language names are
endonyms ("Deutsch", "中文"): the original's language named as its speakers
name it is recognisable to readers of any language.
"""
from __future__ import annotations

from .languages import ENDONYMS

_ORIGINAL = {
    "en": "Original ({language}), translated by {provider}",
    "de": "Original ({language}), übersetzt von {provider}",
    "fr": "Original ({language}), traduit par {provider}",
    "es": "Original ({language}), traducido por {provider}",
    "it": "Originale ({language}), tradotto da {provider}",
    "pt": "Original ({language}), traduzido por {provider}",
    "nl": "Origineel ({language}), vertaald door {provider}",
    "pl": "Oryginał ({language}), przetłumaczone przez {provider}",
    "zh": "原文（{language}），由 {provider} 翻译",
    "gu": "મૂળ લખાણ ({language}), {provider} દ્વારા અનુવાદિત",
}
_NOT_TRANSLATED = {
    "en": "Not translated: no translator was available. Original in {language}.",
    "de": "Nicht übersetzt: kein Übersetzer war verfügbar. Original auf {language}.",
    "fr": "Non traduit : aucun traducteur n'était disponible. Original en {language}.",
    "es": "Sin traducir: no había ningún traductor disponible. Original en {language}.",
    "it": "Non tradotto: nessun traduttore disponibile. Originale in {language}.",
    "pt": "Não traduzido: nenhum tradutor disponível. Original em {language}.",
    "nl": "Niet vertaald: er was geen vertaler beschikbaar. Origineel in het {language}.",
    "pl": "Nie przetłumaczono: żaden tłumacz nie był dostępny. Oryginał: {language}.",
    "zh": "未翻译：没有可用的翻译服务。原文为{language}。",
    "gu": "અનુવાદ થયો નથી: કોઈ અનુવાદક ઉપલબ્ધ ન હતો. મૂળ ભાષા: {language}.",
}


def _pick(table: dict[str, str], reader: str) -> str:
    return table.get(reader) or table.get(reader.split("-")[0].lower()) or table["en"]


def language_name(code: str) -> str:
    return ENDONYMS.get(code) or ENDONYMS.get(code.split("-")[0].lower()) or code


def original_header(reader: str, original_language: str, provider: str) -> str:
    """The line above a shown original: "Original (Deutsch), translated by LibreTranslate"."""
    return _pick(_ORIGINAL, reader).format(language=language_name(original_language), provider=provider)


def not_translated_note(reader: str, original_language: str) -> str:
    """The visible note on a message delivered untranslated."""
    return _pick(_NOT_TRANSLATED, reader).format(language=language_name(original_language))


_MEDIA_WITHHELD = {
    "en": "{count} attachment(s) not shown: this link does not carry them.",
    "de": "{count} Anhang/Anhänge nicht gezeigt: diese Verbindung überträgt sie nicht.",
    "fr": "{count} pièce(s) jointe(s) non affichée(s) : ce lien ne les transmet pas.",
    "es": "{count} adjunto(s) no mostrado(s): este enlace no los transmite.",
}


def media_withheld_note(reader: str, count: int) -> str:
    """The visible note where a policy withheld photos or files."""
    return _pick(_MEDIA_WITHHELD, reader).format(count=count)
