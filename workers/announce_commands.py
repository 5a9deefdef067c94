"""/announce and /announcements in a chat (issue 14): an organiser's notice to every
community of the link, now or later, and the list of them with their answers.

    /announce [at WHEN | in 2h] [pin] [remind 1d]… TEXT
    /announce [options] event TITLE | START [| END] [| PLACE] [| https://…]
    (the lines after the event's line are the notice's text)

Times without an offset are the chat community's time zone (core/when.py reads them);
an event's end may be a time of day alone ("22:00": that day, or the next if earlier).
What cannot be read is answered with an example, in the community's language.

The notice is stored under an id derived from the command's dedup key and saved as that
command's request (core/storage/announcements.py): the same command handled twice (its
task run again) finds the notice it made and sends nothing twice.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core import announce_phrases, persons
from core import formatting as fmt
from core.announcements import CANCELLED, SENT, Announcement, EventDetails
from core.event_time import local_when
from core.links import Community, Link, LinksConfig
from core.models import Command, OutboundPost
from core.phrases import rsvp_counts_line
from core.storage import announcements as store
from core.storage import link_control, rsvps
from core.when import NO_SUCH_TIME, PAST, UNKNOWN_ZONE, WhenError, parse_duration, parse_when, zone

from .organisers import Asked, reply, resolve

# Characters: more than any chat message can carry (Telegram 4096, Discord 4000 with Nitro), as
# for the command line: whatever an organiser could type is taken, and split where it is shown.
MAX_TEXT = 20_000
MAX_FIELD = 300  # an event's title or place
NOW_SLACK = 5.0  # an "at" this close to now is now
LIST_LIMIT = 10  # the latest notices /announcements shows

# "at" followed by a time: "tomorrow 19:00", "2027-03-14 19:30", "2027-03-14T19:30+01:00",
# optionally a zone name after it ("2027-03-14 19:30 Europe/London").
_AT = re.compile(
    r"^at\s+((?:today|tomorrow)\s+\d{1,2}(?::\d{2})?"
    r"|\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"(?:\s+(?:[A-Za-z_]+/[A-Za-z0-9_/+-]+|UTC|GMT))?)(?=\s|$)",
    re.IGNORECASE,
)
_DURATION = r"(\d+\s*[a-z]+(?:\s+\d+\s*[a-z]+)*)"  # "2h", "1d 2h", "2 hours"
_IN = re.compile(r"^in\s+" + _DURATION + r"(?=\s|$)", re.IGNORECASE)
_REMIND = re.compile(r"^remind\s+" + _DURATION + r"(?=\s|$)", re.IGNORECASE)
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


class BadForm(Exception):  # an answer rather than an error
    """What the organiser wrote cannot be used: ``phrase`` (core/announce_phrases.py) says how to write it."""

    def __init__(self, phrase: str, **values: object):
        super().__init__(phrase)
        self.phrase = phrase
        self.values = values


@dataclass(frozen=True)
class Written:
    """A /announce as written: when (None: now), pin, reminders (seconds), event, text."""

    at: float | None
    at_typed: str
    pin: bool
    reminders: tuple[int, ...]
    reminders_typed: tuple[str, ...]
    event: EventDetails | None
    text: str


def parse(rest: str, tz: str, now: float) -> Written:
    """Read a /announce's words (after the link's name, if any); :class:`BadForm` otherwise."""
    at: float | None = None
    at_typed = ""
    pin = False
    reminders: list[int] = []
    reminders_typed: list[str] = []
    rest = rest.strip()
    while True:
        first = rest.split(maxsplit=1)[0].lower() if rest else ""
        if first == "pin":
            pin, rest = True, rest[3:].lstrip()
        elif first == "at":
            match = _AT.match(rest)
            if match is None:
                raise BadForm("bad_time", typed=" ".join(rest.split()[1:3])[:40], zone=tz)
            at_typed = match.group(1)
            at = _when(at_typed, tz, now)
            rest = rest[match.end() :].lstrip()
        elif first == "in" and _IN.match(rest):
            match = _IN.match(rest)
            assert match is not None
            at_typed = match.group(0)
            at = _when(at_typed, tz, now)
            rest = rest[match.end() :].lstrip()
        elif first == "remind":
            match = _REMIND.match(rest)
            typed = match.group(1).strip() if match else " ".join(rest.split()[1:2])
            try:
                reminders.append(parse_duration(typed))
            except WhenError:
                raise BadForm("bad_remind", typed=typed[:40]) from None
            reminders_typed.append(typed)
            rest = rest[match.end() :].lstrip() if match else ""
        else:
            break
    event = None
    if rest.split(maxsplit=1)[0].lower() == "event" if rest else False:
        line, _, rest = rest[5:].partition("\n")
        event = _event(line, tz, now)
    text = rest.strip()
    if event is None and not text:
        raise BadForm("no_text")
    if len(text) > MAX_TEXT:
        raise BadForm("too_long", count=len(text), limit=MAX_TEXT)
    return Written(at, at_typed, pin, tuple(reminders), tuple(reminders_typed), event, text)


def _when(typed: str, tz: str, now: float, allow_past: bool = False) -> float:
    try:
        return parse_when(typed, tz, now, allow_past=allow_past)
    except WhenError as exc:
        if exc.reason == PAST:
            shown = datetime.fromtimestamp(parse_when(typed, tz, now, allow_past=True), zone(tz))
            raise BadForm("past", typed=typed[:40], shown=shown.strftime("%Y-%m-%d %H:%M"), zone=tz) from None
        if exc.reason == NO_SUCH_TIME:
            raise BadForm("no_such_time", typed=typed[:40], zone=tz) from None
        if exc.reason == UNKNOWN_ZONE:  # a zone named after the time ("… 19:30 Europe/Londn"): its last word
            raise BadForm("unknown_zone", typed=typed.split()[-1][:40], zone=tz) from None
        raise BadForm("bad_time", typed=typed[:40], zone=tz) from None


def _event(line: str, tz: str, now: float) -> EventDetails:
    parts = [part.strip() for part in line.split("|")]
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise BadForm("event_form", zone=tz)
    title, start = parts[0], _when(parts[1], tz, now)
    end, place, url = None, "", ""
    for part in parts[2:]:
        if not part:
            continue
        if part.lower().startswith(("https://", "http://")):
            if " " in part or len(part) > 2000:
                raise BadForm("event_form", zone=tz)
            url = part
        elif end is None and (_CLOCK.match(part) or re.match(r"^\d{4}-\d{1,2}-\d{1,2}", part)):
            end = _end(part, start, tz, now)
        elif not place:
            place = part
        else:
            raise BadForm("event_form", zone=tz)
    if len(title) > MAX_FIELD or len(place) > MAX_FIELD:
        raise BadForm("event_form", zone=tz)
    return EventDetails(title=title, start=start, end=end, place=place, url=url)


def _end(typed: str, start: float, tz: str, now: float) -> float:
    clock = _CLOCK.match(typed)
    if clock:
        # A time of day alone: the start's day (the next one when it is earlier: past midnight).
        here = zone(tz)
        day = datetime.fromtimestamp(start, here).date()
        end = _when(f"{day.isoformat()} {int(clock.group(1)):02d}:{clock.group(2)}", tz, now, allow_past=True)
        if end <= start:
            day += timedelta(days=1)
            end = _when(f"{day.isoformat()} {int(clock.group(1)):02d}:{clock.group(2)}", tz, now, allow_past=True)
    else:
        end = _when(typed, tz, now, allow_past=True)
    if end <= start:
        raise BadForm("end_before_start", typed=typed[:40])
    return end


def announcement_id(command: Command) -> str:
    """The id the command's notice gets: derived from its dedup key (a task run twice makes the same)."""
    digest = hashlib.sha256(command.dedup_key.encode()).digest()
    return "".join(store.ID_ALPHABET[b % len(store.ID_ALPHABET)] for b in digest[: store.ID_LENGTH])


