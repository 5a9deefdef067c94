"""Runtime settings from the environment (and a `.env` file), per the runtime contract.

Only this module reads ``os.environ``; everything else receives a :class:`Settings`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

DEFAULT_TELEGRAM_API_URL = "https://api.telegram.org"
DEFAULT_DISCORD_API_URL = "https://discord.com/api/v10"


@dataclass(frozen=True)
class Settings:
    # The secrets (and the Redis URL, which may carry a password) are left out of repr():
    # a worker's settings travel in Celery's `inspect conf` answer, which a monitor shows.
    config_path: Path = Path("config/links.yaml")
    redis_url: str = field(default="redis://127.0.0.1:6379/0", repr=False)
    telegram_bot_token: str | None = field(default=None, repr=False)
    discord_bot_token: str | None = field(default=None, repr=False)
    telegram_api_url: str = DEFAULT_TELEGRAM_API_URL
    discord_api_url: str = DEFAULT_DISCORD_API_URL
    discord_gateway_url: str | None = None  # None: ask Discord (GET /gateway/bot)
    libretranslate_url: str | None = None
    libretranslate_api_key: str | None = field(default=None, repr=False)
    pseudonym_key: str | None = field(default=None, repr=False)
    # Added to the contract: a prefix for every Redis key the bridge owns, so
    # that several deployments (or test runs) can share one Redis database.
    redis_prefix: str = "tb:"
    log_level: str = "INFO"
    log_format: str = "json"  # json (one object per line) | text (the human format)
    # Added: seconds after which a task a dead worker had taken is handed to
    # another worker (Celery's Redis visibility timeout). Live workers renew the
    # tasks they hold (workers/leases.py), so this bounds recovery after a crash,
    # not how long a task may run.
    visibility_timeout: int = 15
    # Added: the longest a message waits for its translations (seconds); after
    # that it goes out in the original, marked "not translated".
    translation_timeout: float = 20.0
    # Added: Celery's soft and hard time limits of every task (seconds). The soft
    # one puts the task back to run again (workers/app.py); the hard one ends the
    # process running it. Defaults: well above the translation deadline.
    task_soft_time_limit: float = 0.0  # 0: translation_timeout + 40
    task_time_limit: float = 0.0  # 0: the soft limit + 30
    # Added: base URLs replacing a provider's own (a proxy, or a stand-in), as
    # TWINBRIDGE_TRANSLATOR_URLS="google=http://…/m,mymemory=http://…/get".
    translator_endpoints: dict[str, str] = field(default_factory=dict)
    # Added: credentials of the deep-translator providers that need them, read
    # from deep-translator's own variable names (DEEPL_API_KEY, …).
    provider_credentials: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    # Added, for benchmarks only: "off" lifts the bridge's own pacing to the
    # platforms' published limits (to measure the pipeline, not the limits).
    rate_limits: str = "platform"
    # Added: seconds a `twinbridge run` holds a platform's adapter without renewing
    # (a second one stands by; after a crash it takes over within this time).
    adapter_lease: float = 10.0
    # Where files wait between download and upload (issue 15); empty: the system's temp dir.
    media_dir: str = ""
    # Avatars (issue 15): the public base URL under which `twinbridge run` serves Telegram
    # members' profile photos to Discord (empty: neutral avatars only), and where it listens.
    public_url: str = ""
    avatar_host: str = "0.0.0.0"
    avatar_port: int = 8095
    # Issue 16: Prometheus metrics of each long-running process (core/metrics.py) on this
    # port (0: none), at this address (loopback unless said otherwise: they are for a
    # Prometheus on the same host or network, not for the internet).
    metrics_port: int = 0
    metrics_host: str = "127.0.0.1"
    # Issue 18: the web console's public base URL (`twinbridge console` behind a reverse
    # proxy, https in production): the one-time sign-in links /console sends start with it.
    # Empty: /console says the console is not set up.
    console_url: str = ""

    def time_limits(self) -> tuple[float, float]:
        """(soft, hard) time limit of every task, in seconds."""
        soft = self.task_soft_time_limit or self.translation_timeout + 40
        return soft, max(self.task_time_limit or soft + 30, soft + 1)

    def with_config(self, path: str | os.PathLike[str] | None) -> Settings:
        return replace(self, config_path=Path(path)) if path else self


def _strip_password(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        url = f"{scheme}://***@{rest.split('@', 1)[1]}"
    # A Sentinel URL's sentinels' own password (core/storage/connection.py).
    return re.sub(r"(sentinel_password=)[^&;]*", r"\1***", url)


def _get(env: dict[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


# Provider -> {constructor argument: environment variable}.
PROVIDER_CREDENTIALS = {
    "deepl": {"api_key": "DEEPL_API_KEY"},
    "microsoft": {"api_key": "MICROSOFT_API_KEY", "region": "MICROSOFT_REGION"},
    "yandex": {"api_key": "YANDEX_API_KEY"},
    "qcri": {"api_key": "QCRI_API_KEY"},
    "papago": {"client_id": "PAPAGO_CLIENT_ID", "secret_key": "PAPAGO_SECRET_KEY"},
    "baidu": {"appid": "BAIDU_APPID", "appkey": "BAIDU_APPKEY"},
}


def _endpoints(raw: str | None) -> dict[str, str]:
    pairs = (item.partition("=") for item in (raw or "").split(",") if "=" in item)
    return {name.strip(): url.strip() for name, _, url in pairs if name.strip() and url.strip()}


def _credentials(env: dict[str, str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for provider, names in PROVIDER_CREDENTIALS.items():
        given = {arg: value for arg, var in names.items() if (value := _get(env, var))}
        if given:
            found[provider] = given
    return found


def load_settings(env: dict[str, str] | None = None, dotenv_path: str | None = ".env") -> Settings:
    """Settings from ``env`` (default: the process environment), after reading a
    ``.env`` file whose values never override variables that are already set."""
    if env is None:
        if dotenv_path and Path(dotenv_path).is_file():
            from dotenv import load_dotenv

            load_dotenv(dotenv_path, override=False)
        env = dict(os.environ)
    return Settings(
        config_path=Path(_get(env, "TWINBRIDGE_CONFIG") or "config/links.yaml"),
        # A Sentinel URL names its master (?master_name=) or takes it from here (kept in
        # the URL, so every process, and the ones it starts, reads one value).
        redis_url=_with_sentinel_master(
            _get(env, "REDIS_URL") or "redis://127.0.0.1:6379/0", _get(env, "TWINBRIDGE_REDIS_SENTINEL_MASTER")
        ),
        telegram_bot_token=_get(env, "TELEGRAM_BOT_TOKEN"),
        discord_bot_token=_get(env, "DISCORD_BOT_TOKEN"),
        telegram_api_url=(_get(env, "TELEGRAM_API_URL") or DEFAULT_TELEGRAM_API_URL).rstrip("/"),
        discord_api_url=(_get(env, "DISCORD_API_URL") or DEFAULT_DISCORD_API_URL).rstrip("/"),
        discord_gateway_url=_get(env, "DISCORD_GATEWAY_URL"),
        libretranslate_url=_get(env, "LIBRETRANSLATE_URL"),
        libretranslate_api_key=_get(env, "LIBRETRANSLATE_API_KEY"),
        pseudonym_key=_get(env, "TWINBRIDGE_PSEUDONYM_KEY"),
        redis_prefix=_get(env, "TWINBRIDGE_REDIS_PREFIX") or "tb:",
        log_level=(_get(env, "TWINBRIDGE_LOG_LEVEL") or "INFO").upper(),
        log_format="text" if (_get(env, "TWINBRIDGE_LOG_FORMAT") or "").strip().lower() == "text" else "json",
        visibility_timeout=int(_get(env, "TWINBRIDGE_VISIBILITY_TIMEOUT") or 15),
        translation_timeout=float(_get(env, "TWINBRIDGE_TRANSLATION_TIMEOUT") or 20),
        task_soft_time_limit=float(_get(env, "TWINBRIDGE_TASK_SOFT_TIME_LIMIT") or 0),
        task_time_limit=float(_get(env, "TWINBRIDGE_TASK_TIME_LIMIT") or 0),
        translator_endpoints=_endpoints(_get(env, "TWINBRIDGE_TRANSLATOR_URLS")),
        provider_credentials=_credentials(env),
        rate_limits="off" if (_get(env, "TWINBRIDGE_RATE_LIMITS") or "").lower() == "off" else "platform",
        # At most 25 s: a stand-by polls every second, so it takes over within 30 s of a crash.
        adapter_lease=min(25.0, max(1.0, float(_get(env, "TWINBRIDGE_ADAPTER_LEASE") or 10))),
        media_dir=_get(env, "TWINBRIDGE_MEDIA_DIR") or "",
        public_url=(_get(env, "TWINBRIDGE_PUBLIC_URL") or "").rstrip("/"),
        avatar_host=_get(env, "TWINBRIDGE_AVATAR_HOST") or "0.0.0.0",
        avatar_port=int(_get(env, "TWINBRIDGE_AVATAR_PORT") or 8095),
        metrics_port=_port(env, "TWINBRIDGE_METRICS_PORT"),
        metrics_host=_get(env, "TWINBRIDGE_METRICS_HOST") or "127.0.0.1",
        console_url=(_get(env, "TWINBRIDGE_CONSOLE_URL") or "").rstrip("/"),
    )


def _port(env: dict[str, str], name: str) -> int:
    """A TCP port from ``name``, 0 when unset (or "0", "off"): a value that is no port is
    refused with the variable named, not taken as some other port."""
    raw = _get(env, name)
    if raw is None or raw.lower() in ("0", "off"):
        return 0
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise SettingsError(f"{name}={raw!r} is not a TCP port (1-65535; unset or 0 for none)")
    return int(raw)


class SettingsError(ValueError):
    """An environment variable whose value cannot be used (the message names it)."""


def _with_sentinel_master(url: str, master: str | None) -> str:
    """REDIS_URL, checked (SettingsError: every command exits 2 naming it and the fix),
    naming the Sentinel master TWINBRIDGE_REDIS_SENTINEL_MASTER gives."""
    from .storage.connection import RedisUrlError, parse_redis_url, with_sentinel_master

    url = with_sentinel_master(url, master)
    try:
        parse_redis_url(url)
    except RedisUrlError as exc:
        raise SettingsError(str(exc)) from None
    return url
