"""REDIS_URL's forms (core/storage/connection.py): plain, TLS with its certificate options,
Sentinel lists with the master's name, and the errors a deployer sees (never the password)."""

from __future__ import annotations

import ssl

import pytest
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelPool
from redis.sentinel import SentinelConnectionPool

from core.settings import SettingsError, _strip_password, load_settings
from core.storage.connection import (
    RedisUrlError,
    celery_broker,
    parse_redis_url,
    redis_client,
    redis_pool_client,
    with_sentinel_master,
)


def test_a_plain_url_is_used_as_it_is():
    target = parse_redis_url("redis://:secret@redis.example:6380/4")
    assert (target.scheme, target.db, target.password, target.ssl) == ("redis", 4, "secret", {})
    assert celery_broker("redis://:secret@redis.example:6380/4") == ("redis://:secret@redis.example:6380/4", {}, None)
    client = redis_client("redis://redis.example:6380/4", decode_responses=True)
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("redis.example", 6380, 4)
    assert kwargs["decode_responses"] is True


def test_rediss_options_reach_both_redis_py_and_the_celery_broker():
    url = "rediss://:pw@managed.example:6380/1?ssl_cert_reqs=required&ssl_ca_certs=/etc/ca.pem&ssl_check_hostname=true"
    target = parse_redis_url(url)
    assert target.ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": "/etc/ca.pem", "ssl_check_hostname": True}
    broker, options, use_ssl = celery_broker(url)
    assert broker == "rediss://:pw@managed.example:6380/1"  # options as broker_use_ssl, not in the URL
    assert options == {}
    assert use_ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": "/etc/ca.pem", "ssl_check_hostname": True}
    pool = redis_client(url).connection_pool
    assert pool.connection_class.__name__ == "SSLConnection"
    assert pool.connection_kwargs["ssl_ca_certs"] == "/etc/ca.pem"
    assert redis_pool_client(url, max_connections=5, timeout=1).connection_pool.connection_class.__name__ == (
        "SSLConnection"
    )


def test_rediss_without_options_checks_certificates_and_none_turns_it_off():
    assert celery_broker("rediss://h:6380/0")[2] == {"ssl_cert_reqs": ssl.CERT_REQUIRED}
    assert celery_broker("rediss://h:6380/0?ssl_cert_reqs=none")[2] == {"ssl_cert_reqs": ssl.CERT_NONE}
    assert celery_broker("rediss://h:6380/0?ssl_cert_reqs=OPTIONAL")[2] == {"ssl_cert_reqs": ssl.CERT_OPTIONAL}


def test_a_sentinel_list_with_its_master():
    url = "sentinel://:pw@s1.example:26379;sentinel://s2.example;sentinel://10.0.0.3:26380/2?master_name=mymaster"
    target = parse_redis_url(url)
    assert target.sentinels == (("s1.example", 26379), ("s2.example", 26379), ("10.0.0.3", 26380))
    assert (target.master_name, target.db, target.password) == ("mymaster", 2, "pw")
    broker, options, use_ssl = celery_broker(url)
    assert broker == "sentinel://:pw@s1.example:26379;sentinel://s2.example;sentinel://10.0.0.3:26380/2"
    assert options == {"master_name": "mymaster"}
    assert use_ssl is None


def test_the_sentinels_own_password_goes_to_the_sentinels():
    url = "sentinel://s1:26379/0?master_name=m&sentinel_password=sp"
    assert celery_broker(url)[1] == {"master_name": "m", "sentinel_kwargs": {"password": "sp"}}
    client = redis_client(url, decode_responses=True)
    assert isinstance(client.connection_pool, SentinelConnectionPool)
    assert client.connection_pool.service_name == "m"
    assert client.connection_pool.sentinel_manager.sentinels[0].connection_pool.connection_kwargs["password"] == "sp"
    assert "sp" not in _strip_password(url)


def test_an_asyncio_client_through_sentinel():
    client = redis_client("sentinel://s1:26379/3?master_name=m", asyncio=True, decode_responses=True)
    assert isinstance(client.connection_pool, AsyncSentinelPool)
    assert client.connection_pool.connection_kwargs["db"] == 3
    pooled = redis_pool_client("sentinel://s1:26379/3?master_name=m", max_connections=5, timeout=1)
    assert isinstance(pooled.connection_pool, AsyncSentinelPool)


