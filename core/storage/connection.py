"""REDIS_URL, read in one place: every Redis client and the Celery broker are made from it here.

Three forms (docs/operations.md, "More than one machine"):

- ``redis://[[user]:password@]host[:port][/db]`` and ``unix:///path?db=N``: one Redis.
- ``rediss://…``: the same over TLS. redis-py's query options choose the checks:
  ``ssl_cert_reqs`` (``required``, the default; ``optional``; ``none``), ``ssl_ca_certs``,
  ``ssl_certfile``, ``ssl_keyfile``, ``ssl_check_hostname``. The Celery broker gets the
  same options (``broker_use_ssl``), so workers and adapters check certificates alike.
- Redis Sentinel, in kombu's form (what Celery itself accepts), one ``sentinel://`` per
  sentinel joined by ``;``, the database after the last one, the master's name as the
  query option ``master_name`` (or ``TWINBRIDGE_REDIS_SENTINEL_MASTER``, which
  core/settings.py folds into the URL when the URL names none):
  ``sentinel://:PASSWORD@s1:26379;sentinel://s2:26379;sentinel://s3:26379/0?master_name=mymaster``.
  A password in the URL is the master's; ``sentinel_password`` (query) is the sentinels'
  own, when they require one.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import redis as redis_lib
from redis import asyncio as aioredis
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.connection import parse_url
from redis.sentinel import Sentinel

SCHEMES = ("redis", "rediss", "unix", "sentinel")
SENTINEL_OPTIONS = ("master_name", "sentinel_password")
SSL_OPTIONS = ("ssl_cert_reqs", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_check_hostname")
_CERT_REQS = {"none": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}
EXAMPLES = (
    "redis://HOST:6379/0, rediss://HOST:6380/0?ssl_ca_certs=/path/ca.pem, or "
    "sentinel://S1:26379;sentinel://S2:26379/0?master_name=NAME"
)


class RedisUrlError(ValueError):
    """REDIS_URL cannot be used; the message says why and what a good one looks like
    (never the URL itself: it may carry a password)."""


@dataclass(frozen=True)
class RedisTarget:
    """What a REDIS_URL names."""

    scheme: str
    url: str  # redis/rediss/unix: the URL itself
    db: int = 0
    sentinels: tuple[tuple[str, int], ...] = ()
    master_name: str | None = None
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    sentinel_password: str | None = field(default=None, repr=False)
    ssl: dict[str, Any] = field(default_factory=dict)

    @property
    def is_sentinel(self) -> bool:
        return self.scheme == "sentinel"


def parse_redis_url(url: str, sentinel_master: str | None = None) -> RedisTarget:
    """``url`` as a :class:`RedisTarget`; :class:`RedisUrlError` when it is malformed.
    ``sentinel_master``: the master's name when the URL's query names none."""
    url = (url or "").strip()
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in SCHEMES:
        raise RedisUrlError(f"REDIS_URL must start with redis://, rediss://, unix:// or sentinel:// (e.g. {EXAMPLES})")
    if scheme == "sentinel":
        return _parse_sentinel(url, sentinel_master)
    if ";" in url:
        raise RedisUrlError(f"REDIS_URL: several addresses joined by ';' are for Sentinel only (e.g. {EXAMPLES})")
    try:
        kwargs = parse_url(url)
        parts = urlsplit(url)
        if scheme != "unix" and not parts.hostname:
            raise ValueError("no host")
        if scheme != "unix" and parts.path.strip("/") and not parts.path.strip("/").isdigit():
            raise ValueError("the database, after the host, is a number")
        _ = parts.port  # raises on a port that is not a number
    except (ValueError, TypeError) as exc:
        raise RedisUrlError(f"REDIS_URL is malformed ({_reason(exc)}); e.g. {EXAMPLES}") from None
    query = dict(parse_qsl(urlsplit(url).query))
    ssl_options: dict[str, Any] = {}
    for name, value in query.items():
        if name in SSL_OPTIONS:
            if scheme != "rediss":
                raise RedisUrlError(f"REDIS_URL: {name} needs a TLS URL (rediss://…)")
            ssl_options[name] = _ssl_value(name, value)
        elif name in SENTINEL_OPTIONS:
            raise RedisUrlError(f"REDIS_URL: {name} is for Sentinel URLs (sentinel://…)")
    if scheme == "rediss":
        ssl_options.setdefault("ssl_cert_reqs", ssl.CERT_REQUIRED)
    return RedisTarget(
        scheme=scheme,
        url=url,
        db=int(kwargs.get("db") or 0),
        username=kwargs.get("username"),
        password=kwargs.get("password"),
        ssl=ssl_options,
    )


def _parse_sentinel(url: str, sentinel_master: str | None) -> RedisTarget:
    parts = url.split(";")
    query: dict[str, str] = {}
    sentinels: list[tuple[str, int]] = []
    username = password = None
    db = 0
    for i, part in enumerate(parts):
        if not part.lower().startswith("sentinel://"):
            raise RedisUrlError(
                f"REDIS_URL: every address of a Sentinel URL starts with sentinel:// (joined by ';'); e.g. {EXAMPLES}"
            )
        try:
            split = urlsplit(part)
            host, port = split.hostname, split.port or 26379
        except ValueError as exc:
            raise RedisUrlError(
                f"REDIS_URL: a sentinel address is malformed ({_reason(exc)}); e.g. {EXAMPLES}"
            ) from None
        if not host:
            raise RedisUrlError(f"REDIS_URL: a sentinel address has no host; e.g. {EXAMPLES}")
        if split.password is not None or split.username:
            # The master's credentials, where kombu (the Celery broker) reads them: the first address.
            if i:
                raise RedisUrlError("REDIS_URL: a Sentinel URL's user and password go on its first address")
            username, password = unquote(split.username or "") or None, unquote(split.password or "") or None
        path = split.path.strip("/")
        if path:
            if i != len(parts) - 1 or not path.isdigit():
                raise RedisUrlError(
                    f"REDIS_URL: the database number (a number) goes after the last sentinel only; e.g. {EXAMPLES}"
                )
            db = int(path)
        for name, value in parse_qsl(split.query, keep_blank_values=True):
            if name not in SENTINEL_OPTIONS:
                raise RedisUrlError(
                    f"REDIS_URL: unknown Sentinel option {name!r} (known: {', '.join(SENTINEL_OPTIONS)})"
                )
            query[name] = value
        sentinels.append((host, port))
    master = query.get("master_name") or sentinel_master
    if not master:
        raise RedisUrlError(
            "REDIS_URL is a Sentinel URL without the master's name: add ?master_name=NAME "
            "or set TWINBRIDGE_REDIS_SENTINEL_MASTER"
        )
    return RedisTarget(
        scheme="sentinel",
        url=url,
        db=db,
        sentinels=tuple(sentinels),
        master_name=master,
        username=username,
        password=password,
        sentinel_password=query.get("sentinel_password") or None,
    )


def _ssl_value(name: str, value: str) -> Any:
    if name == "ssl_cert_reqs":
        if value.lower() not in _CERT_REQS:
            raise RedisUrlError("REDIS_URL: ssl_cert_reqs must be required, optional or none")
        return _CERT_REQS[value.lower()]
    if name == "ssl_check_hostname":
        if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise RedisUrlError("REDIS_URL: ssl_check_hostname must be true or false")
        return value.lower() in ("true", "1", "yes")
    return value


def _reason(exc: Exception) -> str:
    # redis-py's messages name what is wrong without repeating the URL.
    text = str(exc)
    return text if "://" not in text and "@" not in text else exc.__class__.__name__


def with_sentinel_master(url: str, master: str | None) -> str:
    """``url`` naming ``master`` (TWINBRIDGE_REDIS_SENTINEL_MASTER) when it is a Sentinel
    URL that names no master of its own; any other URL unchanged."""
    if not master or not url.strip().lower().startswith("sentinel://") or "master_name=" in url:
        return url
    return f"{url}{'&' if '?' in url.rsplit(';', 1)[-1] else '?'}master_name={master}"


def redis_client(url: str, *, asyncio: bool = False, **kwargs: Any):
    """A redis-py client (``asyncio``: redis.asyncio) for REDIS_URL ``url``, whatever its
    form; ``kwargs`` go to the client (decode_responses, socket timeouts, …). For
    Sentinel, the client asks the sentinels where the master is and asks again after a
    failover."""
    target = parse_redis_url(url)
    if not target.is_sentinel:
        module = aioredis if asyncio else redis_lib
        return module.Redis.from_url(target.url, **kwargs)
    sentinel_kwargs: dict[str, Any] = {
        name: kwargs[name] for name in ("socket_timeout", "socket_connect_timeout") if name in kwargs
    }
    if target.sentinel_password:
        sentinel_kwargs["password"] = target.sentinel_password
    factory = AsyncSentinel if asyncio else Sentinel
    sentinel = factory(list(target.sentinels), sentinel_kwargs=sentinel_kwargs or None)
    return sentinel.master_for(
        str(target.master_name), db=target.db, username=target.username, password=target.password, **kwargs
    )


def redis_pool_client(url: str, *, max_connections: int, timeout: float, **kwargs: Any):
    """An asyncio client whose calls wait (up to ``timeout``) for one of
    ``max_connections`` connections instead of failing under a burst (the adapters').
    Through Sentinel the pool follows the master instead (redis-py has no blocking
    Sentinel pool; it is not capped, so it never fails for want of a connection)."""
    target = parse_redis_url(url)
    if target.is_sentinel:
        return redis_client(url, asyncio=True, **kwargs)
    pool = aioredis.BlockingConnectionPool.from_url(
        target.url, max_connections=max_connections, timeout=timeout, **kwargs
    )
    return aioredis.Redis(connection_pool=pool)


def celery_broker(url: str) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """(broker_url, broker_transport_options, broker_use_ssl) for Celery from REDIS_URL
    ``url``: kombu's own Sentinel form with ``master_name`` as a transport option, and a
    rediss URL's certificate options as ``broker_use_ssl`` (kombu would otherwise skip
    the certificate check)."""
    target = parse_redis_url(url)
    if target.is_sentinel:
        options: dict[str, Any] = {"master_name": target.master_name}
        if target.sentinel_password:
            options["sentinel_kwargs"] = {"password": target.sentinel_password}
        broker = ";".join(part.split("?", 1)[0] for part in target.url.split(";"))
        return broker, options, None
    if target.scheme == "rediss":
        return target.url.split("?", 1)[0], {}, dict(target.ssl)
    return target.url, {}, None