# -- /announce ------------------------------------------------------------------------------


def announce(command: Command, config: LinksConfig, redis, keys) -> list[OutboundPost]:
    asked = resolve(command, config)
    if not isinstance(asked, Asked):
        return [asked]
    language, community = asked.language, asked.community
    if asked.rest.strip().lower() in ("", "help", "?"):
        return [reply(command, announce_phrases.say(language, "help", zone=community.timezone))]
    if len(asked.links) > 1:
        listed = ", ".join(link.id for link in asked.links)
        return [reply(command, announce_phrases.say(language, "several_links", link=asked.links[0].id, links=listed))]
    link = asked.links[0]
    now = time.time()
    try:
        written = parse(asked.rest, community.timezone, now)
        at = now if written.at is None or written.at <= now + NOW_SLACK else written.at
        _check_times(written, at, now)
    except BadForm as bad:
        return [
            reply(command, announce_phrases.say(language, bad.phrase, **{"zone": community.timezone, **bad.values}))
        ]
    announcement = Announcement(
        id=announcement_id(command),
        link_id=link.id,
        community=community.id,
        organiser=persons.person(redis, keys, command.user_ref),
        text=written.text,
        formatting=_formatting_of(command, written.text),
        language=community.language,
        event=written.event,
        at=at,
        reminders=tuple(sorted(set(written.reminders), reverse=True)),
        pin=written.pin,
        created=now,
    )
    announcement = _stored(announcement, command, link, redis, keys, now)
    if announcement.state == CANCELLED:
        return [reply(command, announce_phrases.say(language, "cancelled_before", id=announcement.id))]
    retention = link.policy.retention_days
    immediate = announcement.at <= now + NOW_SLACK
    if immediate:
        store.enqueue_fire(redis, keys, announcement.id)
    store.schedule(redis, keys, announcement, retention)
    return [reply(command, _receipt(announcement, config, link, community, language, immediate, redis, keys))]


