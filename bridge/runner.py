"""`twinbridge run`: start the adapters that have tokens and keep them running.

This is the adapters' composition root: the platforms come from
:mod:`bridge.platforms`, and each adapter is handed its dependencies here. Each
adapter is supervised: if its connection dies it is rebuilt with exponential
backoff; a token the platform rejects stops the run with a clear message.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import Sequence

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import AsyncRetrying, retry_if_exception_type

from core.backoff import Backoff, log_retry
from core.metrics import serve as serve_metrics
from . import metrics
from .adapter import AdapterStartError
from .ingress import Ingress, IngressSweeper
from .media.files import MediaFile, media_dir, remove_stale
from .media.source import MediaSource
from .avatars.server import serve as serve_avatars
from .avatars.service import AvatarService
from core.storage.connection import redis_pool_client
from core.storage.keys import Keys
from .lease import AdapterLease, process_identity
from .liveness import Liveness
from .platforms import PLATFORMS, AdapterFactory, Platform
from core.links import LinksConfig
from core.settings import Settings, _strip_password
from core.stats import Stats
from core.task_queue import TaskQueue
from .waiting import wait_event

log = logging.getLogger("twinbridge.run")

# 1, 2, 4, ... seconds up to a minute, with jitter so that restarted processes do
# not reconnect in lockstep.
RECONNECT_BACKOFF = Backoff(first=1.0, cap=60.0, jitter=(0.8, 1.2))


# Shutdown (SIGTERM, SIGINT): the adapters stop side by side, each within ADAPTER_STOP:
# Telegram stops polling first (the batch in hand is stored, no further getUpdates), then
# its outbox lanes finish the post in hand; Discord's lanes finish the post in hand, then
# the gateway closes (its events are not delivered again, so it listens to the last).
# Then what the ingress still has under way is let finish (INGRESS_DRAIN). STOP_DEADLINE
# is the most that takes: a container's stop grace period must be longer (docs/operations.md).
ADAPTER_STOP = 15.0
INGRESS_DRAIN = 5.0
STOP_DEADLINE = ADAPTER_STOP + INGRESS_DRAIN


class FatalStartError(Exception):
    """Raised out of :func:`run` when an adapter can never start (exit code 2)."""


class _Stopped(Exception):
    """``stop`` was set while waiting to try again."""


async def wait_for_redis(client, url: str, stop: asyncio.Event) -> bool:
    """Ping until Redis answers (True) or ``stop`` is set (False)."""

    async def sleep_unless_stopped(seconds: float) -> None:
        if not await wait_event(stop, seconds):
            return
        raise _Stopped

    retrying = AsyncRetrying(
        retry=retry_if_exception_type((RedisConnectionError, RedisTimeoutError, OSError)),
        wait=RECONNECT_BACKOFF,
        sleep=sleep_unless_stopped,
        reraise=True,
        before_sleep=log_retry(
            log, "Redis at %s is unreachable (%s); retrying in %.0fs", _strip_password(url), level=logging.ERROR
        ),
    )

    async def ping() -> None:  # redis-py's ping is a plain method returning an awaitable: tenacity would not await it
        await client.ping()

    try:
        await retrying(ping)
    except _Stopped:
        return False
    return True


def _scrub(file: MediaFile) -> MediaFile:
    """bridge.media.scrub.scrub, imported on the first file: Pillow and mutagen are ~4 MB of
    memory that a process relaying no file never needs."""
    from .media.scrub import scrub

    return scrub(file)


def adapter_factories(
    settings: Settings, platforms: Sequence[Platform] = PLATFORMS
) -> list[tuple[str, AdapterFactory]]:
    """(platform, adapter factory) for each platform whose token is set; only
    those platforms' adapters (and their client libraries) are imported."""
    factories = []
    for platform in platforms:
        if not platform.token(settings):
            continue
        try:
            factories.append((platform.name, platform.load()))
        except ImportError as exc:
            raise FatalStartError(
                f"{platform.token_setting.upper()} is set but the {platform.name} adapter cannot "
                f"be loaded ({type(exc).__name__}: {exc}): install its dependencies"
            ) from None
    return factories


def _token_of(name: str, platforms: Sequence[Platform], settings: Settings) -> str | None:
    """The bot token of platform ``name`` (its lease is held per token, by a hash)."""
    return next((p.token(settings) for p in platforms if p.name == name), None)


async def supervise(
    platform: str,
    build,
    stop: asyncio.Event,
    ready: asyncio.Event | None = None,
    lease: AdapterLease | None = None,
    liveness: Liveness | None = None,
) -> None:
    """Run one adapter until ``stop``; rebuild it with backoff when it dies. With a
    ``lease``, only while this process holds it (another `twinbridge run` may); with
    ``liveness``, its heartbeat says it is connected while it is."""
    delays = RECONNECT_BACKOFF.delays()
    while not stop.is_set():
        if lease is not None and not await lease.acquire(stop):
            break
        adapter = build()
        keeper = asyncio.ensure_future(lease.keep() if lease is not None else asyncio.Event().wait())
        try:
            await adapter.start()
            log.info("%s adapter connected", platform)
            if liveness is not None:
                await liveness.up(platform)
            metrics.connected(platform, True)
            if ready is not None:
                ready.set()
            delays = RECONNECT_BACKOFF.delays()  # a good connection resets the backoff
            closed = asyncio.ensure_future(adapter.wait_closed())
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({closed, stopping, keeper}, return_when=asyncio.FIRST_COMPLETED)
            if stopping.done():
                closed.cancel()
                break
            stopping.cancel()
            if keeper.done():
                closed.cancel()
                log.warning("%s adapter: lost its lease to another `twinbridge run`; stopping it here", platform)
                continue
            exc = closed.exception()
            log.warning(
                "%s adapter stopped (%s); restarting", platform, exc.__class__.__name__ if exc else "connection closed"
            )
        except AdapterStartError as exc:
            if not exc.retryable:
                raise FatalStartError(str(exc)) from None
            log.error("%s adapter cannot start: %s", platform, exc)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            log.error("%s adapter lost Redis (%s)", platform, exc.__class__.__name__)
        except Exception:  # a crash restarts the adapter instead of the process
            log.exception("%s adapter crashed", platform)
        finally:
            metrics.connected(platform, False)
            if liveness is not None:
                await liveness.down(platform)
            try:
                await asyncio.wait_for(adapter.stop(), timeout=ADAPTER_STOP)
            except Exception:
                log.debug("error while stopping the %s adapter", platform, exc_info=True)
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            if lease is not None:
                await lease.release()  # a standing-by process takes over at once
        if stop.is_set():
            break
        delay = next(delays)
        log.info("restarting the %s adapter in %.0fs", platform, delay)
        await wait_event(stop, delay)
    log.info("%s adapter stopped", platform)


