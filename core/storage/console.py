"""The web console's sign-in links and sessions (issue 18), in Redis (sync client).

Neither the link's token nor the session's cookie is stored: only their SHA-256, so a copy
of Redis signs nobody in. A sign-in link is taken once (GETDEL: two tabs opening it at once
get one session) and expires after ten minutes; a session expires after a working day.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass

from .keys import Keys


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_signin(redis, keys: Keys, user: str) -> str:
    """A new one-time sign-in token for ``user`` ("telegram:111"); only its hash is stored."""
    token = secrets.token_urlsafe(32)
    redis.set(keys.console_signin(_hash(token)), json.dumps({"user": user}), ex=Keys.CONSOLE_SIGNIN_TTL)
    return token


def take_signin(redis, keys: Keys, token: str) -> str | None:
    """Who ``token`` signs in, once: None when it is unknown, used or expired."""
    if not token or len(token) > 200:
        return None
    raw = redis.getdel(keys.console_signin(_hash(token)))
    return json.loads(raw)["user"] if raw else None


@dataclass(frozen=True)
class Session:
    user: str
    csrf: str
    started: float


def new_session(redis, keys: Keys, user: str) -> tuple[str, Session]:
    """A session for ``user``: (the cookie's value, the session)."""
    cookie = secrets.token_urlsafe(32)
    session = Session(user, secrets.token_urlsafe(32), time.time())
    redis.set(
        keys.console_session(_hash(cookie)),
        json.dumps({"user": user, "csrf": session.csrf, "started": session.started}),
        ex=Keys.CONSOLE_SESSION_TTL,
    )
    return cookie, session


def session(redis, keys: Keys, cookie: str) -> Session | None:
    if not cookie or len(cookie) > 200:
        return None
    raw = redis.get(keys.console_session(_hash(cookie)))
    if not raw:
        return None
    data = json.loads(raw)
    return Session(data["user"], data["csrf"], data["started"])


def end_session(redis, keys: Keys, cookie: str) -> None:
    if cookie and len(cookie) <= 200:
        redis.delete(keys.console_session(_hash(cookie)))