def _check_times(written: Written, at: float, now: float) -> None:
    event = written.event
    if written.reminders and event is None:
        raise BadForm("remind_needs_event")
    if event is not None and at > event.start:
        raise BadForm("at_after_event")
    for before, typed in zip(written.reminders, written.reminders_typed, strict=True):
        if event is not None and event.start - before <= max(at, now):
            raise BadForm("remind_too_late", typed=typed[:40])


def _stored(announcement: Announcement, command: Command, link: Link, redis, keys, now: float) -> Announcement:
    """``announcement`` saved, or the one this same command saved before."""
    retention = link.policy.retention_days
    request = "chat:" + command.dedup_key.removeprefix("cmd:")
    for attempt in range(5):
        saved = store.save(redis, keys, announcement, retention, now, request=request)
        if saved == announcement.id:
            return announcement
        if saved is not None:  # the request was made before (within its TTL): that notice
            return store.load(redis, keys, saved) or announcement
        earlier = store.load(redis, keys, announcement.id)
        if attempt == 0 and earlier is not None and earlier.organiser == announcement.organiser:
            return earlier  # made by this command before its request expired
        announcement = replace(announcement, id=store.new_id())  # taken by another notice (rare)
    raise RuntimeError("no free announcement id")


def _receipt(
    announcement: Announcement,
    config: LinksConfig,
    link: Link,
    community: Community,
    language: str,
    immediate: bool,
    redis,
    keys,
) -> str:
    names = ", ".join(config.communities[c].name for c in link.communities)
    chats = sum(len(config.communities[c].chats) for c in link.communities)
    values = {"id": announcement.id, "chats": chats, "names": names}
    if immediate:
        lines = [announce_phrases.say(language, "sent_now", **values)]
    else:
        when = local_when(announcement.at, None, community.timezone, language)
        lines = [announce_phrases.say(language, "scheduled", when=when, **values)]
    lines += [announce_phrases.say(language, "reminder", before=_duration(s)) for s in announcement.reminders]
    if (not immediate or announcement.reminders) and not store.scheduler_running(redis, keys):
        lines.append(announce_phrases.say(language, "no_scheduler"))
    if link_control.paused(redis, keys, link.id) is not None:
        # /pause stops members' messages; an organiser's notice is sent on purpose.
        lines.append(announce_phrases.say(language, "paused_note"))
    return "\n".join(lines)


