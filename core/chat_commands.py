"""The member and moderator commands (the same words on both platforms).

Adapters recognise them here and hand them to the workers as
:class:`~core.models.Command`; a command is never relayed to the other side.
"""

from __future__ import annotations

import re

from . import phrases
from .announcements import parse_rsvp_button

# name -> (description shown by the platform, takes an argument)
COMMANDS: dict[str, str] = {
    "consent": "Let your messages cross to the twin chats (/consent withdraw stops it)",
    "privacy": "What this bridge shares, with whom, and for how long",
    "mydata": "Everything the bridge stores about you, sent to you privately",
    "forgetme": "Erase what the bridge stores about you and the copies of your messages",
    "delete": "Reply with it to your message (or its copy) to delete it everywhere; admins: any message",
    "approve": "Moderators: let a held message cross (/approve ID)",
    "reject": "Moderators: refuse a held message (/reject ID)",
    "announce": "Organisers: a notice to every twin, now or later (/announce help)",
    "announcements": "Organisers: notices waiting and sent (/announcements cancel ID)",
    "status": "Organisers: how the bridge is doing (messages, pause, held, failed)",
    "pause": "Organisers: stop the bridge for a while (/pause 2h; /resume)",
    "resume": "Organisers: start the bridge again after /pause",
    "console": "Organisers and moderators: a one-time sign-in link to the web console, privately",
}
# Who each menu is for (core/chat_commands.py is the one list the adapters read).
MEMBER_COMMANDS = ("consent", "privacy", "mydata", "forgetme", "delete", "approve", "reject", "console")
ORGANISER_COMMANDS = ("announce", "announcements", "status", "pause", "resume")
# What works in a private chat with the bot (organisers then name the link: /status LINK).
PRIVATE_COMMANDS = ("mydata", "forgetme", "approve", "reject", *ORGANISER_COMMANDS, "console")
# Telegram's only: its bots get no delete events, so a member asks (as a reply). On Discord
# deleting the message itself takes its copies with it: no slash command; typed, it is
# answered with that (workers/deletes.py).
TELEGRAM_ONLY = ("delete",)

