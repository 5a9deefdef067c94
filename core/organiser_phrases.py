"""What the bridge says to and about organisers' commands (/pause, /resume, /status,
the refusals and the "how to write it" answers), in the languages it has words for;
English for any other. Times are written by Babel in the community's time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime, format_skeleton, get_timezone_location

_PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "paused_until": "⏸ The bridge to {others} is paused by an organiser until {until}. "
        "Messages written meanwhile are not passed on.",
        "paused_open": "⏸ The bridge to {others} is paused by an organiser until an organiser says /resume. "
        "Messages written meanwhile are not passed on.",
        "resumed": "▶️ The bridge to {others} is running again: messages are passed on as before.",
        "not_paused": "The bridge to {others} is not paused (/pause stops it for a while).",
        "not_organiser": "Sorry, only the organisers of this chat (its admins and the organisers named in the "
        "bridge's settings) can use /{command}.",
        "name_link": "Please say which link: /{command} LINK. Yours: {links}.",
        "unknown_link": 'There is no link "{typed}" that you organise. Yours: {links}.',
        "no_links": "You are not an organiser of any link. In a linked group, its admins can use /{command}.",
        "bad_duration": 'I could not read "{typed}" as a length of time. Write it like this: /pause 2h '
        "(two hours), /pause 30m, /pause 1d (one day), or /pause alone (until /resume).",
        "status_link": "Link {link}",
        "running": "running",
        "status_paused_until": "⏸ paused until {until}",
        "status_paused_open": "⏸ paused until /resume",
        "chats": "{count} chat(s) on {platforms}",
        "last": "last message across: {when}",
        "never": "no message across in the last week",
        "week": "{count} this week",
        "held": "Waiting for a moderator: {count}",
        "dead": "Could not be delivered: {count}",
    },
    "de": {
        "paused_until": "⏸ Die Brücke nach {others} ist von der Organisation angehalten bis {until}. "
        "Was in der Zwischenzeit geschrieben wird, wird nicht weitergegeben.",
        "paused_open": "⏸ Die Brücke nach {others} ist von der Organisation angehalten, bis jemand /resume "
        "schreibt. Was in der Zwischenzeit geschrieben wird, wird nicht weitergegeben.",
        "resumed": "▶️ Die Brücke nach {others} läuft wieder: Nachrichten werden wie zuvor weitergegeben.",
        "not_paused": "Die Brücke nach {others} ist nicht angehalten (/pause hält sie eine Weile an).",
        "not_organiser": "Entschuldigung, nur die Organisation dieses Chats (seine Admins und die in den "
        "Einstellungen der Brücke genannten Personen) kann /{command} verwenden.",
        "name_link": "Bitte nenne die Verbindung: /{command} VERBINDUNG. Deine: {links}.",
        "unknown_link": "Es gibt keine Verbindung „{typed}“, die du organisierst. Deine: {links}.",
        "no_links": "Du organisierst keine Verbindung. In einer verbundenen Gruppe können ihre Admins "
        "/{command} verwenden.",
        "bad_duration": "„{typed}“ konnte ich nicht als Zeitdauer lesen. Schreib es so: /pause 2h (zwei "
        "Stunden), /pause 30m, /pause 1d (ein Tag) oder nur /pause (bis /resume).",
        "status_link": "Verbindung {link}",
        "running": "läuft",
        "status_paused_until": "⏸ angehalten bis {until}",
        "status_paused_open": "⏸ angehalten bis /resume",
        "chats": "{count} Chat(s) auf {platforms}",
        "last": "letzte Nachricht hinüber: {when}",
        "never": "keine Nachricht hinüber in der letzten Woche",
        "week": "{count} diese Woche",
        "held": "Warten auf die Moderation: {count}",
        "dead": "Nicht zustellbar: {count}",
    },
    "fr": {
        "paused_until": "⏸ Le pont vers {others} est mis en pause par un organisateur jusqu'au {until}. "
        "Les messages écrits entre-temps ne sont pas transmis.",
        "paused_open": "⏸ Le pont vers {others} est mis en pause par un organisateur jusqu'à ce qu'un "
        "organisateur écrive /resume. Les messages écrits entre-temps ne sont pas transmis.",
        "resumed": "▶️ Le pont vers {others} fonctionne de nouveau : les messages sont transmis comme avant.",
        "not_paused": "Le pont vers {others} n'est pas en pause (/pause l'arrête un moment).",
        "not_organiser": "Désolé, seuls les organisateurs de ce chat (ses admins et les organisateurs nommés "
        "dans les réglages du pont) peuvent utiliser /{command}.",
        "name_link": "Précisez le lien : /{command} LIEN. Les vôtres : {links}.",
        "unknown_link": "Il n'y a pas de lien « {typed} » que vous organisez. Les vôtres : {links}.",
        "no_links": "Vous n'organisez aucun lien. Dans un groupe relié, ses admins peuvent utiliser /{command}.",
        "bad_duration": "Je n'ai pas pu lire « {typed} » comme une durée. Écrivez par exemple : /pause 2h "
        "(deux heures), /pause 30m, /pause 1d (un jour), ou /pause seul (jusqu'à /resume).",
        "status_link": "Lien {link}",
        "running": "en marche",
        "status_paused_until": "⏸ en pause jusqu'au {until}",
        "status_paused_open": "⏸ en pause jusqu'à /resume",
        "chats": "{count} chat(s) sur {platforms}",
        "last": "dernier message transmis : {when}",
        "never": "aucun message transmis la semaine passée",
        "week": "{count} cette semaine",
        "held": "En attente d'un modérateur : {count}",
        "dead": "Non distribués : {count}",
    },
    "es": {
        "paused_until": "⏸ El puente con {others} está en pausa por la organización hasta el {until}. "
        "Lo que se escriba mientras tanto no se transmite.",
        "paused_open": "⏸ El puente con {others} está en pausa por la organización hasta que alguien escriba "
        "/resume. Lo que se escriba mientras tanto no se transmite.",
        "resumed": "▶️ El puente con {others} funciona de nuevo: los mensajes se transmiten como antes.",
        "not_paused": "El puente con {others} no está en pausa (/pause lo detiene un tiempo).",
        "not_organiser": "Lo siento, solo la organización de este chat (sus administradores y las personas "
        "nombradas en la configuración del puente) puede usar /{command}.",
        "name_link": "Indica el enlace: /{command} ENLACE. Los tuyos: {links}.",
        "unknown_link": "No hay ningún enlace «{typed}» que organices. Los tuyos: {links}.",
        "no_links": "No organizas ningún enlace. En un grupo enlazado, sus administradores pueden usar /{command}.",
        "bad_duration": "No pude leer «{typed}» como una duración. Escríbelo así: /pause 2h (dos horas), "
        "/pause 30m, /pause 1d (un día), o solo /pause (hasta /resume).",
        "status_link": "Enlace {link}",
        "running": "en marcha",
        "status_paused_until": "⏸ en pausa hasta el {until}",
        "status_paused_open": "⏸ en pausa hasta /resume",
        "chats": "{count} chat(s) en {platforms}",
        "last": "último mensaje transmitido: {when}",
        "never": "ningún mensaje transmitido en la última semana",
        "week": "{count} esta semana",
        "held": "Esperando moderación: {count}",
        "dead": "No entregados: {count}",
    },
}


def languages() -> tuple[str, ...]:
    return tuple(_PHRASES)


def say(language: str, name: str, **values: object) -> str:
    """The phrase ``name`` in ``language`` (English where the bridge has no words for it)."""
    table = _PHRASES.get(language) or _PHRASES.get(language.split("-")[0].lower()) or _PHRASES["en"]
    return (table.get(name) or _PHRASES["en"][name]).format(**values)


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")


def local_time(ts: float, timezone: str, language: str) -> str:
    """``ts`` the local way in ``timezone``: "Mo., 7. Dez., 15:00 (MEZ)", "Mon, Dec 7, 15:00
    (India Time)": the zone's abbreviation where the language has one, else its place (an
    offset such as "+0530" means little to most readers)."""
    zone = ZoneInfo(timezone or "UTC")
    moment = datetime.fromtimestamp(ts, UTC)
    locale = _locale(language)
    day = format_skeleton("MMMEd", moment, tzinfo=zone, locale=locale)
    clock = format_skeleton("Hm", moment, tzinfo=zone, locale=locale)
    abbreviation = format_datetime(moment, "z", tzinfo=zone, locale=locale)
    named = abbreviation if not any(ch.isdigit() for ch in abbreviation) else get_timezone_location(zone, locale=locale)
    return f"{day}, {clock} ({named})"