def _duration(seconds: int) -> str:
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts) or "1m"


# -- /announcements ---------------------------------------------------------------------------


def announcements(command: Command, config: LinksConfig, redis, keys) -> list[OutboundPost]:
    asked = resolve(command, config)
    if not isinstance(asked, Asked):
        return [asked]
    words = asked.rest.split()
    if words and words[0].lower() == "cancel":
        return [_cancel(command, asked, words[1] if len(words) > 1 else "", redis, keys)]
    now = time.time()
    blocks = []
    for link in asked.links:
        found = store.of_link(redis, keys, link.id, now)[-LIST_LIMIT:]
        if not found:
            blocks.append(announce_phrases.say(asked.language, "list_none", link=link.id))
            continue
        lines = [announce_phrases.say(asked.language, "list_head", link=link.id)]
        lines += [_line(a, asked, config, redis, keys) for a in found]
        lines.append(announce_phrases.say(asked.language, "list_foot"))
        blocks.append("\n".join(lines))
    return [reply(command, "\n\n".join(blocks))]


def _line(announcement: Announcement, asked: Asked, config: LinksConfig, redis, keys) -> str:
    language, tz = asked.language, asked.community.timezone
    state = announce_phrases.say(language, f"state_{announcement.state}")
    what = announcement.event.title if announcement.event else " ".join(announcement.text.split())[:40]
    line = f"• {announcement.id} · {state} · {local_when(announcement.at, None, tz, language)} · {what}"
    if announcement.event is None:
        return line
    line += "\n   " + rsvp_counts_line(language, rsvps.totals(redis, keys, announcement.id))
    for community_id, counts in sorted(rsvps.breakdown(redis, keys, announcement.id).items()):
        community = config.communities.get(community_id)
        line += f"\n   {community.name if community else community_id}: {rsvp_counts_line(language, counts)}"
    return line


def _cancel(command: Command, asked: Asked, typed: str, redis, keys) -> OutboundPost:
    language = asked.language
    if not typed:
        return reply(command, announce_phrases.say(language, "cancel_how"))
    typed = typed.strip().lower()[:32]
    announcement = store.load(redis, keys, typed)
    if announcement is None or announcement.link_id not in {link.id for link in asked.links}:
        # The same answer for one that does not exist and one of a link they do not organise.
        return reply(command, announce_phrases.say(language, "cancel_unknown", id=typed))
    was = store.cancel(redis, keys, typed)
    if was == CANCELLED:
        return reply(command, announce_phrases.say(language, "cancelled_before", id=typed))
    if was == SENT:
        return reply(command, announce_phrases.say(language, "cancelled_sent", id=typed))
    if not was:
        return reply(command, announce_phrases.say(language, "cancel_unknown", id=typed))
    return reply(command, announce_phrases.say(language, "cancelled", id=typed))


def _formatting_of(command: Command, text: str) -> fmt.Spans:
    """The organiser's formatting over the notice's ``text``, which is the end of what they
    typed after the command (the link's name, time, pin and event line come first)."""
    typed = command.args.rstrip()
    if not command.formatting or not text or not typed.endswith(text):
        return ()
    start = len(typed) - len(text)
    return fmt.clip(command.formatting, start, start + len(text))
