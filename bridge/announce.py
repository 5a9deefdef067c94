"""`twinbridge announce`: an organiser's notice (or event notice) to every community of a
link, now or later; the list of announcements with their answers; cancelling one.

The notice is stored and handed to the moderation workers at once
(``announcements.enqueue_fire``: no scheduler needed), or put on the schedule for
`twinbridge scheduler`. What was asked is checked first: a wrong link, time, text or
event ends the command with exit code 2 and a sentence saying how to write it.

Running the same command again (the terminal froze, the connection dropped) sends
nothing twice: the command's digest (link, community, text, times as written, event,
pin, reminders; never the text itself) names the announcement it made for ten minutes,
and a repeat reports that one instead of making another (``--again`` makes a new one).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from core import formatting as fmt
from core.announcements import CANCELLED, SCHEDULED, SENT, Announcement, EventDetails
from core.event_time import local_when
from core.links import Community, Link, LinksConfig
from core.links.suggestions import suggest
from core.storage import announcements as store
from core.storage import rsvps
from core.storage.keys import Keys
from core.when import WhenError, parse_duration, parse_when

from .discord.formatting import parse as parse_markdown

EXIT_BAD_INPUT = 2
MAX_TEXT = 20_000  # characters: the renderers split long notices, but this is surely a mistake
MAX_FIELD = 300  # an event's title or place
NOW_SLACK = 5.0  # an --at this close to now is "now"

DESCRIPTION = """\
Send a notice to every chat of every community of a link, translated for each one.

Examples:
  twinbridge announce --link leicester-krefeld "The meeting moves to 8 pm tonight."
  twinbridge announce --link leicester-krefeld --at "tomorrow 09:00" "Good morning, twins!"
  twinbridge announce --link leicester-krefeld --file notice.md --pin
  twinbridge announce --link leicester-krefeld --event --title "Summer fair" \\
      --start "2027-06-12 14:00" --end "2027-06-12 18:00" --place "Victoria Park" \\
      --remind 1d --remind 2h "Bring a dish to share!"
  twinbridge announce --list
  twinbridge announce --cancel a7k2m9

Times (--at, --start, --end) are read in the time zone of the community that
announces (--from), unless you add a zone: "2027-06-12 14:00 Europe/London".
You can also write "in 2h", "in 30m", "in 1d 2h", "tomorrow 19:00", or a time with
an offset: 2027-06-12T14:00+01:00.

Running exactly the same command again within 10 minutes sends nothing new (it
shows the notice the first run made): safe to repeat when you are unsure whether
it worked. To send the same notice a second time on purpose, add --again.
"""


class BadInput(Exception):
    """What was asked cannot be done; the message says how to ask."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = DESCRIPTION
    parser.add_argument(
        "text", nargs="*", metavar="TEXT", help="the notice, in quotes (or use --file); with --event it may be left out"
    )
    parser.add_argument("--link", metavar="ID", help="the link to announce to (see `twinbridge check`)")
    parser.add_argument(
        "--from",
        dest="community",
        metavar="COMMUNITY",
        help="the community that announces (named on every copy; its time zone reads the times; "
        "default: the link's first community)",
    )
    parser.add_argument("--at", metavar="WHEN", help='when to send it (default: now), e.g. "tomorrow 09:00" or "in 2h"')
    parser.add_argument(
        "--file",
        metavar="PATH",
        help=(
            "read the notice from this text file (UTF-8, Discord-style markdown: "
            "**bold**, *italic*, [text](https://…), # headings, - lists)"
        ),
    )
    parser.add_argument("--pin", action="store_true", help="pin the notice in every chat (where the bot may)")
    parser.add_argument(
        "--remind",
        action="append",
        default=[],
        metavar="BEFORE",
        help="with --event: also send a reminder this long before it starts, e.g. 1d or 2h (repeat for more)",
    )
    event = parser.add_argument_group("event notices (members answer Going / Maybe / Can't)")
    event.add_argument("--event", action="store_true", help="this notice is about an event")
    event.add_argument("--title", metavar="T", help="the event's title")
    event.add_argument("--start", metavar="WHEN", help='when it starts, e.g. "2027-06-12 14:00"')
    event.add_argument("--end", metavar="WHEN", help="when it ends (optional)")
    event.add_argument("--place", metavar="P", help="where it is (optional)")
    event.add_argument("--url", metavar="U", help="a web page about it (optional), https://…")
    other = parser.add_argument_group("other actions")
    other.add_argument(
        "--list", action="store_true", help="list the announcements (with --link: of one link) and their answers"
    )
    other.add_argument("--cancel", metavar="ID", help="cancel an announcement (what is already sent stays)")
    other.add_argument(
        "--again", action="store_true", help="send it even if the same command was run in the last 10 minutes"
    )


