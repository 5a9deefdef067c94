"""What the bridge answers to /delete, in the chat community's language (English for a
language not listed here, as in core/phrases.py)."""

from __future__ import annotations

from .phrases import _pick

_HOW_TO = {
    "en": "To delete a message everywhere, reply to it with /delete: to your own message (or its copy "
    "in a twin chat) within 48 hours, or, as an admin of this chat, to any message here.",
    "de": "Um eine Nachricht überall zu löschen, antworte auf sie mit /delete: auf deine eigene Nachricht "
    "(oder ihre Kopie in einem Partnerchat) innerhalb von 48 Stunden, oder als Admin dieses Chats auf jede "
    "Nachricht hier.",
    "fr": "Pour supprimer un message partout, répondez-y par /delete : à votre propre message (ou à sa copie "
    "dans un chat jumelé) dans les 48 heures, ou, en tant qu'admin de ce chat, à n'importe quel message ici.",
    "es": "Para borrar un mensaje en todas partes, respóndele con /delete: a tu propio mensaje (o a su copia "
    "en un chat hermanado) en 48 horas, o, como admin de este chat, a cualquier mensaje de aquí.",
}
_REFUSED = {
    "en": "Sorry, only the author of that message or an admin of this chat can delete it: nothing was deleted.",
    "de": "Leider kann nur die Person, die diese Nachricht geschrieben hat, oder ein Admin dieses Chats sie "
    "löschen: es wurde nichts gelöscht.",
    "fr": "Désolé, seul l'auteur de ce message ou un admin de ce chat peut le supprimer : rien n'a été supprimé.",
    "es": "Lo siento, solo quien escribió ese mensaje o un admin de este chat puede borrarlo: no se borró nada.",
}
_NOT_RELAYED = {
    "en": "That message has no copies in the twin chats: there is nothing for the bridge to delete.",
    "de": "Diese Nachricht hat keine Kopien in den Partnerchats: die Brücke hat nichts zu löschen.",
    "fr": "Ce message n'a pas de copies dans les chats jumelés : le pont n'a rien à supprimer.",
    "es": "Ese mensaje no tiene copias en los chats hermanados: el puente no tiene nada que borrar.",
}
_TOO_OLD = {
    "en": "Telegram lets the bridge delete messages for 48 hours only, and that one is older: it and its "
    "copies in Telegram chats stay.",
    "de": "Telegram erlaubt der Brücke das Löschen nur 48 Stunden lang, und diese Nachricht ist älter: sie "
    "und ihre Kopien in Telegram-Chats bleiben.",
    "fr": "Telegram ne permet au pont de supprimer des messages que pendant 48 heures, et celui-ci est plus "
    "ancien : lui et ses copies dans les chats Telegram restent.",
    "es": "Telegram solo deja al puente borrar mensajes durante 48 horas, y ese es más antiguo: él y sus "
    "copias en chats de Telegram se quedan.",
}
_OTHERS_GO = {
    "en": "Its copies on Discord are being deleted.",
    "de": "Ihre Kopien auf Discord werden gelöscht.",
    "fr": "Ses copies sur Discord sont en cours de suppression.",
    "es": "Sus copias en Discord se están borrando.",
}
_ON_DISCORD = {
    "en": "On Discord, delete the message itself: its copies in the twin chats go with it.",
    "de": "Auf Discord lösche einfach die Nachricht selbst: ihre Kopien in den Partnerchats verschwinden mit ihr.",
    "fr": "Sur Discord, supprimez le message lui-même : ses copies dans les chats jumelés disparaissent avec lui.",
    "es": "En Discord, borra el mensaje mismo: sus copias en los chats hermanados se van con él.",
}


def how_to(reader: str) -> str:
    """/delete said without replying to a message."""
    return _pick(_HOW_TO, reader)


def refused(reader: str) -> str:
    """/delete on someone else's message, by a member who is not an admin of the chat."""
    return _pick(_REFUSED, reader)


def not_relayed(reader: str) -> str:
    """/delete on a message the bridge never copied anywhere."""
    return _pick(_NOT_RELAYED, reader)


def too_old(reader: str, others_go: bool) -> str:
    """/delete on a message past Telegram's 48 hours; ``others_go``: it has copies elsewhere
    (Discord), which are deleted all the same."""
    text = _pick(_TOO_OLD, reader)
    return f"{text} {_pick(_OTHERS_GO, reader)}" if others_go else text


def on_discord(reader: str) -> str:
    """/delete typed on Discord, where deleting the message is enough."""
    return _pick(_ON_DISCORD, reader)