# The menus' descriptions in the languages the bridge has words for (English above).
DESCRIPTIONS: dict[str, dict[str, str]] = {
    "de": {
        "consent": "Deine Nachrichten für die Partnerchats freigeben (/consent withdraw beendet es)",
        "privacy": "Was diese Brücke teilt, mit wem und wie lange",
        "mydata": "Alles, was die Brücke über dich speichert, privat an dich",
        "forgetme": "Löschen, was die Brücke über dich speichert, und die Kopien deiner Nachrichten",
        "delete": "Als Antwort auf deine Nachricht (oder ihre Kopie): überall löschen; Admins: jede Nachricht",
        "approve": "Moderation: eine zurückgehaltene Nachricht freigeben (/approve ID)",
        "reject": "Moderation: eine zurückgehaltene Nachricht ablehnen (/reject ID)",
        "announce": "Organisation: eine Ankündigung an alle Partner, jetzt oder später (/announce help)",
        "announcements": "Organisation: geplante und gesendete Ankündigungen (/announcements cancel ID)",
        "status": "Organisation: wie es der Brücke geht (Nachrichten, Pause, zurückgehalten, fehlgeschlagen)",
        "pause": "Organisation: die Brücke eine Weile anhalten (/pause 2h; /resume)",
        "resume": "Organisation: die Brücke nach /pause wieder starten",
        "console": "Organisation und Moderation: ein einmaliger Anmeldelink zur Web-Konsole, privat",
    },
    "fr": {
        "consent": "Laisser vos messages passer aux chats jumelés (/consent withdraw pour arrêter)",
        "privacy": "Ce que ce pont partage, avec qui et pour combien de temps",
        "mydata": "Tout ce que le pont garde sur vous, envoyé en privé",
        "forgetme": "Effacer ce que le pont garde sur vous et les copies de vos messages",
        "delete": "En réponse à votre message (ou sa copie) : le supprimer partout ; admins : tout message",
        "approve": "Modération : laisser passer un message retenu (/approve ID)",
        "reject": "Modération : refuser un message retenu (/reject ID)",
        "announce": "Organisation : une annonce à tous les jumeaux, maintenant ou plus tard (/announce help)",
        "announcements": "Organisation : annonces prévues et envoyées (/announcements cancel ID)",
        "status": "Organisation : l'état du pont (messages, pause, retenus, en échec)",
        "pause": "Organisation : arrêter le pont un moment (/pause 2h ; /resume)",
        "resume": "Organisation : relancer le pont après /pause",
        "console": "Organisation et modération : un lien de connexion unique à la console web, en privé",
    },
    "es": {
        "consent": "Dejar que tus mensajes pasen a los chats hermanados (/consent withdraw lo detiene)",
        "privacy": "Qué comparte este puente, con quién y durante cuánto tiempo",
        "mydata": "Todo lo que el puente guarda sobre ti, enviado en privado",
        "forgetme": "Borrar lo que el puente guarda sobre ti y las copias de tus mensajes",
        "delete": "Como respuesta a tu mensaje (o su copia): borrarlo en todas partes; admins: cualquier mensaje",
        "approve": "Moderación: dejar pasar un mensaje retenido (/approve ID)",
        "reject": "Moderación: rechazar un mensaje retenido (/reject ID)",
        "announce": "Organización: un aviso a todos los hermanamientos, ahora o más tarde (/announce help)",
        "announcements": "Organización: avisos programados y enviados (/announcements cancel ID)",
        "status": "Organización: cómo va el puente (mensajes, pausa, retenidos, fallidos)",
        "pause": "Organización: detener el puente un tiempo (/pause 2h; /resume)",
        "resume": "Organización: reanudar el puente después de /pause",
        "console": "Organización y moderación: un enlace de acceso único a la consola web, en privado",
    },
}


# The options of Discord's slash commands (Telegram's commands take their words as typed),
# keyed "command.option", with the same words in each language the menus have.
OPTIONS: dict[str, dict[str, str]] = {
    "en": {
        "approve.id": "the ID of the held message",
        "reject.id": "the ID of the held message",
        "consent.action": "say `withdraw` to stop your messages crossing",
        "announce.text": "the notice, e.g. `in 2h pin See you at the market!` (or `help`)",
        "announcements.action": "`cancel ID` to cancel a notice",
        "status.link": "the link's ID (where a chat takes part in several, or in a DM)",
        "pause.duration": "how long, e.g. `2h`, `30m`, `1d` (none: until /resume)",
        "pause.link": "the link's ID (where a chat takes part in several, or in a DM)",
        "resume.link": "the link's ID (where a chat takes part in several, or in a DM)",
    },
    "de": {
        "approve.id": "die ID der zurückgehaltenen Nachricht",
        "reject.id": "die ID der zurückgehaltenen Nachricht",
        "consent.action": "`withdraw`, damit deine Nachrichten nicht mehr hinübergehen",
        "announce.text": "die Ankündigung, z. B. `in 2h pin Bis gleich auf dem Markt!` (oder `help`)",
        "announcements.action": "`cancel ID`, um eine Ankündigung abzusagen",
        "status.link": "die ID der Verbindung (wenn ein Chat in mehreren ist, oder privat)",
        "pause.duration": "wie lange, z. B. `2h`, `30m`, `1d` (ohne: bis /resume)",
        "pause.link": "die ID der Verbindung (wenn ein Chat in mehreren ist, oder privat)",
        "resume.link": "die ID der Verbindung (wenn ein Chat in mehreren ist, oder privat)",
    },
    "fr": {
        "approve.id": "l'ID du message retenu",
        "reject.id": "l'ID du message retenu",
        "consent.action": "`withdraw` pour que vos messages ne passent plus",
        "announce.text": "l'annonce, p. ex. `in 2h pin Rendez-vous au marché !` (ou `help`)",
        "announcements.action": "`cancel ID` pour annuler une annonce",
        "status.link": "l'ID de la liaison (si le chat est dans plusieurs, ou en privé)",
        "pause.duration": "combien de temps, p. ex. `2h`, `30m`, `1d` (sans : jusqu'à /resume)",
        "pause.link": "l'ID de la liaison (si le chat est dans plusieurs, ou en privé)",
        "resume.link": "l'ID de la liaison (si le chat est dans plusieurs, ou en privé)",
    },
    "es": {
        "approve.id": "el ID del mensaje retenido",
        "reject.id": "el ID del mensaje retenido",
        "consent.action": "`withdraw` para que tus mensajes dejen de pasar",
        "announce.text": "el aviso, p. ej. `in 2h pin ¡Nos vemos en el mercado!` (o `help`)",
        "announcements.action": "`cancel ID` para cancelar un aviso",
        "status.link": "el ID del enlace (si el chat está en varios, o en privado)",
        "pause.duration": "cuánto tiempo, p. ej. `2h`, `30m`, `1d` (sin nada: hasta /resume)",
        "pause.link": "el ID del enlace (si el chat está en varios, o en privado)",
        "resume.link": "el ID del enlace (si el chat está en varios, o en privado)",
    },
}


