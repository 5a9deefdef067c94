"""The console's own words, in the languages the bridge has phrases for (English for any other)."""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "twinbridge console",
        "skip": "Skip to the content",
        "nav": "Sections",
        "links": "Links",
        "queue": "Approval queue",
        "announcements": "Announcements",
        "privacy": "Privacy requests",
        "health": "Health",
        "sign_out": "Sign out",
        "signed_in_as": "Signed in as {user}",
        "approve": "Approve",
        "reject": "Reject",
        "approve_selected": "Approve the selected messages",
        "select": "Select message {id}",
        "from": "From",
        "no_held": "Nothing is waiting for you in this link.",
        "keys_help": "Keys: j next, k previous, a approve, r reject.",
        "sent_approve": "Approved: it is on its way (you are also told in your private chat with the bot).",
        "sent_reject": "Rejected: it will not be passed on.",
        "will_read": "Read across this link in: {languages}",
        "held_at": "Written {when}",
        "read_as": "How the other side will read it:",
    },
    "de": {
        "skip": "Zum Inhalt springen",
        "nav": "Bereiche",
        "links": "Verbindungen",
        "queue": "Freigaben",
        "announcements": "Ankündigungen",
        "privacy": "Datenschutz-Anfragen",
        "health": "Zustand",
        "sign_out": "Abmelden",
        "signed_in_as": "Angemeldet als {user}",
        "approve": "Freigeben",
        "reject": "Ablehnen",
        "approve_selected": "Ausgewählte Nachrichten freigeben",
        "select": "Nachricht {id} auswählen",
        "from": "Von",
        "no_held": "In dieser Verbindung wartet nichts auf dich.",
        "keys_help": "Tasten: j weiter, k zurück, a freigeben, r ablehnen.",
        "sent_approve": "Freigegeben: sie ist unterwegs (du erfährst es auch im privaten Chat mit dem Bot).",
        "sent_reject": "Abgelehnt: sie wird nicht weitergegeben.",
        "will_read": "Über diese Verbindung gelesen auf: {languages}",
        "held_at": "Geschrieben {when}",
        "read_as": "So liest es die andere Seite:",
    },
    "fr": {
        "skip": "Aller au contenu",
        "nav": "Rubriques",
        "links": "Liens",
        "queue": "À approuver",
        "announcements": "Annonces",
        "privacy": "Demandes de confidentialité",
        "health": "État",
        "sign_out": "Se déconnecter",
        "approve": "Approuver",
        "reject": "Refuser",
        "approve_selected": "Approuver les messages choisis",
        "from": "De",
        "no_held": "Rien ne vous attend dans ce lien.",
    },
    "es": {
        "skip": "Ir al contenido",
        "nav": "Secciones",
        "links": "Enlaces",
        "queue": "Por aprobar",
        "announcements": "Avisos",
        "privacy": "Solicitudes de privacidad",
        "health": "Estado",
        "sign_out": "Cerrar sesión",
        "approve": "Aprobar",
        "reject": "Rechazar",
        "approve_selected": "Aprobar los mensajes elegidos",
        "from": "De",
        "no_held": "Nada te espera en este enlace.",
    },
}


def words(language: str):
    """A function giving the word ``name`` (formatted with ``values``) in ``language``."""
    table = WORDS.get(language.split("-")[0].lower(), {})

    def say(name: str, **values: object) -> str:
        return (table.get(name) or WORDS["en"][name]).format(**values)

    return say
