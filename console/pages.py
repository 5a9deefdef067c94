"""The console's other pages: links, announcements, privacy requests and health.

Each reuses what the commands do: `twinbridge announce` (bridge/announce.py), `twinbridge
export`/`forget` (workers/rights.py, workers/erasure.py), `twinbridge status` (bridge/status.py).
"""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from core import audit
from core.announcements import CANCELLED, SCHEDULED
from core.links import Link, LinksConfig
from core.organiser_phrases import local_time
from core.phrases import announcement_header, language_name
from core.privacy_notice import provider_words
from core.storage import announcements as store
from core.storage import link_activity, rsvps

from . import access
from .access import Viewer
from .charts import week_chart

SENDER_WORDS = {
    "full": "their full name",
    "first_name": "their first name",
    "initials": "their initials",
    "pseudonym": "a pseudonym (the same for them in this link, nowhere else)",
    "hidden": "no name at all",
}
MODERATION_WORDS = {
    "none": "Messages cross as they are written (after the removals below).",
    "profanity": "Swear words are masked before anything crosses.",
    "approve": "A moderator approves each message before it crosses.",
}


def local_clock(config: LinksConfig, who: Viewer):
    """A function writing a time the viewer's way, in their community's time zone."""
    zone = "UTC"
    for community in config.communities.values():
        if who.user in community.organisers:
            zone = community.timezone
            break

    def when(ts: float) -> str:
        return local_time(ts, zone, who.language) if ts else "—"

    return when


def policy_words(link: Link) -> list[str]:
    """The link's policy in plain words, one sentence each."""
    policy = link.policy
    said = [f"Senders are shown by {SENDER_WORDS.get(policy.sender, policy.sender)}."]
    if policy.redact:
        said.append("Removed before anything crosses: " + ", ".join(policy.redact) + ".")
    said.append(MODERATION_WORDS.get(policy.moderation, policy.moderation))
    said.append(
        "Who may translate: "
        + ("; ".join(provider_words(p) for p in policy.translation) or "nobody (no translation)")
        + "."
    )
    if policy.consent == "opt_in":
        said.append("Members' messages cross only after they say /consent.")
    said.append(f"What the bridge keeps about a message is deleted after {policy.retention_days} days.")
    if link.direction != "both":
        said.append("One-way: only the first community speaks; the others listen.")
    return said


# -- links -----------------------------------------------------------------------------------


def _links_view(state, who: Viewer) -> list[dict]:
    config, now = state.config, time.time()
    views = []
    for link_id in who.roles:
        link = config.known_link(link_id)
        speakers = list(link.speakers())
        crossed = link_activity.activity(state.redis, state.keys, link.id, speakers, now)
        daily = link_activity.daily(state.redis, state.keys, link.id, speakers, now)
        names = {c: config.communities[c].name for c in link.communities}
        views.append(
            {
                "link": link,
                "roles": sorted(who.roles[link_id]),
                "communities": [
                    {
                        "name": config.communities[c].name,
                        "language": language_name(config.communities[c].language),
                        "local": local_time(now, config.communities[c].timezone, who.language),
                        "last": crossed.get(c, (0.0, 0)),
                    }
                    for c in link.communities
                ],
                "policy": policy_words(link),
                "chart": week_chart(daily, names),
            }
        )
    return views


async def links_page(request: Request) -> Response:
    from .app import render

    who = await access.require(request)
    views = await run_in_threadpool(_links_view, request.app.state, who)
    return render(request, "links.html", {"views": views, "when": local_clock(request.app.state.config, who)}, who=who)


# -- announcements ---------------------------------------------------------------------------


def _announcements(state, who: Viewer) -> list[dict]:
    now, found = time.time(), []
    for link_id in who.organised:
        for announcement in store.of_link(state.redis, state.keys, link_id, now):
            found.append(
                {
                    "a": announcement,
                    "state": "sending"
                    if announcement.state == SCHEDULED and announcement.at <= now
                    else announcement.state,
                    "totals": rsvps.totals(state.redis, state.keys, announcement.id) if announcement.event else None,
                }
            )
    return sorted(found, key=lambda item: item["a"].at, reverse=True)


def _previews(
    config: LinksConfig, link: Link, community_id: str, at: float, language: str, starts: float | None = None
) -> list[dict]:
    from core.event_time import local_when

    organiser = config.communities[community_id].name
    return [
        {
            "event": local_when(starts, None, config.communities[c].timezone, config.communities[c].language)
            if starts
            else "",
            "community": config.communities[c].name,
            "language": language_name(config.communities[c].language),
            "header": announcement_header(config.communities[c].language, "announcement", organiser),
            "local": local_time(at, config.communities[c].timezone, config.communities[c].language),
            "translated": config.communities[c].language != config.communities[community_id].language,
        }
        for c in link.communities
    ]


