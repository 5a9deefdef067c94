"""REDIS_URL's Sentinel and TLS forms against real servers of the test's own.

Sentinel: a private redis-server and a sentinel monitoring it (redis-server's own
`--sentinel` mode), each on a free port in a temporary directory. A redis-py client (sync
and asyncio) and a Celery producer and worker made the product's way
(core/storage/connection.py, workers/app.py make_celery) find the master through the
sentinel, and what they write lands in that master.

TLS: a redis-server listening only on a TLS port with a certificate from a throw-away CA
(openssl): rediss:// with ssl_ca_certs gets through, for redis-py and for the Celery
broker; without the CA the certificate is refused (the default checks it)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
import uuid

import pytest
import redis as redis_lib
from celery.contrib.testing.worker import start_worker

from core.settings import load_settings
from core.storage.connection import redis_client
from workers.app import make_celery

from ..helpers import wait_until
from ..processes import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

MASTER = "tbmaster"


def _spawn(args: list[str], log) -> subprocess.Popen:
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
async def sentinel(tmp_path):
    """(sentinel URL, the master's own redis:// URL)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no redis-server binary here: it is also the sentinel (`redis-server CONF --sentinel`)")
    master_port, sentinel_port = free_port(), free_port()
    (tmp_path / "master").mkdir()
    (tmp_path / "sentinel").mkdir()
    conf = tmp_path / "sentinel" / "sentinel.conf"  # the sentinel rewrites it: its own copy
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\nprotected-mode no\ndir {tmp_path / 'sentinel'}\n"
        f"sentinel monitor {MASTER} 127.0.0.1 {master_port} 1\n"
        f"sentinel down-after-milliseconds {MASTER} 5000\n"
    )
    with open(tmp_path / "redis.log", "wb") as log:
        master = _spawn(
            [binary, "--port", str(master_port), "--bind", "127.0.0.1", "--dir", str(tmp_path / "master")]
            + ["--save", "", "--appendonly", "no", "--protected-mode", "no"],
            log,
        )
        sentinel_proc = _spawn([binary, str(conf), "--sentinel"], log)
    procs = [master, sentinel_proc]
    try:
        asks = redis_lib.Redis(host="127.0.0.1", port=sentinel_port, decode_responses=True, socket_connect_timeout=1)

        def knows_the_master() -> bool:
            for proc in procs:
                if proc.poll() is not None:
                    raise AssertionError(f"{proc.args[0]} exited: {(tmp_path / 'redis.log').read_text()[-2000:]}")
            try:
                return asks.execute_command("SENTINEL", "get-master-addr-by-name", MASTER) == [
                    "127.0.0.1",
                    str(master_port),
                ]
            except redis_lib.exceptions.ConnectionError:
                return False

        await wait_until(knows_the_master, 20, message="the sentinel to answer for its master")
        asks.close()
        # Two sentinels in the URL, the first one down: the client tries the next.
        url = f"sentinel://127.0.0.1:{free_port()};sentinel://127.0.0.1:{sentinel_port}/0?master_name={MASTER}"
        yield url, f"redis://127.0.0.1:{master_port}/0"
    finally:
        for proc in reversed(procs):
            _stop(proc)


async def test_redis_py_clients_reach_the_master_through_the_sentinel(sentinel):
    url, master_url = sentinel
    direct = redis_lib.Redis.from_url(master_url, decode_responses=True)
    client = redis_client(url, decode_responses=True, socket_connect_timeout=2, socket_timeout=5)
    client.set("tbtest:sync", "1", ex=60)
    aclient = redis_client(url, asyncio=True, decode_responses=True, socket_connect_timeout=2)
    try:
        await aclient.set("tbtest:async", "2", ex=60)
        assert await aclient.get("tbtest:sync") == "1"
    finally:
        await aclient.aclose()
    assert direct.mget("tbtest:sync", "tbtest:async") == ["1", "2"]  # in the monitored master
    client.close()
    direct.close()


