"""The few words the bridge itself adds to relayed posts, in the reader's language.

English is the fallback for a language not listed here. Language names are
endonyms ("Deutsch", "中文"): the original's language named as its speakers
name it is recognisable to readers of any language.
"""

from __future__ import annotations

from .announcements import RSVP_CHOICES
from .languages import ENDONYMS
from .names import SEPARATOR, shown_name

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


_FILE_TOO_LARGE = {
    "en": "📎 {name} ({size}) is too large to pass on here.",
    "de": "📎 {name} ({size}) ist zu groß, um hier weitergegeben zu werden.",
    "fr": "📎 {name} ({size}) est trop volumineux pour être transmis ici.",
    "es": "📎 {name} ({size}) es demasiado grande para pasarlo aquí.",
    "it": "📎 {name} ({size}) è troppo grande per essere inoltrato qui.",
    "nl": "📎 {name} ({size}) is te groot om hier door te geven.",
}
_FILE_UNAVAILABLE = {
    "en": "📎 {name} could not be passed on.",
    "de": "📎 {name} konnte nicht weitergegeben werden.",
    "fr": "📎 {name} n'a pas pu être transmis.",
    "es": "📎 {name} no se pudo pasar.",
    "it": "📎 {name} non è stato possibile inoltrarlo.",
    "nl": "📎 {name} kon niet worden doorgegeven.",
}


def file_too_large_note(reader: str, name: str, size: str) -> str:
    """The visible note in place of a file over the destination's (or the source's
    download) limit: its name and size (bridge.media.limits.human_size), never a silent loss."""
    return _pick(_FILE_TOO_LARGE, reader).format(name=name, size=size)


def file_unavailable_note(reader: str, name: str) -> str:
    """The visible note in place of a file the source would not give or the destination refused."""
    return _pick(_FILE_UNAVAILABLE, reader).format(name=name)


# A file the destination would not take, told once to the member who sent it (issue 15),
# in their community's language: "Your photo IMG_2031.jpg could not be shown in Krefeld:
# too large for Discord (12.0 MB, limit 10.0 MB)". Never the message's text, never a name.
_FILE_REFUSED_NOTICE = {
    "en": "{kind} {name} could not be shown in {community}: {reason}.",
    "de": "{kind} {name} konnte in {community} nicht gezeigt werden: {reason}.",
    "fr": "Impossible d'afficher {kind} {name} à {community} : {reason}.",
    "es": "No se pudo mostrar {kind} {name} en {community}: {reason}.",
    "it": "Impossibile mostrare {kind} {name} a {community}: {reason}.",
    "nl": "{kind} {name} kon niet worden getoond in {community}: {reason}.",
}
_FILE_KIND_WORDS = {
    "en": {
        "photo": "Your photo",
        "video": "Your video",
        "voice": "Your voice message",
        "audio": "Your audio file",
        "file": "Your file",
    },
    "de": {
        "photo": "Dein Foto",
        "video": "Dein Video",
        "voice": "Deine Sprachnachricht",
        "audio": "Deine Audiodatei",
        "file": "Deine Datei",
    },
    "fr": {
        "photo": "votre photo",
        "video": "votre vidéo",
        "voice": "votre message vocal",
        "audio": "votre fichier audio",
        "file": "votre fichier",
    },
    "es": {
        "photo": "tu foto",
        "video": "tu vídeo",
        "voice": "tu mensaje de voz",
        "audio": "tu audio",
        "file": "tu archivo",
    },
    "it": {
        "photo": "la tua foto",
        "video": "il tuo video",
        "voice": "il tuo messaggio vocale",
        "audio": "il tuo file audio",
        "file": "il tuo file",
    },
    "nl": {
        "photo": "Je foto",
        "video": "Je video",
        "voice": "Je spraakbericht",
        "audio": "Je audiobestand",
        "file": "Je bestand",
    },
}
_FILE_KIND_OF = {"photo": "photo", "video": "video", "video_note": "video", "animation": "video", "voice": "voice"}
_REFUSAL_REASONS = {
    "en": {
        "too_large": "too large for {platform} ({size}, limit {limit})",
        "too_large_unknown": "too large for {platform} ({size})",
        "source_too_large": "too large to fetch from {platform} ({size}, limit {limit})",
        "refused": "{platform} refused it",
    },
    "de": {
        "too_large": "zu groß für {platform} ({size}, Grenze {limit})",
        "too_large_unknown": "zu groß für {platform} ({size})",
        "source_too_large": "zu groß, um von {platform} geholt zu werden ({size}, Grenze {limit})",
        "refused": "{platform} hat die Datei abgelehnt",
    },
    "fr": {
        "too_large": "trop volumineux pour {platform} ({size}, limite {limit})",
        "too_large_unknown": "trop volumineux pour {platform} ({size})",
        "source_too_large": "trop volumineux pour être récupéré sur {platform} ({size}, limite {limit})",
        "refused": "{platform} a refusé le fichier",
    },
    "es": {
        "too_large": "demasiado grande para {platform} ({size}, límite {limit})",
        "too_large_unknown": "demasiado grande para {platform} ({size})",
        "source_too_large": "demasiado grande para obtenerlo de {platform} ({size}, límite {limit})",
        "refused": "{platform} rechazó el archivo",
    },
    "it": {
        "too_large": "troppo grande per {platform} ({size}, limite {limit})",
        "too_large_unknown": "troppo grande per {platform} ({size})",
        "source_too_large": "troppo grande per prenderlo da {platform} ({size}, limite {limit})",
        "refused": "{platform} ha rifiutato il file",
    },
    "nl": {
        "too_large": "te groot voor {platform} ({size}, limiet {limit})",
        "too_large_unknown": "te groot voor {platform} ({size})",
        "source_too_large": "te groot om van {platform} op te halen ({size}, limiet {limit})",
        "refused": "{platform} weigerde het bestand",
    },
}
_PLATFORM_NAMES = {"telegram": "Telegram", "discord": "Discord"}