def _own_community(config: LinksConfig, who: Viewer, link: Link) -> str:
    """The community the viewer announces from: theirs in the link, else the link's first."""
    for c in link.communities:
        if who.user in config.communities[c].organisers:
            return c
    return link.communities[0]


async def announcements_page(request: Request, message: str = "", problem: str = "", previews=None, form=None):
    from .app import render

    who = await access.require(request)
    if not who.organised:
        raise HTTPException(403, "Announcements are for organisers.")
    state = request.app.state
    listed = await run_in_threadpool(_announcements, state, who)
    links = [state.config.known_link(link_id) for link_id in who.organised]
    return render(
        request,
        "announcements.html",
        {
            "links": links,
            "listed": listed,
            "message": message,
            "problem": problem,
            "previews": previews,
            "form": form or {},
            "when": local_clock(state.config, who),
            "cancelled": CANCELLED,
        },
        status_code=400 if problem else 200,
        who=who,
    )


async def announce(request: Request) -> Response:
    from bridge.announce import BadInput, from_console

    who = await access.require(request)
    form = await request.form()
    access.check_csrf(who, form)
    state = request.app.state
    link = access.link_for(request, who, str(form.get("link") or ""), organiser=True)
    text, at = str(form.get("text") or "").strip(), str(form.get("at") or "").strip()
    event = {name: str(form.get(name) or "").strip()[:300] for name in ("title", "start", "end", "place")}
    community = _own_community(state.config, who, link)
    fields = {"link": link.id, "text": text, "at": at, **event}
    if form.get("action") == "preview":
        from core.when import WhenError, parse_when

        zone = state.config.communities[community].timezone
        try:
            when = parse_when(at, zone, time.time()) if at else time.time()
            starts = parse_when(event["start"], zone, time.time()) if event["start"] else None
        except WhenError as exc:
            return await announcements_page(request, problem=_in_form_words(str(exc)), form=fields)
        previews = _previews(state.config, link, community, when, who.language, starts)
        return await announcements_page(request, previews=previews, form=fields)
    person_key = await run_in_threadpool(access.person, state.redis, state.keys, who.user)
    try:
        announcement, immediate, repeat = await run_in_threadpool(
            lambda: from_console(
                state.config,
                state.redis,
                state.keys,
                organiser=person_key,
                link_id=link.id,
                community_id=community,
                text=text,
                at=at,
                now=time.time(),
                event=event,
            )
        )
    except BadInput as exc:
        await access.count(request, "bad_form")
        return await announcements_page(request, problem=_in_form_words(str(exc)), form=fields)
    if repeat:
        said = f"was made moments ago ({announcement.state}): nothing new was sent"
    else:
        await run_in_threadpool(access.audited, request, who, [link.id], "announce", f"id={announcement.id}")
        said = "is on its way" if immediate else f"will be sent {local_clock(state.config, who)(announcement.at)}"
    return await announcements_page(request, message=f"Notice {announcement.id} {said}.")


# bridge/announce.py's answers name the command line's options: here they are the form's fields.
_FIELDS = {"--at": "“When to send it”", "--start": "“Starts”", "--end": "“Ends”", "--title": "“Event title”"}


def _in_form_words(said: str) -> str:
    if "the notice has no text" in said:
        return "Write the notice (or, for an event, its title and when it starts)."
    for option, field in _FIELDS.items():
        said = said.replace(option, field)
    return said


async def cancel(request: Request) -> Response:
    who = await access.require(request)
    form = await request.form()
    access.check_csrf(who, form)
    state = request.app.state
    announcement_id = request.path_params["announcement_id"]
    found = await run_in_threadpool(store.load, state.redis, state.keys, announcement_id)
    if found is None:
        raise HTTPException(404, "There is no such announcement (it may have expired).")
    access.link_for(request, who, found.link_id, organiser=True)
    await run_in_threadpool(store.cancel, state.redis, state.keys, announcement_id)
    await run_in_threadpool(access.audited, request, who, [found.link_id], "announce.cancel", f"id={announcement_id}")
    return RedirectResponse("/announcements", 303)


# -- privacy requests ------------------------------------------------------------------------


