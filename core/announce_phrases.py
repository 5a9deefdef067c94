"""What the bridge answers to /announce and /announcements in a chat, in the languages
it has words for (English for any other): examples first, so that a volunteer who wrote
it wrong sees at once how to write it. Times are filled in by the caller.
"""

from __future__ import annotations

_EN = {
    "paused_note": "The bridge itself is paused (/pause): members' messages do not cross, but this notice does.",
    "help": (
        "How to send a notice to every twin chat:\n"
        "• Now: /announce The summer fair is on Saturday!\n"
        "• Later: /announce at 2027-03-14 19:30 Text (that is {zone} time), or /announce in 2h Text, "
        "or /announce at tomorrow 19:00 Text\n"
        "• Pinned: /announce pin Text\n"
        "• An event (with a calendar file and Going/Maybe/Can't buttons):\n"
        "  /announce event Summer fair | 2027-06-12 14:00 | 18:00 | Market square | https://example.org\n"
        "  (title and start are needed; end, place and web link are optional; lines below it are the text)\n"
        "• A reminder before the event: /announce remind 1d event …\n"
        "• What is planned: /announcements; to cancel one: /announcements cancel ID"
    ),
    "bad_time": 'I could not read "{typed}" as a time. Write it like this: /announce at 2027-03-14 19:30 Text '
    "(a date and a time, {zone} time), /announce in 2h Text, or /announce at tomorrow 19:00 Text.",
    "past": '"{typed}" ({shown}) has already passed. Give a time in the future, e.g. /announce at tomorrow 19:00 Text.',
    "unknown_zone": '"{typed}" is not a time zone I know. Leave it out to use {zone} time, or write an IANA name '
    "such as Europe/Berlin, Europe/London or Asia/Kolkata: /announce at 2027-03-14 19:30 Europe/London Text.",
    "rsvp_not_open": "This event notice is no longer open for answers: it was removed or has expired.",
    "rsvp_cancelled": "This event was cancelled: answers are no longer counted.",
    "rsvp_over": "This event is over: answers are no longer counted.",
    "rsvp_elsewhere": "Answer in a chat of the communities this event notice went to: "
    "your answer here was not counted.",
    "rsvp_unreadable": "That button could not be read. Press Going, Maybe or Can't under the event notice again.",
    "no_such_time": '"{typed}" does not exist in {zone}: the clocks skip that hour when summer time begins. '
    "Choose an hour earlier or later.",
    "bad_remind": 'I could not read "{typed}" as a length of time. Write it like this: /announce remind 1d event … '
    "(one day before) or remind 2h.",
    "remind_needs_event": "A reminder needs an event: /announce remind 1d event Summer fair | 2027-06-12 14:00",
    "remind_too_late": "The reminder {typed} before the event would come before the notice itself (or in the past): "
    "choose a shorter time, e.g. remind 2h.",
    "no_text": "The notice has no text. Write it like this: /announce The summer fair is on Saturday! "
    "(/announce help shows more)",
    "event_form": "Write an event like this: /announce event Summer fair | 2027-06-12 14:00 | 18:00 | Market square "
    "| https://example.org — title and start are needed ({zone} time); end, place and web link are optional.",
    "end_before_start": 'The end "{typed}" is not after the start. Write it like this: … | '
    "2027-06-12 14:00 | 18:00 | …",
    "at_after_event": 'The notice would be sent after the event starts. Leave out "at …" to send it now.',
    "too_long": "The notice is {count} characters long; keep it under {limit}.",
    "several_links": "This chat takes part in several links: say which, e.g. /announce {link} Text. Yours: {links}.",
    "sent_now": "Notice {id} is on its way to {chats} chat(s): {names}. To cancel it: /announcements cancel {id}",
    "scheduled": "Notice {id} will be sent {when} to {chats} chat(s): {names}. To cancel it: "
    "/announcements cancel {id}",
    "reminder": "Reminder {before} before the event.",
    "no_scheduler": "Note: no scheduler is running right now; ask whoever runs the bridge to start it, "
    "or the notice will not go out at its time.",
    "list_none": "No notices for {link} yet. /announce help says how to send one.",
    "list_head": "Notices of {link}:",
    "state_scheduled": "planned",
    "state_sent": "sent",
    "state_cancelled": "cancelled",
    "list_foot": "To cancel one: /announcements cancel ID",
    "cancelled": "Notice {id} is cancelled: it will not be sent.",
    "cancelled_sent": "Notice {id} was already sent, so its posts stay in the chats; its reminders will not be sent.",
    "cancelled_before": "Notice {id} was already cancelled.",
    "cancel_unknown": "There is no notice {id} of your links (it may have expired). /announcements lists them.",
    "cancel_how": "Write it like this: /announcements cancel a7k2m9 (the ID is shown by /announcements).",
}
_DE = {
    "paused_note": "Die Brücke ist angehalten (/pause): Nachrichten der Mitglieder gehen nicht hinüber, "
    "diese Ankündigung schon.",
    "help": (
        "So sendest du eine Ankündigung an alle Partnerchats:\n"
        "• Jetzt: /announce Das Sommerfest ist am Samstag!\n"
        "• Später: /announce at 2027-03-14 19:30 Text (Zeit in {zone}), oder /announce in 2h Text, "
        "oder /announce at tomorrow 19:00 Text\n"
        "• Angeheftet: /announce pin Text\n"
        "• Eine Veranstaltung (mit Kalenderdatei und Knöpfen Dabei/Vielleicht/Kann nicht):\n"
        "  /announce event Sommerfest | 2027-06-12 14:00 | 18:00 | Marktplatz | https://example.org\n"
        "  (Titel und Beginn sind nötig; Ende, Ort und Weblink sind freiwillig; Zeilen darunter sind der Text)\n"
        "• Eine Erinnerung vorher: /announce remind 1d event …\n"
        "• Was geplant ist: /announcements; absagen: /announcements cancel ID"
    ),
    "bad_time": "„{typed}“ konnte ich nicht als Zeitpunkt lesen. Schreib es so: /announce at 2027-03-14 19:30 Text "
    "(Datum und Uhrzeit, Zeit in {zone}), /announce in 2h Text oder /announce at tomorrow 19:00 Text.",
    "past": "„{typed}“ ({shown}) ist schon vorbei. Gib einen Zeitpunkt in der Zukunft an, "
    "z. B. /announce at tomorrow 19:00 Text.",
    "unknown_zone": "„{typed}“ ist keine Zeitzone, die ich kenne. Lass sie weg (dann gilt die Zeit in {zone}) "
    "oder schreib einen IANA-Namen wie Europe/Berlin, Europe/London oder Asia/Kolkata: "
    "/announce at 2027-03-14 19:30 Europe/Berlin Text.",
    "rsvp_not_open": "Diese Veranstaltung ist nicht mehr offen für Antworten: "
    "die Ankündigung wurde entfernt oder ist abgelaufen.",
    "rsvp_cancelled": "Diese Veranstaltung wurde abgesagt: Antworten werden nicht mehr gezählt.",
    "rsvp_over": "Diese Veranstaltung ist vorbei: Antworten werden nicht mehr gezählt.",
    "rsvp_elsewhere": "Antworte in einem Chat der Gemeinschaften, an die diese Ankündigung ging: "
    "deine Antwort hier wurde nicht gezählt.",
    "rsvp_unreadable": "Dieser Knopf war nicht lesbar. Drück unter der Ankündigung noch einmal "
    "Dabei, Vielleicht oder Kann nicht.",
    "no_such_time": "„{typed}“ gibt es in {zone} nicht: die Uhren überspringen diese Stunde zur Sommerzeit. "
    "Wähle eine Stunde früher oder später.",
    "bad_remind": "„{typed}“ konnte ich nicht als Zeitdauer lesen. Schreib es so: /announce remind 1d event … "
    "(einen Tag vorher) oder remind 2h.",
    "remind_needs_event": "Eine Erinnerung braucht eine Veranstaltung: "
    "/announce remind 1d event Sommerfest | 2027-06-12 14:00",
    "remind_too_late": "Die Erinnerung {typed} vor der Veranstaltung käme vor der Ankündigung selbst (oder in der "
    "Vergangenheit): wähle eine kürzere Zeit, z. B. remind 2h.",
    "no_text": "Die Ankündigung hat keinen Text. Schreib es so: /announce Das Sommerfest ist am Samstag! "
    "(/announce help zeigt mehr)",
    "event_form": "Schreib eine Veranstaltung so: /announce event Sommerfest | 2027-06-12 14:00 | 18:00 | Marktplatz "
    "| https://example.org — Titel und Beginn sind nötig (Zeit in {zone}); Ende, Ort und Weblink sind freiwillig.",
    "end_before_start": "Das Ende „{typed}“ liegt nicht nach dem Beginn. Schreib es so: … | "
    "2027-06-12 14:00 | 18:00 | …",
    "at_after_event": "Die Ankündigung käme erst nach Beginn der Veranstaltung. Lass „at …“ weg, um "
    "sie jetzt zu senden.",
    "too_long": "Die Ankündigung hat {count} Zeichen; bitte weniger als {limit}.",
    "several_links": "Dieser Chat gehört zu mehreren Verbindungen: nenne eine, z. B. /announce {link} Text. "
    "Deine: {links}.",
    "sent_now": "Ankündigung {id} ist unterwegs an {chats} Chat(s): {names}. Absagen: /announcements cancel {id}",
    "scheduled": "Ankündigung {id} wird {when} an {chats} Chat(s) gesendet: {names}. "
    "Absagen: /announcements cancel {id}",
    "reminder": "Erinnerung {before} vor der Veranstaltung.",
    "no_scheduler": "Hinweis: gerade läuft kein Zeitplaner; bitte die Person, die die Brücke betreibt, ihn zu "
    "starten, sonst geht die Ankündigung nicht pünktlich hinaus.",
    "list_none": "Noch keine Ankündigungen für {link}. /announce help erklärt, wie es geht.",
    "list_head": "Ankündigungen von {link}:",
    "state_scheduled": "geplant",
    "state_sent": "gesendet",
    "state_cancelled": "abgesagt",
    "list_foot": "Absagen: /announcements cancel ID",
    "cancelled": "Ankündigung {id} ist abgesagt: sie wird nicht gesendet.",
    "cancelled_sent": "Ankündigung {id} war schon gesendet, ihre Beiträge bleiben in den Chats; ihre Erinnerungen "
    "werden nicht gesendet.",
    "cancelled_before": "Ankündigung {id} war schon abgesagt.",
    "cancel_unknown": "Es gibt keine Ankündigung {id} deiner Verbindungen (vielleicht abgelaufen). "
    "/announcements zeigt sie.",
    "cancel_how": "Schreib es so: /announcements cancel a7k2m9 (die ID zeigt /announcements).",
}
_FR = {
    "paused_note": "Le pont est en pause (/pause) : les messages des membres ne passent pas, mais cette annonce, si.",
    "help": (
        "Pour envoyer une annonce à tous les chats jumelés :\n"
        "• Maintenant : /announce La fête d'été a lieu samedi !\n"
        "• Plus tard : /announce at 2027-03-14 19:30 Texte (heure de {zone}), ou /announce in 2h Texte, "
        "ou /announce at tomorrow 19:00 Texte\n"
        "• Épinglée : /announce pin Texte\n"
        "• Un événement (avec un fichier agenda et des boutons) :\n"
        "  /announce event Fête d'été | 2027-06-12 14:00 | 18:00 | Place du marché | https://example.org\n"
        "  (titre et début obligatoires ; fin, lieu et lien facultatifs ; les lignes dessous sont le texte)\n"
        "• Un rappel avant l'événement : /announce remind 1d event …\n"
        "• Ce qui est prévu : /announcements ; annuler : /announcements cancel ID"
    ),
    "bad_time": "Je n'ai pas pu lire « {typed} » comme une heure. Écrivez par exemple : /announce at 2027-03-14 19:30 "
    "Texte (date et heure, heure de {zone}), /announce in 2h Texte, ou /announce at tomorrow 19:00 Texte.",
    "past": "« {typed} » ({shown}) est déjà passé. Donnez une heure à venir, par ex. /announce at "
    "tomorrow 19:00 Texte.",
    "unknown_zone": "« {typed} » n'est pas un fuseau horaire que je connais. Omettez-le (l'heure de {zone} "
    "s'applique alors) ou écrivez un nom IANA comme Europe/Paris, Europe/London ou Asia/Kolkata : "
    "/announce at 2027-03-14 19:30 Europe/Paris Texte.",
    "rsvp_not_open": "Cette annonce d'événement n'accepte plus de réponses : elle a été retirée ou a expiré.",
    "rsvp_cancelled": "Cet événement a été annulé : les réponses ne sont plus comptées.",
    "rsvp_over": "Cet événement est terminé : les réponses ne sont plus comptées.",
    "rsvp_elsewhere": "Répondez dans un chat des communautés qui ont reçu cette annonce : "
    "votre réponse ici n'a pas été comptée.",
    "rsvp_unreadable": "Ce bouton n'a pas pu être lu. Appuyez à nouveau sur J'y vais, Peut-être ou "
    "Je ne peux pas sous l'annonce.",
    "no_such_time": "« {typed} » n'existe pas à {zone} : les horloges sautent cette heure au passage à l'heure d'été. "
    "Choisissez une heure plus tôt ou plus tard.",
    "bad_remind": "Je n'ai pas pu lire « {typed} » comme une durée. Écrivez par exemple : /announce remind 1d event … "
    "(un jour avant) ou remind 2h.",
    "remind_needs_event": "Un rappel a besoin d'un événement : /announce remind 1d event Fête d'été | 2027-06-12 14:00",
    "remind_too_late": "Le rappel {typed} avant l'événement viendrait avant l'annonce elle-même (ou dans le passé) : "
    "choisissez une durée plus courte, par ex. remind 2h.",
    "no_text": "L'annonce n'a pas de texte. Écrivez par exemple : /announce La fête d'été a lieu samedi ! "
    "(/announce help en dit plus)",
    "event_form": "Écrivez un événement ainsi : /announce event Fête d'été | 2027-06-12 14:00 | "
    "18:00 | Place du marché "
    "| https://example.org — titre et début obligatoires (heure de {zone}) ; fin, lieu et lien facultatifs.",
    "end_before_start": "La fin « {typed} » n'est pas après le début. Écrivez par ex. : … | "
    "2027-06-12 14:00 | 18:00 | …",
    "at_after_event": "L'annonce partirait après le début de l'événement. Omettez « at … » pour l'envoyer maintenant.",
    "too_long": "L'annonce fait {count} caractères ; restez sous {limit}.",
    "several_links": "Ce chat fait partie de plusieurs liens : précisez, par ex. /announce {link} Texte. "
    "Les vôtres : {links}.",
    "sent_now": "L'annonce {id} part vers {chats} chat(s) : {names}. Pour l'annuler : /announcements cancel {id}",
    "scheduled": "L'annonce {id} partira {when} vers {chats} chat(s) : {names}. Pour l'annuler : "
    "/announcements cancel {id}",
    "reminder": "Rappel {before} avant l'événement.",
    "no_scheduler": "Attention : aucun planificateur ne tourne ; demandez à qui gère le pont de le lancer, sinon "
    "l'annonce ne partira pas à l'heure.",
    "list_none": "Pas encore d'annonce pour {link}. /announce help explique comment faire.",
    "list_head": "Annonces de {link} :",
    "state_scheduled": "prévue",
    "state_sent": "envoyée",
    "state_cancelled": "annulée",
    "list_foot": "Pour en annuler une : /announcements cancel ID",
    "cancelled": "L'annonce {id} est annulée : elle ne partira pas.",
    "cancelled_sent": "L'annonce {id} était déjà envoyée, ses messages restent dans les chats ; ses rappels ne "
    "partiront pas.",
    "cancelled_before": "L'annonce {id} était déjà annulée.",
    "cancel_unknown": "Il n'y a pas d'annonce {id} de vos liens (elle a peut-être expiré). /announcements les liste.",
    "cancel_how": "Écrivez par ex. : /announcements cancel a7k2m9 (l'ID est donné par /announcements).",
}
_ES = {
    "paused_note": "El puente está en pausa (/pause): los mensajes de los miembros no pasan, pero este aviso sí.",
    "help": (
        "Cómo enviar un aviso a todos los chats hermanados:\n"
        "• Ahora: /announce ¡La fiesta de verano es el sábado!\n"
        "• Más tarde: /announce at 2027-03-14 19:30 Texto (hora de {zone}), o /announce in 2h Texto, "
        "o /announce at tomorrow 19:00 Texto\n"
        "• Fijado: /announce pin Texto\n"
        "• Un evento (con archivo de calendario y botones):\n"
        "  /announce event Fiesta de verano | 2027-06-12 14:00 | 18:00 | Plaza mayor | https://example.org\n"
        "  (título e inicio son necesarios; fin, lugar y enlace son opcionales; las líneas debajo son el texto)\n"
        "• Un recordatorio antes del evento: /announce remind 1d event …\n"
        "• Lo previsto: /announcements; cancelar: /announcements cancel ID"
    ),
    "bad_time": "No pude leer «{typed}» como una hora. Escríbelo así: /announce at 2027-03-14 19:30 Texto "
    "(fecha y hora, hora de {zone}), /announce in 2h Texto, o /announce at tomorrow 19:00 Texto.",
    "past": "«{typed}» ({shown}) ya pasó. Indica una hora futura, p. ej. /announce at tomorrow 19:00 Texto.",
    "unknown_zone": "«{typed}» no es una zona horaria que conozca. Omítela (se usa la hora de {zone}) "
    "o escribe un nombre IANA como America/Managua, Europe/Madrid o Asia/Kolkata: "
    "/announce at 2027-03-14 19:30 America/Managua Texto.",
    "rsvp_not_open": "Este aviso de evento ya no admite respuestas: se retiró o ha caducado.",
    "rsvp_cancelled": "Este evento se canceló: las respuestas ya no se cuentan.",
    "rsvp_over": "Este evento ya terminó: las respuestas ya no se cuentan.",
    "rsvp_elsewhere": "Responde en un chat de las comunidades que recibieron este aviso: "
    "tu respuesta aquí no se ha contado.",
    "rsvp_unreadable": "No se pudo leer ese botón. Pulsa otra vez Voy, Quizás o No puedo bajo el aviso.",
    "no_such_time": "«{typed}» no existe en {zone}: los relojes saltan esa hora al empezar el horario de verano. "
    "Elige una hora antes o después.",
    "bad_remind": "No pude leer «{typed}» como una duración. Escríbelo así: /announce remind 1d event … "
    "(un día antes) o remind 2h.",
    "remind_needs_event": "Un recordatorio necesita un evento: /announce remind 1d event Fiesta | 2027-06-12 14:00",
    "remind_too_late": "El recordatorio {typed} antes del evento llegaría antes que el propio aviso (o en el pasado): "
    "elige un tiempo más corto, p. ej. remind 2h.",
    "no_text": "El aviso no tiene texto. Escríbelo así: /announce ¡La fiesta de verano es el sábado! "
    "(/announce help muestra más)",
    "event_form": "Escribe un evento así: /announce event Fiesta de verano | 2027-06-12 14:00 | 18:00 | Plaza mayor "
    "| https://example.org — título e inicio son necesarios (hora de {zone}); fin, lugar y enlace son opcionales.",
    "end_before_start": "El fin «{typed}» no es posterior al inicio. Escríbelo así: … | 2027-06-12 14:00 | 18:00 | …",
    "at_after_event": "El aviso saldría después de que empiece el evento. Quita «at …» para enviarlo ahora.",
    "too_long": "El aviso tiene {count} caracteres; que sean menos de {limit}.",
    "several_links": "Este chat forma parte de varios enlaces: indica uno, p. ej. /announce {link} Texto. "
    "Los tuyos: {links}.",
    "sent_now": "El aviso {id} va de camino a {chats} chat(s): {names}. Para cancelarlo: /announcements cancel {id}",
    "scheduled": "El aviso {id} se enviará {when} a {chats} chat(s): {names}. Para cancelarlo: "
    "/announcements cancel {id}",
    "reminder": "Recordatorio {before} antes del evento.",
    "no_scheduler": "Atención: ahora no funciona ningún planificador; pide a quien gestiona el puente que lo inicie, "
    "o el aviso no saldrá a su hora.",
    "list_none": "Aún no hay avisos para {link}. /announce help explica cómo enviar uno.",
    "list_head": "Avisos de {link}:",
    "state_scheduled": "previsto",
    "state_sent": "enviado",
    "state_cancelled": "cancelado",
    "list_foot": "Para cancelar uno: /announcements cancel ID",
    "cancelled": "El aviso {id} está cancelado: no se enviará.",
    "cancelled_sent": "El aviso {id} ya se envió, sus mensajes siguen en los chats; sus recordatorios no se enviarán.",
    "cancelled_before": "El aviso {id} ya estaba cancelado.",
    "cancel_unknown": "No hay ningún aviso {id} de tus enlaces (quizá caducó). /announcements los muestra.",
    "cancel_how": "Escríbelo así: /announcements cancel a7k2m9 (el ID lo muestra /announcements).",
}
_PHRASES = {"en": _EN, "de": _DE, "fr": _FR, "es": _ES}


def say(language: str, name: str, **values: object) -> str:
    """The answer ``name`` in ``language`` (English where the bridge has no words for it)."""
    table = _PHRASES.get(language) or _PHRASES.get(language.split("-")[0].lower()) or _EN
    return (table.get(name) or _EN[name]).format(**values)