def option_description(command: str, option: str, language: str = "en") -> str:
    """A slash command option's description in ``language`` ("" where there is none, English
    being the default); ``command`` and ``option`` as in OPTIONS' keys."""
    key = f"{command}.{option}"
    return OPTIONS.get(language.split("-")[0].lower(), {}).get(key, "" if language != "en" else OPTIONS["en"][key])


def description(name: str, language: str = "en") -> str:
    """The menu's description of ``name`` in ``language`` (English where there is none)."""
    return DESCRIPTIONS.get(language.split("-")[0].lower(), {}).get(name) or COMMANDS[name]


def menu_languages() -> tuple[str, ...]:
    """The languages the command menus are registered in besides English (the default)."""
    return tuple(sorted(DESCRIPTIONS))


# Understood but not advertised: /start opens a private chat with the bot on Telegram.
HIDDEN = ("start",)

_COMMAND = re.compile(r"^/([A-Za-z]+)(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)


def parse(text: str, bot_username: str | None = None) -> tuple[str, str] | None:
    """("consent", "withdraw") for "/consent withdraw"; None if ``text`` is not
    one of our commands (or is addressed to another bot)."""
    match = _COMMAND.match((text or "").strip())
    if not match:
        return None
    name = match.group(1).lower()
    if name not in COMMANDS and name not in HIDDEN:
        return None
    addressed = re.match(r"^/[A-Za-z]+@(\w+)", text.strip())
    if addressed and bot_username and addressed.group(1).lower() != bot_username.lower():
        return None
    return name, (match.group(2) or "").strip()


def parse_button(data: str) -> tuple[str, str] | None:
    """The command a button press stands for: buttons carry "approve:ID" / "reject:ID",
    and an event notice's RSVP buttons "rsvp:ID:CHOICE" (core.announcements), which is
    the command ("rsvp", "ID CHOICE")."""
    rsvp = parse_rsvp_button(data)
    if rsvp is not None:
        return "rsvp", " ".join(rsvp)
    name, _, args = (data or "").partition(":")
    return (name, args) if name in ("approve", "reject") and args else None


def pressed(name: str, args: str, language: str) -> str:
    """What a button press is answered at once, before the workers decide (a short
    toast on Telegram, an ephemeral line on Discord): for an RSVP the choice in the
    chat community's words ("✓ Zusage"), else an ellipsis (the answer follows)."""
    if name == "rsvp":
        choice = args.rpartition(" ")[2]
        label = phrases.rsvp_labels(language).get(choice)
        return f"✓ {label}" if label else "✓"
    return "…"
