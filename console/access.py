"""Sessions, CSRF and who sees what, for every page (issue 18).

A session is a random cookie whose hash names a Redis record (core/storage/console.py):
HttpOnly, SameSite=Lax, Secure when the console is reached over https, expiring with
the record. Every form carries the session's CSRF token; a POST without the right one
is refused (403) before anything is done. A user sees only the links the configuration
names them in, and a moderator decides only in the links they moderate: a page of
another link answers 403, however its address was typed.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request

from core import audit
from core.console_access import MODERATOR, ORGANISER, roles
from core.links import LinksConfig
from core.persons import person
from core.storage import console as sessions
from core.storage.keys import Keys

SESSION_COOKIE = "tb_console"
# Before signing in: the sign-in form's own CSRF token (a double-submitted cookie).
SIGNIN_COOKIE = "tb_console_signin"


@dataclass(frozen=True)
class Viewer:
    user: str  # "telegram:111"
    csrf: str
    roles: dict[str, frozenset[str]]  # link id -> organiser / moderator
    language: str

    def moderates(self, link_id: str) -> bool:
        return MODERATOR in self.roles.get(link_id, frozenset())

    def organises(self, link_id: str) -> bool:
        return ORGANISER in self.roles.get(link_id, frozenset())

    @property
    def moderated(self) -> list[str]:
        return [link_id for link_id, mine in self.roles.items() if MODERATOR in mine]

    @property
    def organised(self) -> list[str]:
        return [link_id for link_id, mine in self.roles.items() if ORGANISER in mine]


def language_of(config: LinksConfig, user: str, mine: dict[str, frozenset[str]]) -> str:
    """The viewer's language: their community's (where they organise one), else that of the
    first community of their links with a chat on their platform; English otherwise."""
    for community in config.communities.values():
        if user in community.organisers:
            return community.language
    platform = user.partition(":")[0]
    for link_id in mine:
        link = config.known_link(link_id)
        for community_id in link.communities:
            community = config.communities[community_id]
            if any(chat.platform == platform for chat in community.chats):
                return community.language
    return "en"


def secure(request: Request) -> bool:
    """Whether cookies must be Secure: the console is reached (or published) over https."""
    published = request.app.state.settings.console_url
    return request.url.scheme == "https" or published.startswith("https://")


async def viewer(request: Request) -> Viewer | None:
    state = request.app.state
    found = await run_in_threadpool(sessions.session, state.redis, state.keys, request.cookies.get(SESSION_COOKIE, ""))
    if found is None:
        return None
    mine = roles(state.config, found.user)
    if not mine:  # taken out of the configuration since signing in
        return None
    return Viewer(found.user, found.csrf, mine, language_of(state.config, found.user, mine))


async def require(request: Request) -> Viewer:
    """The signed-in viewer, or 401 (the error page offers how to sign in)."""
    found = await viewer(request)
    if found is None:
        raise HTTPException(401)
    return found


def check_csrf(who: Viewer, form) -> None:
    """403 unless the form carries the session's CSRF token."""
    sent = form.get("csrf") or ""
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), who.csrf.encode()):
        raise HTTPException(403, "csrf")


def link_for(request: Request, who: Viewer, link_id: str, *, moderator: bool = False, organiser: bool = False):
    """The link ``link_id`` if ``who`` may see it (as its moderator / organiser when asked), else 403."""
    link = request.app.state.config.link(link_id)
    if link is None or link_id not in who.roles:
        raise HTTPException(403)
    if moderator and not who.moderates(link_id):
        raise HTTPException(403)
    if organiser and not who.organises(link_id):
        raise HTTPException(403)
    return link


async def count(request: Request, name: str) -> None:
    """Count a refusal or bad input (``console.<name>`` in the counters `twinbridge status` keeps)."""
    await request.app.state.stats.incr(f"console.{name}")


def audited(request: Request, who: Viewer, link_ids, action: str, detail: str = "", subject: str = "") -> None:
    """Note a console action in each of ``link_ids``' audit logs (people by person key only)."""
    state = request.app.state
    keys: Keys = state.keys
    by = person(state.redis, keys, who.user)
    for link_id in link_ids:
        link = state.config.known_link(link_id)
        audit.record(
            state.redis,
            keys,
            link_id,
            f"console.{action}",
            subject=subject,
            detail=f"{detail} by={by}".strip(),
            retention_days=link.policy.retention_days,
        )