def file_refused_notice(
    reader: str, kind: str, name: str, community: str, reason: str, platform: str, size: str = "", limit: str = ""
) -> str:
    """The notice to the member whose file could not cross (issue 15). ``kind``: the
    attachment's kind ("photo", "voice", ...); ``reason``: "too_large" (the destination's
    limit), "source_too_large" (the source platform would not hand it over), "refused" (the
    destination refused it); ``platform``: the platform that said no; sizes as human_size."""
    language = reader if reader in _FILE_REFUSED_NOTICE else reader.split("-")[0].lower()
    language = language if language in _FILE_REFUSED_NOTICE else "en"
    words = _FILE_KIND_WORDS[language]
    reasons = _REFUSAL_REASONS[language]
    if reason == "too_large" and not limit:
        reason = "too_large_unknown"
    because = reasons.get(reason, reasons["refused"]).format(
        platform=_PLATFORM_NAMES.get(platform, platform), size=size or "?", limit=limit
    )
    shown_kind = words[_FILE_KIND_OF.get(kind, "audio" if kind == "audio" else "file")]
    return _FILE_REFUSED_NOTICE[language].format(kind=shown_kind, name=name, community=community, reason=because)


_CONSENT = {
    "en": (
        "Hello! This {community} chat is linked with {others} by twinbridge. Your messages are not shared "
        "with them until you agree: say /consent in the chat (and /consent withdraw to stop again). "
        "/privacy explains what is shared and for how long.",
        "Hello! Your messages here are not shared with {others} until you say /consent "
        "(/privacy explains what that means).",
    ),
    "de": (
        "Hallo! Dieser Chat von {community} ist über twinbridge mit {others} verbunden. Deine Nachrichten "
        "werden erst geteilt, wenn du zustimmst: schreib /consent in den Chat (und /consent withdraw, um es "
        "zu beenden). /privacy erklärt, was geteilt wird und wie lange.",
        "Hallo! Deine Nachrichten hier werden erst mit {others} geteilt, wenn du /consent schreibst "
        "(/privacy erklärt, was das bedeutet).",
    ),
    "fr": (
        "Bonjour ! Ce chat de {community} est relié à {others} par twinbridge. Vos messages ne sont pas "
        "partagés tant que vous n'avez pas accepté : écrivez /consent dans le chat (et /consent withdraw "
        "pour arrêter). /privacy explique ce qui est partagé et pour combien de temps.",
        "Bonjour ! Vos messages ici ne sont partagés avec {others} qu'après /consent "
        "(/privacy explique ce que cela signifie).",
    ),
    "es": (
        "¡Hola! Este chat de {community} está conectado con {others} por twinbridge. Tus mensajes no se "
        "comparten hasta que aceptes: escribe /consent en el chat (y /consent withdraw para dejarlo). "
        "/privacy explica qué se comparte y durante cuánto tiempo.",
        "¡Hola! Tus mensajes aquí no se comparten con {others} hasta que escribas /consent "
        "(/privacy explica qué significa).",
    ),
}