async def run(
    settings: Settings,
    config: LinksConfig,
    stop: asyncio.Event | None = None,
    platforms: Sequence[Platform] = PLATFORMS,
) -> None:
    """Run the adapters of the ``platforms`` whose tokens are set until ``stop``."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()

    def stopping(sig: signal.Signals) -> None:
        if not stop.is_set():
            log.info(
                "%s: stopping; the adapters take nothing more in and finish what they hold (up to %.0fs)",
                sig.name,
                STOP_DEADLINE,
            )
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stopping, sig)
        except (NotImplementedError, RuntimeError):  # not the main thread
            pass
    # A blocking pool: under a burst, a call waits for a free connection instead of
    # failing with MaxConnectionsError (which tore the adapters down under load).
    redis = redis_pool_client(
        settings.redis_url,
        decode_responses=True,
        max_connections=200,
        timeout=30,
        health_check_interval=30,
        socket_connect_timeout=5,
    )
    # The metrics endpoint answers from the start (Redis down: twinbridge_redis_up 0).
    metrics.know_links(link.id for link in config.links)
    for platform in platforms:
        if platform.token(settings):
            metrics.connected(platform.name, False)
    endpoint = serve_metrics(settings, [link.id for link in config.links], "twinbridge run")
    try:
        if not await wait_for_redis(redis, settings.redis_url, stop):
            return
        keys = Keys(settings.redis_prefix)
        queue = TaskQueue.for_settings(settings)
        identity = process_identity()
        # The adapters run only while this process holds their platform's lease (below).
        ingress = Ingress(
            redis, keys, queue, Stats(redis, keys), retention_days=config.retention_days, identity=identity, leased=True
        )
        sweeper = IngressSweeper(redis, keys, queue)
        # One per process: each adapter registers its platform's fetcher, each sender fetches
        # from the source platform's (bridge/media); every fetched file loses its image
        # metadata (GPS, camera serial, …) before it is uploaded, under every policy.
        media = MediaSource(media_dir(settings.media_dir), scrub=_scrub, stats=Stats(redis, keys))
        stale = remove_stale(media.directory)  # left by a process killed mid-crossing
        if stale:
            log.info("removed %d file(s) left in the media directory by a stopped process", stale)
        # Avatars (issue 15): the Telegram adapter registers its profile-photo fetcher, the
        # Discord sender asks for a post's avatar URL; served here under TWINBRIDGE_PUBLIC_URL.
        avatars = AvatarService(redis, keys, settings.public_url, Stats(redis, keys))
        factories = adapter_factories(settings, platforms)  # imports their client libraries
        liveness = Liveness(redis, keys, identity)  # `twinbridge status` and `health` read it
        tasks = [
            asyncio.create_task(sweeper.run(stop), name="ingress-sweeper"),
            asyncio.create_task(liveness.run(stop), name="heartbeats"),
        ]
        if avatars.serving:
            tasks.append(
                asyncio.create_task(
                    serve_avatars(avatars, settings.avatar_host, settings.avatar_port, stop), name="avatar-server"
                )
            )
        # What is loaded by now (the client libraries' types, the config) lives as long
        # as the process: out of the collector's sight, a full collection takes
        # microseconds instead of ~130 ms stalling the event loop (the benchmark saw
        # such stalls as latency spikes and as two sends booked 1.05 s apart arriving
        # 0.9 s apart: a 429).
        gc.freeze()
        for platform, factory in factories:

            def build(factory=factory):
                return factory(
                    settings=settings,
                    config=config,
                    redis=redis,
                    keys=keys,
                    ingress=ingress,
                    media=media,
                    avatars=avatars,
                )

            lease = AdapterLease(
                redis,
                keys,
                platform,
                identity,
                ttl=settings.adapter_lease,
                token=_token_of(platform, platforms, settings),
            )
            tasks.append(
                asyncio.create_task(
                    supervise(platform, build, stop, lease=lease, liveness=liveness), name=f"supervise-{platform}"
                )
            )
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if task.exception():
                    raise task.exception()
        finally:
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            # The adapters are closed: nothing new comes in. An accept still under way (a
            # Discord listener's, whose event the gateway will not deliver again) is let
            # finish before Redis is closed and the loop's tasks are cancelled.
            left = await ingress.drain(INGRESS_DRAIN)
            if left:
                log.warning("stopped with %d accept(s) unfinished (Redis unreachable)", left)
    finally:
        await redis.aclose()
        if endpoint is not None:
            await asyncio.to_thread(endpoint.close)
