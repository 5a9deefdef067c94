"""The console's web application (Starlette): its routes, templates and security headers.

Pages are rendered on the server; htmx (static/htmx.min.js, vendored) swaps the parts that
change (the approval queue polls for new items). Endpoints are async; every Redis call of
the sync client runs in the thread pool, so the event loop never blocks.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from contextlib import asynccontextmanager
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from core.console_access import named, roles
from core.links import LinksConfig
from core.models import PlatformEvent
from core.settings import Settings
from core.storage import console as sessions
from core.storage.keys import Keys
from core.task_queue import TaskQueue

from . import access, pages, queue
from .access import SESSION_COOKIE, SIGNIN_COOKIE, Viewer
from .previews import Previews
from .words import best, words

log = logging.getLogger("twinbridge.console")
HERE = Path(__file__).parent

# No script or style from anywhere else, no framing, no address leaking to other sites (a
# sign-in link's token is in its address). htmx needs no eval; inline styles stay off.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def render(request: Request, name: str, context: dict, status_code: int = 200, who: Viewer | None = None) -> Response:
    language = who.language if who else best(request.headers.get("accept-language", ""))
    response = request.app.state.templates.TemplateResponse(
        request,
        name,
        {"who": who, "t": words(language), "language": language, **context},
        status_code=status_code,
    )
    response.headers.update(HEADERS)
    return response


# -- signing in and out ----------------------------------------------------------------------


async def home(request: Request) -> Response:
    who = await access.viewer(request)
    if who is not None:
        return RedirectResponse("/links", 303)
    return render(request, "home.html", {})


async def signin_page(request: Request) -> Response:
    # Opening the link signs nobody in: a link preview (Telegram fetches one) or a
    # prefetching browser must not spend it. The button posts it.
    form_token = secrets.token_urlsafe(24)
    response = render(request, "signin.html", {"token": request.path_params["token"], "csrf": form_token})
    response.set_cookie(
        SIGNIN_COOKIE,
        form_token,
        max_age=Keys.CONSOLE_SIGNIN_TTL,
        httponly=True,
        secure=access.secure(request),
        samesite="strict",
        path="/signin",
    )
    return response


async def signin(request: Request) -> Response:
    form = await request.form()
    expected = request.cookies.get(SIGNIN_COOKIE, "")
    sent = form.get("csrf") or ""
    if not expected or not isinstance(sent, str) or not secrets.compare_digest(sent.encode(), expected.encode()):
        raise HTTPException(403, "csrf")
    state = request.app.state
    token = form.get("token") or ""
    user = await run_in_threadpool(
        sessions.take_signin, state.redis, state.keys, token if isinstance(token, str) else ""
    )
    if user is None or not named(state.config, user):
        await access.count(request, "signin_refused")
        return render(request, "signin_refused.html", {}, status_code=403)
    cookie, session = await run_in_threadpool(sessions.new_session, state.redis, state.keys, user)
    mine = roles(state.config, user)
    who = Viewer(user, session.csrf, mine, access.language_of(state.config, user, mine))
    await run_in_threadpool(access.audited, request, who, list(mine), "signin")
    response = RedirectResponse("/links", 303)
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=Keys.CONSOLE_SESSION_TTL,
        httponly=True,
        secure=access.secure(request),
        samesite="lax",
    )
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


async def signout(request: Request) -> Response:
    who = await access.require(request)
    access.check_csrf(who, await request.form())
    state = request.app.state
    await run_in_threadpool(sessions.end_session, state.redis, state.keys, request.cookies.get(SESSION_COOKIE, ""))
    await run_in_threadpool(access.audited, request, who, list(who.roles), "signout")
    response = RedirectResponse("/", 303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# -- the approval queue ----------------------------------------------------------------------


async def queue_index(request: Request) -> Response:
    who = await access.require(request)
    state = request.app.state
    counts = {}
    for link_id in who.moderated:
        link = state.config.known_link(link_id)
        counts[link_id] = len(await run_in_threadpool(queue.waiting, state.redis, state.keys, link))
    if len(counts) == 1:
        return RedirectResponse(f"/queue/{next(iter(counts))}", 303)
    return render(request, "queue_index.html", {"counts": counts}, who=who)


async def _queue_context(request: Request, who: Viewer, link_id: str) -> dict:
    state = request.app.state
    link = access.link_for(request, who, link_id, moderator=True)
    items = await run_in_threadpool(queue.waiting, state.redis, state.keys, link)
    return {
        "link": link,
        "items": items,
        "signature": queue.signature(items),
        "languages": queue.languages_across(state.config, link),
        "when": pages.local_clock(state.config, who),
    }


async def queue_page(request: Request) -> Response:
    who = await access.require(request)
    context = await _queue_context(request, who, request.path_params["link_id"])
    return render(request, "queue.html", context, who=who)


async def queue_items(request: Request) -> Response:
    """The list alone, for htmx's polling: 204 (nothing to swap) when it has not changed."""
    who = await access.require(request)
    context = await _queue_context(request, who, request.path_params["link_id"])
    if request.query_params.get("known") == context["signature"]:
        return Response(status_code=204, headers=HEADERS)
    return render(request, "_queue_items.html", context, who=who)