def consent_explanation(reader: str, community: str, others: str) -> tuple[str, str]:
    """(the private explanation, the short version for the group) for a member
    whose messages do not cross until they consent."""
    text, short = _CONSENT.get(reader) or _CONSENT.get(reader.split("-")[0].lower()) or _CONSENT["en"]
    return text.format(community=community, others=others), short.format(others=others)


# Organisers' announcements (issue 14): the word on each copy's header, a reminder's, and
# the RSVP buttons' labels, in the order of core.announcements.RSVP_CHOICES.
_ANNOUNCEMENT = {
    "en": ("Announcement", "Reminder", ("Going", "Maybe", "Can't")),
    "de": ("Ankündigung", "Erinnerung", ("Dabei", "Vielleicht", "Kann nicht")),
    "fr": ("Annonce", "Rappel", ("J'y vais", "Peut-être", "Je ne peux pas")),
    "es": ("Anuncio", "Recordatorio", ("Voy", "Quizás", "No puedo")),
    "it": ("Annuncio", "Promemoria", ("Ci sono", "Forse", "Non posso")),
    "pt": ("Anúncio", "Lembrete", ("Vou", "Talvez", "Não posso")),
    "nl": ("Aankondiging", "Herinnering", ("Ik kom", "Misschien", "Kan niet")),
    "pl": ("Ogłoszenie", "Przypomnienie", ("Będę", "Może", "Nie mogę")),
    "zh": ("公告", "提醒", ("参加", "可能", "不能参加")),
    "gu": ("જાહેરાત", "યાદ અપાવવું", ("આવીશ", "કદાચ", "નહીં આવી શકું")),
}


def _announcement_words(reader: str) -> tuple[str, str, tuple[str, str, str]]:
    return _ANNOUNCEMENT.get(reader) or _ANNOUNCEMENT.get(reader.split("-")[0].lower()) or _ANNOUNCEMENT["en"]


def announcement_word(reader: str, kind: str = "announcement") -> str:
    """ "Ankündigung" (``kind`` "announcement") or "Erinnerung" ("reminder")."""
    word, reminder, _labels = _announcement_words(reader)
    return reminder if kind == "reminder" else word


def announcement_header(reader: str, kind: str, community: str) -> str:
    """ "📢 Ankündigung · Leicester": what marks a post as an organiser's (never the raw
    /announce), naming the organiser's community (shown one line, with our separator)."""
    return f"📢 {announcement_word(reader, kind)}{SEPARATOR}{shown_name(community)}"


def rsvp_labels(reader: str) -> dict[str, str]:
    """The RSVP buttons' words, keyed "going", "maybe", "cant" (core.announcements)."""
    return dict(zip(RSVP_CHOICES, _announcement_words(reader)[2], strict=True))


def rsvp_counts_line(reader: str, counts: dict[str, int]) -> str:
    """ "Dabei: 3 · Vielleicht: 1 · Kann nicht: 0": the totals across every twin."""
    labels = rsvp_labels(reader)
    return " · ".join(f"{labels[choice]}: {int(counts.get(choice) or 0)}" for choice in RSVP_CHOICES)


_FORWARDED_FROM = {
    "en": "↪ forwarded from {origin}",
    "de": "↪ weitergeleitet von {origin}",
    "fr": "↪ transféré de {origin}",
    "es": "↪ reenviado de {origin}",
    "it": "↪ inoltrato da {origin}",
    "pt": "↪ encaminhado de {origin}",
    "nl": "↪ doorgestuurd van {origin}",
    "pl": "↪ przekazane od {origin}",
    "zh": "↪ 转发自 {origin}",
    "gu": "↪ {origin} તરફથી ફોરવર્ડ કરેલ",
}
_FORWARDED = {
    "en": "↪ forwarded",
    "de": "↪ weitergeleitet",
    "fr": "↪ transféré",
    "es": "↪ reenviado",
    "it": "↪ inoltrato",
    "pt": "↪ encaminhado",
    "nl": "↪ doorgestuurd",
    "pl": "↪ przekazane dalej",
    "zh": "↪ 转发",
    "gu": "↪ ફોરવર્ડ કરેલ",
}


def forwarded_note(reader: str, origin: str) -> str:
    """The line on a forwarded message: "↪ forwarded from Leicester News", or just
    "↪ forwarded" when the policy does not let the origin show (``origin`` "")."""
    origin = shown_name(origin)
    if not origin:
        return _pick(_FORWARDED, reader)
    return _pick(_FORWARDED_FROM, reader).format(origin=origin)
