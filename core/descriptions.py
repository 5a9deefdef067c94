"""What members post that is neither text nor a file, said in the reader's language.

A sticker, a poll, a dice roll, a location, a venue or a contact travels as data
(:class:`~core.models.Shared`); the moderation stage decides per link what of it may
cross, and :func:`describe` turns what crossed into one short line per item in the
destination's language (English for a language not listed). A poll's question and
options are the event's text, translated like text: the line only says it is a poll.
"""

from __future__ import annotations

from .models import Shared

# One table per kind; {placeholders} are filled from the Shared item.
_WORDS: dict[str, dict[str, str]] = {
    "sticker": {
        "en": "{emoji}Sticker{name}",
        "de": "{emoji}Sticker{name}",
        "fr": "{emoji}Autocollant{name}",
        "es": "{emoji}Sticker{name}",
        "it": "{emoji}Sticker{name}",
        "nl": "{emoji}Sticker{name}",
    },
    "poll": {
        "en": "📊 Poll: vote in the original chat",
        "de": "📊 Umfrage: abstimmen im ursprünglichen Chat",
        "fr": "📊 Sondage : votez dans la discussion d'origine",
        "es": "📊 Encuesta: vota en el chat original",
        "it": "📊 Sondaggio: vota nella chat originale",
        "nl": "📊 Peiling: stem in de oorspronkelijke chat",
    },
    "dice": {
        "en": "{emoji} rolled {value}",
        "de": "{emoji} gewürfelt: {value}",
        "fr": "{emoji} a obtenu {value}",
        "es": "{emoji} sacó {value}",
        "it": "{emoji} ha ottenuto {value}",
        "nl": "{emoji} gooide {value}",
    },
    "location": {
        "en": "📍 Location: {coordinates}",
        "de": "📍 Standort: {coordinates}",
        "fr": "📍 Position : {coordinates}",
        "es": "📍 Ubicación: {coordinates}",
        "it": "📍 Posizione: {coordinates}",
        "nl": "📍 Locatie: {coordinates}",
    },
    "live_location": {
        "en": "📍 Live location: {coordinates} (its updates are not passed on)",
        "de": "📍 Live-Standort: {coordinates} (Aktualisierungen werden nicht weitergegeben)",
        "fr": "📍 Position en direct : {coordinates} (ses mises à jour ne sont pas transmises)",
        "es": "📍 Ubicación en tiempo real: {coordinates} (sus actualizaciones no se transmiten)",
        "it": "📍 Posizione in tempo reale: {coordinates} (gli aggiornamenti non vengono inoltrati)",
        "nl": "📍 Live locatie: {coordinates} (updates worden niet doorgegeven)",
    },
    "venue": {
        "en": "📍 Venue: {title}{address}",
        "de": "📍 Ort: {title}{address}",
        "fr": "📍 Lieu : {title}{address}",
        "es": "📍 Lugar: {title}{address}",
        "it": "📍 Luogo: {title}{address}",
        "nl": "📍 Plaats: {title}{address}",
    },
    "contact": {
        "en": "👤 Contact: {title}{phone}",
        "de": "👤 Kontakt: {title}{phone}",
        "fr": "👤 Contact : {title}{phone}",
        "es": "👤 Contacto: {title}{phone}",
        "it": "👤 Contatto: {title}{phone}",
        "nl": "👤 Contact: {title}{phone}",
    },
    "other": {
        "en": "Something this chat cannot show was posted ({title}).",
        "de": "Etwas, das dieser Chat nicht zeigen kann, wurde gepostet ({title}).",
        "fr": "Un contenu que cette discussion ne peut pas afficher a été publié ({title}).",
        "es": "Se publicó algo que este chat no puede mostrar ({title}).",
        "it": "È stato pubblicato qualcosa che questa chat non può mostrare ({title}).",
        "nl": "Er is iets geplaatst dat deze chat niet kan tonen ({title}).",
    },
}
# A location, venue or contact the link's policy keeps back: the kind crosses, not the data.
_WITHHELD = {
    "location": {
        "en": "📍 A location was shared; this link's privacy rules do not pass it on.",
        "de": "📍 Ein Standort wurde geteilt; die Datenschutzregeln dieser Verbindung geben ihn nicht weiter.",
        "fr": "📍 Une position a été partagée ; les règles de confidentialité de ce lien ne la transmettent pas.",
        "es": "📍 Se compartió una ubicación; las normas de privacidad de este enlace no la transmiten.",
        "it": "📍 È stata condivisa una posizione; le regole sulla privacy di questo collegamento non la inoltrano.",
        "nl": "📍 Er is een locatie gedeeld; de privacyregels van deze koppeling geven die niet door.",
    },
    "contact": {
        "en": "👤 A contact was shared; this link's privacy rules do not pass it on.",
        "de": "👤 Ein Kontakt wurde geteilt; die Datenschutzregeln dieser Verbindung geben ihn nicht weiter.",
        "fr": "👤 Un contact a été partagé ; les règles de confidentialité de ce lien ne le transmettent pas.",
        "es": "👤 Se compartió un contacto; las normas de privacidad de este enlace no lo transmiten.",
        "it": "👤 È stato condiviso un contatto; le regole sulla privacy di questo collegamento non lo inoltrano.",
        "nl": "👤 Er is een contact gedeeld; de privacyregels van deze koppeling geven het niet door.",
    },
}
# Places: withheld as one kind (a venue or a live location is where someone is, too).
PLACES = frozenset({"location", "live_location", "venue"})
# Digits after the decimal point of shown coordinates: 4 is about 11 m, as precise as a
# member's own map pin needs to be read, no more.
COORDINATE_DIGITS = 4


def _pick(table: dict[str, str], reader: str) -> str:
    return table.get(reader) or table.get(reader.split("-")[0].lower()) or table["en"]


def coordinates(latitude: float | None, longitude: float | None) -> str:
    """ "52.6369, -1.1398": rounded to COORDINATE_DIGITS; "?" for a missing value."""

    def shown(value: float | None) -> str:
        return "?" if value is None else f"{round(float(value), COORDINATE_DIGITS):.{COORDINATE_DIGITS}f}"

    return f"{shown(latitude)}, {shown(longitude)}"


def describe(item: Shared, reader: str) -> str:
    """One line for ``item`` in ``reader``'s language."""
    if item.withheld:
        return _pick(_WITHHELD["location" if item.kind in PLACES else "contact"], reader)
    table = _WORDS.get(item.kind, _WORDS["other"])
    return _pick(table, reader).format(
        emoji=(f"{item.emoji} " if item.emoji else "") if item.kind == "sticker" else (item.emoji or "🎲"),
        name=f" “{item.title}”" if item.title and item.kind == "sticker" else "",
        value=item.value,
        coordinates=coordinates(item.latitude, item.longitude),
        title=item.title or "?",
        address=f", {item.address}" if item.address else "",
        phone=f", {item.phone}" if item.phone else "",
    )


def withheld(item: Shared) -> Shared:
    """``item`` with its details dropped: only its kind crosses."""
    return Shared(kind=item.kind, withheld=True)