async def translation(request: Request) -> Response:
    """A held message's translation preview (htmx loads it into its item)."""
    who = await access.require(request)
    state = request.app.state
    link = access.link_for(request, who, request.path_params["link_id"], moderator=True)
    hold_id = request.path_params["hold_id"][:40]
    stored = await run_in_threadpool(queue.stored, state.redis, state.keys, hold_id, link.id)
    found: list[dict] = []
    if stored is not None and state.previews.available(link) and stored.get("preview"):
        event = PlatformEvent.from_dict(stored["event"])
        found = await run_in_threadpool(state.previews.of, link, hold_id, stored["preview"], event)
    context = {"found": found, "available": state.previews.available(link)}
    return render(request, "_translation.html", context, who=who)


async def _decide(request: Request, who: Viewer, link_id: str, name: str, hold_ids: list[str]) -> int:
    state = request.app.state
    handed = 0
    for hold_id in hold_ids:
        if not await run_in_threadpool(queue.belongs, state.redis, state.keys, hold_id, link_id):
            continue  # decided already (or not this link's): nothing to hand over
        await state.ingress.command(queue.decision(who.user, name, hold_id, who.language))
        await run_in_threadpool(access.audited, request, who, [link_id], name, f"id={hold_id}")
        handed += 1
    return handed


async def decide(request: Request) -> Response:
    who = await access.require(request)
    form = await request.form()
    access.check_csrf(who, form)
    link_id = request.path_params["link_id"]
    access.link_for(request, who, link_id, moderator=True)
    name, hold_id = form.get("decision"), form.get("hold")
    if name not in queue.DECISIONS or not isinstance(hold_id, str) or not hold_id:
        await access.count(request, "bad_form")
        raise HTTPException(400, "Say approve or reject, for one message.")
    handed = await _decide(request, who, link_id, str(name), [hold_id[:40]])
    if request.headers.get("HX-Request"):
        return render(
            request,
            "_decided.html",
            {"hold_id": hold_id[:40], "name": name, "handed": handed},
            who=who,
        )
    return RedirectResponse(f"/queue/{link_id}", 303)


async def bulk(request: Request) -> Response:
    who = await access.require(request)
    form = await request.form()
    access.check_csrf(who, form)
    link_id = request.path_params["link_id"]
    access.link_for(request, who, link_id, moderator=True)
    hold_ids = [h[:40] for h in form.getlist("hold") if isinstance(h, str) and h][:200]
    await _decide(request, who, link_id, "approve", hold_ids)
    return RedirectResponse(f"/queue/{link_id}", 303)


# -- errors ----------------------------------------------------------------------------------


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 401 and request.headers.get("HX-Request"):
        # A live update after the session ended: the whole page goes to "please sign in".
        return Response(status_code=204, headers={**HEADERS, "HX-Redirect": "/"})
    who = await access.viewer(request) if exc.status_code != 401 else None
    if exc.status_code == 403:
        log.info("console: refused %s %s (%s)", request.method, request.url.path.split("/")[1], exc.detail)
        await access.count(request, "refused")
    return render(request, "error.html", {"status": exc.status_code, "detail": exc.detail}, exc.status_code, who=who)


async def redis_away(request: Request, exc: Exception) -> Response:
    """Redis does not answer: a page saying so (and the status code a proxy understands), not a crash."""
    log.warning("console: Redis does not answer (%s)", type(exc).__name__)
    return render(request, "error.html", {"status": 503, "detail": REDIS_AWAY}, 503)


REDIS_AWAY = (
    "The bridge's database (Redis) does not answer right now. "
    "Try again in a minute; if it lasts, tell whoever runs the bridge."
)


def create_app(settings: Settings, config: LinksConfig, *, redis=None, aredis=None) -> Starlette:
    """The console for ``config``; ``redis`` (sync) and ``aredis`` (asyncio), both decoding
    responses, default to clients of settings.redis_url."""
    from bridge.ingress import Ingress
    from core import persons
    from core.liveness import Heartbeat
    from core.stats import Stats
    from core.storage import heartbeats
    from core.storage.connection import redis_client

    # Person keys (the audit's names for people) as the workers make them.
    persons.use_secret(settings.pseudonym_key)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        # Its heartbeat: `twinbridge status` lists it, `twinbridge health --role console` checks it.
        beat = await run_in_threadpool(Heartbeat(app.state.redis, keys, heartbeats.CONSOLE).start)
        try:
            yield
        finally:
            await run_in_threadpool(beat.stop)
            await app.state.aredis.aclose()
            app.state.redis.close()

    routes = [
        Route("/", home),
        Route("/signin/{token}", signin_page),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/queue", queue_index),
        Route("/queue/{link_id}", queue_page),
        Route("/queue/{link_id}/items", queue_items),
        Route("/queue/{link_id}/decide", decide, methods=["POST"]),
        Route("/queue/{link_id}/bulk", bulk, methods=["POST"]),
        Route("/queue/{link_id}/translation/{hold_id}", translation),
        *pages.routes(),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    handlers = {HTTPException: http_error, RedisConnectionError: redis_away, RedisTimeoutError: redis_away}
    app = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    app.state.settings = settings
    app.state.config = config
    app.state.keys = keys = Keys(settings.redis_prefix)
    app.state.redis = redis or redis_client(settings.redis_url, decode_responses=True, socket_connect_timeout=5)
    app.state.aredis = aredis or redis_client(
        settings.redis_url, decode_responses=True, socket_connect_timeout=5, asyncio=True
    )
    app.state.ingress = Ingress(app.state.aredis, keys, TaskQueue.for_settings(settings))
    app.state.stats = Stats(app.state.aredis, keys)
    app.state.previews = Previews(settings, config)
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    env.filters["tojson_pretty"] = lambda value: json.dumps(value, indent=2, ensure_ascii=False)
    app.state.templates = Jinja2Templates(env=env)
    app.state.started = time.time()
    return app