async def test_a_celery_producer_and_worker_round_trip_through_the_sentinel(sentinel, tmp_path):
    url, master_url = sentinel
    settings = load_settings(
        {"REDIS_URL": url, "TWINBRIDGE_REDIS_PREFIX": f"tbtest:{uuid.uuid4().hex[:8]}:"}, dotenv_path=None
    )
    app = make_celery(settings, role="delivery")
    assert app.conf.broker_transport_options["master_name"] == MASTER
    marker = f"tbtest:celery:{uuid.uuid4().hex}"

    @app.task(name="tbtest.sentinel_round_trip")
    def round_trip(value: str) -> None:
        with redis_client(url, decode_responses=True) as client:
            client.set(marker, value, ex=60)

    direct = redis_lib.Redis.from_url(master_url, decode_responses=True)
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING", queues=["delivery"]
        ):
            sent_at = time.monotonic()
            round_trip.apply_async(args=["through the sentinel"], queue="delivery")
            await wait_until(lambda: direct.get(marker), 30, message="the worker to run the task")
        assert direct.get(marker) == "through the sentinel"
        assert time.monotonic() - sent_at < 30
        # The queue lived in the master the sentinel names, under the bridge's prefix.
        assert direct.keys(f"{settings.redis_prefix}*")
    finally:
        direct.close()


def _certificates(directory) -> tuple[str, str, str]:
    """(CA certificate, server certificate, server key): a throw-away CA and a server
    certificate for 127.0.0.1 it signed (openssl)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl here to make the test's certificates")
    d = directory
    run = lambda *args: subprocess.run([openssl, *args], check=True, capture_output=True, cwd=d)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=tbtest-ca",
        "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr")
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "1", "-extfile", "san.ext", "-out", "server.pem")  # fmt: skip
    return str(d / "ca.pem"), str(d / "server.pem"), str(d / "server.key")


@pytest.fixture
async def tls_redis(tmp_path):
    """(rediss URL without options, the CA certificate's path)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no redis-server binary here")
    ca, cert, key = _certificates(tmp_path)
    port = free_port()
    with open(tmp_path / "redis.log", "wb") as log:
        proc = _spawn(
            [binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path)]
            + ["--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", ca, "--tls-auth-clients", "no"]
            + ["--save", "", "--appendonly", "no", "--protected-mode", "no"],
            log,
        )
    try:
        url = f"rediss://127.0.0.1:{port}/0"
        probe = redis_client(f"{url}?ssl_ca_certs={ca}", socket_connect_timeout=1)

        def answers() -> bool:
            if proc.poll() is not None:
                text = (tmp_path / "redis.log").read_text()
                if "TLS" in text and "not" in text and "support" in text:
                    pytest.skip("this redis-server was built without TLS")
                raise AssertionError(f"redis-server exited: {text[-2000:]}")
            try:
                return bool(probe.ping())
            except redis_lib.exceptions.ConnectionError:
                return False

        await wait_until(answers, 20, message="the TLS redis-server to answer")
        probe.close()
        yield url, ca
    finally:
        _stop(proc)


async def test_rediss_checks_the_certificate_against_the_given_ca(tls_redis):
    url, ca = tls_redis
    with redis_client(f"{url}?ssl_ca_certs={ca}&ssl_cert_reqs=required", decode_responses=True) as client:
        client.set("tbtest:tls", "ok", ex=60)
        assert client.get("tbtest:tls") == "ok"
    aclient = redis_client(f"{url}?ssl_ca_certs={ca}", asyncio=True, decode_responses=True)
    try:
        assert await aclient.get("tbtest:tls") == "ok"
    finally:
        await aclient.aclose()
    # Without the CA the server's certificate is not trusted: refused, not silently accepted.
    with redis_client(url, socket_connect_timeout=2) as unchecked, pytest.raises(redis_lib.exceptions.ConnectionError):
        unchecked.ping()


async def test_a_celery_producer_and_worker_round_trip_over_rediss(tls_redis):
    url, ca = tls_redis
    full = f"{url}?ssl_ca_certs={ca}&ssl_cert_reqs=required"
    settings = load_settings({"REDIS_URL": full, "TWINBRIDGE_REDIS_PREFIX": "tbtest:tls:"}, dotenv_path=None)
    app = make_celery(settings, role="delivery")
    assert app.conf.broker_use_ssl == {"ssl_ca_certs": ca, "ssl_cert_reqs": ssl.CERT_REQUIRED}
    marker = f"tbtest:celery:{uuid.uuid4().hex}"

    @app.task(name="tbtest.tls_round_trip")
    def round_trip(value: str) -> None:
        with redis_client(full, decode_responses=True) as client:
            client.set(marker, value, ex=60)

    with redis_client(full, decode_responses=True) as direct:
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING", queues=["delivery"]
        ):
            round_trip.apply_async(args=["over TLS"], queue="delivery")
            await wait_until(lambda: direct.get(marker), 30, message="the worker to run the task")
        assert direct.get(marker) == "over TLS"