def _trail(state, who: Viewer) -> list[dict]:
    entries = []
    for link_id in who.organised:
        for entry in audit.entries(state.redis, state.keys, link_id)[-50:]:
            entries.append({"link": link_id, **entry})
    return sorted(entries, key=lambda e: e["id"], reverse=True)[:100]


async def privacy_page(
    request: Request, result=None, problem: str = "", done: str = "", status_code: int | None = None
) -> Response:
    from .app import render

    who = await access.require(request)
    if not who.organised:
        raise HTTPException(403, "Privacy requests are for organisers.")
    trail = await run_in_threadpool(_trail, request.app.state, who)
    return render(
        request,
        "privacy.html",
        {"trail": trail, "result": result, "problem": problem, "done": done},
        status_code=status_code or (400 if problem else 200),
        who=who,
    )


def _user_ref(text: str) -> str | None:
    platform, _, user_id = text.strip().partition(":")
    return f"{platform}:{user_id}" if platform in ("telegram", "discord") and user_id.isdigit() else None


async def privacy_request(request: Request) -> Response:
    from workers import erasure, rights

    who = await access.require(request)
    form = await request.form()
    access.check_csrf(who, form)
    if not who.organised:
        raise HTTPException(403, "Privacy requests are for organisers.")
    state = request.app.state
    user = _user_ref(str(form.get("user") or ""))
    if user is None:
        await access.count(request, "bad_form")
        return await privacy_page(
            request, problem="Write the member as telegram:<number> or discord:<number> (their id, not their name)."
        )
    subject = await run_in_threadpool(access.person, state.redis, state.keys, user)
    mine = who.organised

    def export() -> dict:
        # Only what belongs to the viewer's links: what the member does elsewhere is not theirs to see.
        return rights.export_user(state.redis, state.keys, state.config, user, state.settings.pseudonym_key, links=mine)

    if form.get("action") == "erase":
        if form.get("confirm") != "yes":
            return await privacy_page(request, problem="Tick the box to confirm the erasure: it cannot be undone.")
        # Only a member with something in the viewer's links; the erasure itself is the
        # member's whole one, as /forgetme's (docs/privacy.md says why).
        theirs = await run_in_threadpool(export)
        if not rights.has_footprint(theirs):
            await access.count(request, "erase_refused")
            await run_in_threadpool(access.audited, request, who, mine, "erase.refused", "", subject)
            # The same words whether the member is known elsewhere or nowhere.
            return await privacy_page(request, problem=NOT_IN_YOUR_LINKS, status_code=403)

        def erase() -> None:
            rights.erase_user(state.redis, state.keys, state.config, user)
            erasure.resume(state.redis, state.keys, state.config)

        await run_in_threadpool(erase)
        # Named as the erasure names them ("erased"): their person key must not come back.
        await run_in_threadpool(access.audited, request, who, mine, "erase", "", rights.ERASED)
        # The counts of the viewer's links only (taken before): the erasure's own counts would
        # tell what the member had in other links.
        return await privacy_page(
            request,
            done=f"Erased everything twinbridge kept about them, in every link (as /forgetme does). "
            f"In your links: {len(theirs['consent'])} consent record(s), {len(theirs['held_for_approval'])} held "
            f"message(s), {len(theirs['messages_relayed'])} relayed message(s) whose copies are being deleted "
            "where the platforms still allow it.",
        )
    data = await run_in_threadpool(export)
    await run_in_threadpool(access.audited, request, who, mine, "export", "", subject)
    return await privacy_page(request, result=data)


NOT_IN_YOUR_LINKS = (
    "This member has no data in your links, so there is nothing for you to erase. "
    "If they are a member elsewhere, they can say /forgetme themselves, or ask that link's organiser."
)


# -- health ----------------------------------------------------------------------------------


async def health_page(request: Request) -> Response:
    from bridge import status

    from .app import render

    who = await access.require(request)
    state = request.app.state
    report = await run_in_threadpool(status.gather, state.redis, state.keys, state.settings, state.config)
    report = status.finish(report)
    mine = [link for link in report["links"] if link["id"] in who.roles]
    return render(request, "health.html", {"report": report, "links": mine}, who=who)


def routes() -> list[Route]:
    return [
        Route("/links", links_page),
        Route("/announcements", announcements_page),
        Route("/announcements", announce, methods=["POST"]),
        Route("/announcements/{announcement_id}/cancel", cancel, methods=["POST"]),
        Route("/privacy", privacy_page),
        Route("/privacy", privacy_request, methods=["POST"]),
        Route("/health", health_page),
    ]
