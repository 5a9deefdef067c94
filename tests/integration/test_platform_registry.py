"""Adding a platform is one entry in the registry (bridge/platforms.py): `twinbridge run`
builds the adapter the entry names, hands it what every adapter gets, runs it under the
platform's lease and stops it; a platform whose token is unset is never imported."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from bridge.ingress import Ingress
from bridge.platforms import PLATFORMS, Platform
from bridge.runner import FatalStartError, adapter_factories, run
from core.links import LinksConfig
from core.settings import Settings
from tests.helpers import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@dataclass(frozen=True)
class MatrixSettings(Settings):
    """A third platform's token, as core/settings.py would carry it."""

    matrix_bot_token: str | None = None


STARTED: list[FakeMatrixAdapter] = []


class FakeMatrixAdapter:
    """A third platform's adapter (bridge.adapter.Adapter): records what the runner does."""

    platform = "matrix"

    def __init__(self, *, settings, config, redis, keys, ingress, media=None, avatars=None):
        self.settings, self.ingress = settings, ingress
        self.stopped = False
        self._closed = asyncio.Event()

    async def start(self) -> None:
        STARTED.append(self)

    async def stop(self) -> None:
        self.stopped = True
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()


MATRIX = Platform("matrix", "matrix_bot_token", f"{__name__}:FakeMatrixAdapter")  # the one line


async def test_a_platform_registered_with_one_entry_is_started_under_its_lease_and_stopped(
    redis_url, prefix, keys, aredis, tmp_path
):
    STARTED.clear()
    settings = MatrixSettings(redis_url=redis_url, redis_prefix=prefix, matrix_bot_token="matrix-token")
    config = LinksConfig(path=tmp_path / "links.yaml", communities={}, links=())
    stop = asyncio.Event()
    running = asyncio.create_task(run(settings, config, stop, platforms=PLATFORMS + (MATRIX,)))
    try:
        await wait_until(lambda: STARTED, timeout=10, message="the matrix adapter started")
        adapter = STARTED[0]
        assert adapter.settings is settings and isinstance(adapter.ingress, Ingress)
        assert await aredis.get(keys.adapter_lease("matrix"))  # run under the platform's lease
        assert not await aredis.exists(keys.adapter_lease("telegram"), keys.adapter_lease("discord"))
    finally:
        stop.set()
        await asyncio.wait_for(running, 20)
    assert len(STARTED) == 1 and STARTED[0].stopped
    assert not await aredis.exists(keys.adapter_lease("matrix"))  # released for a standing-by process


def test_an_unset_token_leaves_the_platform_unimported_and_a_set_one_must_load():
    missing = Platform("matrix", "matrix_bot_token", "twinbridge_matrix_not_installed.adapter:MatrixAdapter")
    assert adapter_factories(MatrixSettings(), PLATFORMS + (missing,)) == []
    with_telegram = MatrixSettings(telegram_bot_token="123:abc")
    assert [name for name, _ in adapter_factories(with_telegram, PLATFORMS + (missing,))] == ["telegram"]
    with pytest.raises(
        FatalStartError, match="MATRIX_BOT_TOKEN is set but the matrix adapter cannot be loaded"
    ) as caught:
        adapter_factories(MatrixSettings(matrix_bot_token="matrix-token"), PLATFORMS + (missing,))
    assert "matrix-token" not in str(caught.value)


def test_the_registry_names_the_platforms_chats_may_be_on():
    from core.models import PLATFORMS as NAMES

    assert tuple(p.name for p in PLATFORMS) == NAMES
    assert all(isinstance(getattr(Settings(), p.token_setting, "absent"), (str, type(None))) for p in PLATFORMS)
    assert [p.load().__name__ for p in PLATFORMS] == ["TelegramAdapter", "DiscordAdapter"]
