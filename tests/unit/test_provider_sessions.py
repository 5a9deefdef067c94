"""The providers' HTTP sessions: kept, and reading the environment on each request
only where it matters (a proxy or a netrc file)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workers.translation import providers
from workers.translation.providers import DeadlineExceeded, LibreProvider, new_session, request_within

ENVIRONMENT = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "NETRC",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch, tmp_path):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.netrc


def test_without_a_proxy_the_environment_is_not_read_on_each_request():
    session = new_session()
    assert session.trust_env is False and session.verify is True


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "https_proxy"])
def test_a_proxy_in_the_environment_is_still_used(monkeypatch, name):
    monkeypatch.setenv(name, "http://proxy.example:3128")
    assert new_session().trust_env is True


def test_a_netrc_file_is_still_read(monkeypatch, tmp_path):
    (tmp_path / ".netrc").write_text("machine translate.example login a password b\n")
    assert new_session().trust_env is True
    (tmp_path / ".netrc").unlink()
    monkeypatch.setenv("NETRC", str(tmp_path / "elsewhere"))
    assert new_session().trust_env is True


def test_a_ca_bundle_from_the_environment_is_kept(monkeypatch):
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/curl.pem")
    assert new_session().verify == "/etc/ssl/curl.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/requests.pem")  # requests' own order
    session = new_session()
    assert session.trust_env is False and session.verify == "/etc/ssl/requests.pem"


def test_one_session_per_provider_and_thread():
    libre = LibreProvider("http://127.0.0.1:9")
    assert libre._session() is libre._session()
    other: list = []
    thread = threading.Thread(target=lambda: other.append(libre._session()))
    thread.start()
    thread.join()
    assert other[0] is not libre._session()


def test_deep_translator_calls_keep_their_session_but_no_cookies():
    bounded = providers._BoundedRequests()
    session = bounded._session()
    session.cookies.set("NID", "tracking", domain="translate.example")
    assert bounded._session() is session and len(session.cookies) == 0


class _Answers(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive: a JSON answer, sent whole or (at /drip) a byte at a time."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:  # once per TCP connection
        super().setup()
        self.server.connections += 1  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        body = json.dumps({"ok": True, "padding": "x" * 64}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for start in range(0, len(body), 1 if self.path == "/drip" else len(body)):
            self.wfile.write(body[start : start + (1 if self.path == "/drip" else len(body))])
            self.wfile.flush()
            if self.path == "/drip":
                time.sleep(0.02)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def answers():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    server.daemon_threads = True
    server.connections = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def test_a_fully_read_answer_is_readable_and_leaves_its_connection_to_the_next_request(answers):
    session = new_session()
    for _ in range(3):
        response = request_within(session, "GET", f"{_url(answers)}/", time.monotonic() + 5)
        assert response.json()["ok"] is True and response.content.startswith(b'{"ok"')
    assert answers.connections == 1


def test_an_answer_cut_off_at_the_deadline_does_not_leave_its_connection(answers):
    session = new_session()
    with pytest.raises(DeadlineExceeded):
        request_within(session, "GET", f"{_url(answers)}/drip", time.monotonic() + 0.3)
    assert request_within(session, "GET", f"{_url(answers)}/", time.monotonic() + 5).json()["ok"] is True
    assert answers.connections == 2  # the cut-off one was closed, not reused half-read