def test_the_master_name_from_the_environment():
    settings = load_settings(
        {"REDIS_URL": "sentinel://s1:26379;sentinel://s2:26379/0", "TWINBRIDGE_REDIS_SENTINEL_MASTER": "prod"},
        dotenv_path=None,
    )
    assert parse_redis_url(settings.redis_url).master_name == "prod"
    assert celery_broker(settings.redis_url)[1] == {"master_name": "prod"}
    # The URL's own name wins; other URLs are left alone.
    assert with_sentinel_master("sentinel://s1/0?master_name=a", "b") == "sentinel://s1/0?master_name=a"
    assert with_sentinel_master("redis://h/0", "b") == "redis://h/0"
    assert parse_redis_url("sentinel://s1/0", sentinel_master="x").master_name == "x"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://h:6379/0", "must start with redis://"),
        ("127.0.0.1:6379", "must start with redis://"),
        ("", "must start with redis://"),
        ("redis://h:port/0", "malformed"),
        ("redis://h:6379/zero", "malformed"),
        ("redis://:6379/0", "malformed"),
        ("redis://a:1;redis://b:2/0", "Sentinel only"),
        ("redis://h/0?ssl_ca_certs=/x", "needs a TLS URL"),
        ("redis://h/0?master_name=m", "for Sentinel URLs"),
        ("rediss://h/0?ssl_cert_reqs=sometimes", "ssl_cert_reqs must be"),
        ("rediss://h/0?ssl_check_hostname=maybe", "ssl_check_hostname must be"),
        ("sentinel://s1:26379/0", "without the master's name"),
        ("sentinel://s1:26379;redis://s2:26379/0?master_name=m", "starts with sentinel://"),
        ("sentinel://s1:26379/0;sentinel://s2:26379?master_name=m", "after the last sentinel"),
        ("sentinel://s1:x/0?master_name=m", "malformed"),
        ("sentinel://:26379/0?master_name=m", "no host"),
        ("sentinel://s1;sentinel://:pw@s2/0?master_name=m", "first address"),
        ("sentinel://s1/0?master_name=m&service=x", "unknown Sentinel option"),
    ],
)
def test_a_malformed_url_is_refused_with_the_fix(url, says):
    with pytest.raises(RedisUrlError, match=says) as caught:
        parse_redis_url(url)
    assert "REDIS_URL" in str(caught.value)
    assert "pw" not in str(caught.value)
    with pytest.raises(SettingsError, match="REDIS_URL"):
        load_settings({"REDIS_URL": url} if url else {"REDIS_URL": "nope"}, dotenv_path=None)


def test_a_password_never_appears_in_the_message():
    with pytest.raises(RedisUrlError) as caught:
        parse_redis_url("redis://user:hunter2@h:bad/0")
    assert "hunter2" not in str(caught.value)


def test_the_adapter_lease_keeps_a_takeover_within_30_seconds():
    """A stand-by polls every second at most; the lease is capped at 25 s, so a holder's
    death is taken over within 30 s however TWINBRIDGE_ADAPTER_LEASE is set."""
    assert load_settings({}, dotenv_path=None).adapter_lease == 10
    assert load_settings({"TWINBRIDGE_ADAPTER_LEASE": "120"}, dotenv_path=None).adapter_lease == 25
    assert load_settings({"TWINBRIDGE_ADAPTER_LEASE": "0.1"}, dotenv_path=None).adapter_lease == 1


def test_every_redis_client_of_the_product_is_made_in_one_place():
    """No module but core/storage/connection.py builds a Redis client or pool from a URL, so
    every process reads REDIS_URL's forms alike (the Celery broker: workers/app.py, from
    celery_broker)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    pattern = re.compile(r"\.from_url\(|\bRedis\(|ConnectionPool\(|Sentinel\(")
    found = [
        f"{path.relative_to(root)}:{n}"
        for package in ("bridge", "core", "workers")
        for path in sorted((root / package).rglob("*.py"))
        if path.relative_to(root).as_posix() != "core/storage/connection.py"
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, found
    app = (root / "workers/app.py").read_text()
    assert "celery_broker(settings.redis_url)" in app and "broker=broker_url" in app