def main(args, config: LinksConfig, redis, keys: Keys, now: float | None = None) -> int:
    """Run `twinbridge announce` with parsed ``args``; the exit code."""
    now = time.time() if now is None else now
    try:
        if args.list:
            return _list(args, config, redis, keys, now)
        if args.cancel:
            return _cancel(args.cancel.strip(), redis, keys)
        request = _request(args, config, now)
        return _announce(request, config, redis, keys, now)
    except BadInput as exc:
        print(f"twinbridge announce: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


# -- making one ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    announcement: Announcement
    digest: str  # "" with --again


def _request(args, config: LinksConfig, now: float) -> Request:
    link = _link(args.link, config)
    community = _community(args.community, link, config)
    text, formatting = _formatted(_text(args))
    tz = community.timezone
    at = _when(args.at, tz, now, "--at") if args.at else now
    event = _event(args, tz, now)
    if event is None and not text:
        raise BadInput(
            "the notice has no text. Write it in quotes after the options, e.g.\n"
            f'  twinbridge announce --link {link.id} "The meeting moves to 8 pm."\n'
            "or put it in a file and add --file notice.md"
        )
    if event is not None and at > event.start:
        raise BadInput(
            f"--at is after the event starts (--start {args.start}). Send the notice before the event, "
            "or leave --at out to send it now."
        )
    reminders = _reminders(args.remind, event, at, now)
    announcement = Announcement(
        id=store.new_id(),
        link_id=link.id,
        community=community.id,
        organiser="cli",
        text=text,
        language=community.language,
        event=event,
        at=at,
        reminders=reminders,
        pin=bool(args.pin),
        created=now,
        formatting=formatting,
    )
    return Request(announcement, "" if args.again else _digest(args, link, community, text))


def _link(link_id: str | None, config: LinksConfig) -> Link:
    ids = tuple(link.id for link in config.links)
    if not link_id:
        raise BadInput(f"say which link to announce to: --link ID ({suggest('', ids)})")
    link = config.link(link_id.strip())
    if link is None:
        raise BadInput(f"there is no link {link_id!r} in {config.path}: {suggest(link_id, ids)}")
    return link


def _community(community_id: str | None, link: Link, config: LinksConfig) -> Community:
    if not community_id:
        return config.communities[link.communities[0]]
    if community_id.strip() not in link.communities:
        raise BadInput(
            f"--from {community_id!r} is not a community of link {link.id}: {suggest(community_id, link.communities)}"
        )
    return config.communities[community_id.strip()]


def _formatted(written: str) -> tuple[str, fmt.Spans]:
    """The notice as Discord-flavoured markdown (the parser the Discord adapter reads members'
    messages with): "**bold**", "*italic*", "[text](https://…)", "# heading", "- item",
    "1. item", "> quote", code. Its plain text is the notice; the marks cross as formatting."""
    if not written:
        return "", ()
    parsed = parse_markdown(written)
    if parsed.failed:
        return written, ()
    return fmt.strip(parsed.text, parsed.spans)


def _text(args) -> str:
    written = " ".join(args.text).strip()
    if args.file:
        if written:
            raise BadInput("give the notice either as TEXT or with --file, not both")
        path = Path(args.file)
        try:
            written = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            raise BadInput(f"there is no file {args.file!r} (check the name and the folder you are in)") from None
        except UnicodeDecodeError:
            raise BadInput(f"{args.file!r} is not UTF-8 text: save it as UTF-8 (plain text) and try again") from None
        except OSError as exc:
            raise BadInput(f"cannot read {args.file!r} ({exc.__class__.__name__})") from None
    if len(written) > MAX_TEXT:
        raise BadInput(f"the notice is {len(written):,} characters long; keep it under {MAX_TEXT:,}")
    return written


def _when(text: str, tz: str, now: float, option: str, allow_past: bool = False) -> float:
    try:
        return parse_when(text, tz, now, allow_past=allow_past)
    except WhenError as exc:
        raise BadInput(f"{option}: {exc}") from None


def _event(args, tz: str, now: float) -> EventDetails | None:
    given = [name for name in ("title", "start", "end", "place", "url") if getattr(args, name)]
    if not args.event and not given:
        return None
    example = '--event --title "Summer fair" --start "2027-06-12 14:00"'
    if not args.title or not args.title.strip():
        raise BadInput(f"an event notice needs a title: {example}")
    if not args.start:
        raise BadInput(f"an event notice needs its start time: {example}")
    title, place, url = args.title.strip(), (args.place or "").strip(), (args.url or "").strip()
    for option, value in (("--title", title), ("--place", place)):
        if len(value) > MAX_FIELD:
            raise BadInput(f"{option} is {len(value)} characters long; keep it under {MAX_FIELD}")
    if url and not (url.startswith(("https://", "http://")) and len(url) <= 2000 and " " not in url):
        raise BadInput(f"--url must be a web address starting with https:// (got {url[:60]!r})")
    start = _when(args.start, tz, now, "--start")
    end = _when(args.end, tz, now, "--end", allow_past=True) if args.end else None
    if end is not None and end <= start:
        raise BadInput(f"--end ({args.end}) is not after --start ({args.start}): give the time the event ends")
    return EventDetails(title=title, start=start, end=end, place=place, url=url)


def _reminders(written: list[str], event: EventDetails | None, at: float, now: float) -> tuple[int, ...]:
    if not written:
        return ()
    if event is None:
        raise BadInput("reminders come before an event: add --event --title … --start … (or leave out --remind)")
    seconds = set()
    for text in written:
        try:
            before = parse_duration(text)
        except WhenError as exc:
            raise BadInput(f"--remind {text}: {exc}") from None
        if event.start - before <= max(at, now):
            raise BadInput(
                f"--remind {text} would be sent before the notice itself (or in the past): "
                "choose a shorter time before the event"
            )
        seconds.add(before)
    return tuple(sorted(seconds, reverse=True))


def _digest(args, link: Link, community: Community, text: str) -> str:
    """The command as asked (times as written, so that "in 2h" run again is the same)."""
    asked = [
        link.id,
        community.id,
        text,
        args.at or "",
        bool(args.event),
        args.title or "",
        args.start or "",
        args.end or "",
        args.place or "",
        args.url or "",
        bool(args.pin),
        sorted(args.remind),
    ]
    return hashlib.sha256(json.dumps(asked, ensure_ascii=False).encode("utf-8")).hexdigest()[:32]


def from_console(
    config: LinksConfig,
    redis,
    keys: Keys,
    *,
    organiser: str,
    link_id: str,
    community_id: str,
    text: str,
    at: str,
    now: float,
    event: dict[str, str] | None = None,
) -> tuple[Announcement, bool, bool]:
    """The web console's "Send" (issue 18): the same checks, store and hand-over as
    `twinbridge announce --link ID [--from C] [--at WHEN] [--event --title … --start …] TEXT`,
    without printing. ``organiser``: the asker's person key; ``event``: title, start, end,
    place (empty: not an event). (the announcement, whether it goes out now, whether the
    same was sent in the last 10 minutes: a second press or a reload sends nothing new);
    BadInput says what to change."""
    given = {name: (event or {}).get(name) or None for name in ("title", "start", "end", "place")}
    args = argparse.Namespace(
        **{name: None for name in ("file", "url")},
        **given,
        text=[text],
        link=link_id,
        community=community_id or None,
        at=at or None,
        event=any(given.values()),
        pin=False,
        remind=[],
        again=False,
    )
    request = _request(args, config, now)
    request = Request(dataclasses.replace(request.announcement, organiser=organiser), request.digest)
    announcement, repeat, immediate = _store(request, config, redis, keys, now)
    return announcement, immediate, repeat


def _announce(request: Request, config: LinksConfig, redis, keys: Keys, now: float) -> int:
    announcement, repeat, immediate = _store(request, config, redis, keys, now)
    if repeat:
        print(
            f"The same command was run in the last 10 minutes: that notice is {announcement.id} "
            f"({announcement.state}). Nothing new was made. To send the same notice again on purpose, add --again."
        )
    else:
        _report(announcement, config, redis, keys, immediate, now)
    return 0


def _store(request: Request, config: LinksConfig, redis, keys: Keys, now: float) -> tuple[Announcement, bool, bool]:
    """Save the notice and hand it over (now) or schedule it: (the announcement, the earlier
    one when the same was asked in the last 10 minutes; whether it is that repeat; whether
    it goes out now). A cancelled earlier one stays cancelled."""
    announcement = request.announcement
    retention = config.known_link(announcement.link_id).policy.retention_days
    for _ in range(5):  # a new id taken by another announcement (rare): draw again
        saved = store.save(redis, keys, announcement, retention, now, request=request.digest)
        if saved is not None:
            break
        announcement = Announcement.from_dict({**announcement.to_dict(), "id": store.new_id()})
    else:
        raise RuntimeError("no free announcement id")
    repeat = saved != announcement.id
    if repeat:
        earlier = store.load(redis, keys, saved)
        if earlier is None:
            raise BadInput("the same command was run moments ago but its notice is gone; add --again to send it")
        if earlier.state == CANCELLED:
            return earlier, True, False
        announcement = earlier
    # Handing over and scheduling are safe to repeat: a repeat after a crash finishes the job.
    immediate = announcement.at <= now + NOW_SLACK
    if immediate:
        store.enqueue_fire(redis, keys, announcement.id)
    store.schedule(redis, keys, announcement, retention)
    return announcement, repeat, immediate


def _report(announcement: Announcement, config: LinksConfig, redis, keys: Keys, immediate: bool, now: float) -> None:
    link = config.known_link(announcement.link_id)
    community = config.communities[announcement.community]
    names = ", ".join(config.communities[c].name for c in link.communities)
    chats = sum(len(config.communities[c].chats) for c in link.communities)
    if immediate:
        print(f"Notice {announcement.id} is on its way to {chats} chat(s) of link {link.id} ({names}).")
    else:
        print(
            f"Notice {announcement.id} to {chats} chat(s) of link {link.id} ({names}) will be sent "
            f"{_local(announcement.at, community)} ({_from_now(announcement.at - now)})."
        )
    if announcement.event is not None:
        print(
            f"Event: {announcement.event.title}, {_local(announcement.event.start, community, announcement.event.end)}"
        )
    for seconds in announcement.reminders:
        print(f"Reminder {_duration(seconds)} before the event.")
    print(f"To cancel it: twinbridge announce --cancel {announcement.id}")
    if (not immediate or announcement.reminders) and not store.scheduler_running(redis, keys):
        print(
            "Note: no `twinbridge scheduler` is running right now, and it is what sends scheduled notices and "
            "reminders. Start one (with Docker: `docker compose up -d scheduler`).",
            file=sys.stderr,
        )


# -- listing and cancelling -------------------------------------------------------------


def _list(args, config: LinksConfig, redis, keys: Keys, now: float) -> int:
    links = [_link(args.link, config)] if args.link else list(config.links)
    found = [a for link in links for a in store.of_link(redis, keys, link.id, now)]
    if not found:
        print("No announcements." + ("" if args.link else ' Make one with: twinbridge announce --link ID "TEXT"'))
        return 0
    rows = []
    for announcement in sorted(found, key=lambda a: a.at):
        community = config.communities.get(announcement.community)
        when = _local(announcement.at, community) if community else str(int(announcement.at))
        what = f"event: {announcement.event.title}" if announcement.event else _first_words(announcement.text)
        rows.append((announcement, when, what, community))
    width = max(len(when) for _, when, _, _ in rows)
    print(f"{'ID':<6}  {'SENT (or to be sent)':<{width}}  {'STATE':<9}  LINK: WHAT")
    for announcement, when, what, community in rows:
        # Due but not yet published: on its way through the workers.
        state = "sending" if announcement.state == SCHEDULED and announcement.at <= now else announcement.state
        print(f"{announcement.id:<6}  {when:<{width}}  {state:<9}  {announcement.link_id}: {what}")
        event = announcement.event
        if event is not None:
            if community is not None:
                print(f"        event starts {_local(event.start, community, event.end)}")
            print(f"        answers: {_answers(redis, keys, announcement, config)}")
    print(f"{len(found)} announcement(s). Cancel one with: twinbridge announce --cancel ID")
    return 0


def _answers(redis, keys: Keys, announcement: Announcement, config: LinksConfig) -> str:
    totals = rsvps.totals(redis, keys, announcement.id)
    line = _counts(totals)
    by_community = rsvps.breakdown(redis, keys, announcement.id)
    if by_community:
        parts = []
        for community_id, counts in sorted(by_community.items()):
            community = config.communities.get(community_id)
            parts.append(f"{community.name if community else community_id}: {_counts(counts)}")
        line += "  (" + "; ".join(parts) + ")"
    return line


def _counts(counts: dict[str, int]) -> str:
    return f"{counts.get('going', 0)} going, {counts.get('maybe', 0)} maybe, {counts.get('cant', 0)} can't"


def _cancel(announcement_id: str, redis, keys: Keys) -> int:
    was = store.cancel(redis, keys, announcement_id)
    if not was:
        raise BadInput(
            f"there is no announcement {announcement_id!r} (it may have expired). "
            "See them all with: twinbridge announce --list"
        )
    if was == CANCELLED:
        print(f"{announcement_id} was already cancelled; nothing to do.")
    elif was == SENT:
        print(
            f"{announcement_id} was already sent, so its posts stay in the chats (delete them there if you need to). "
            "Its reminders will not be sent."
        )
    else:
        print(f"Cancelled {announcement_id}: it will not be sent.")
    return 0


# -- words --------------------------------------------------------------------------------


def _local(at: float, community: Community, end: float | None = None) -> str:
    written = local_when(at, end, community.timezone, "en")
    return written if community.timezone == "UTC" else f"{written} ({community.timezone})"


def _from_now(seconds: float) -> str:
    return "now" if seconds < 60 else f"in {_duration(int(seconds))}"


def _duration(seconds: int) -> str:
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts[:2]) or "less than a minute"


def _first_words(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rsplit(" ", 1)[0] + "…"
