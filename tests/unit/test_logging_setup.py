"""The privacy formatter every process logs through (core/logging_setup.py)."""

from __future__ import annotations

import logging

from core.logging_setup import PrivacyFormatter

TG_TOKEN = "7000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
DC_TOKEN = "OTAwMDAwMDAwMDAwMDAwMDAx.GhJkLm.abcdefghijklmnopqrstuvwxyz0123"


def line(name: str, msg, *args, exc_info=None, secrets=()) -> str:
    record = logging.LogRecord(name, logging.DEBUG, __file__, 1, msg, args or None, exc_info)
    if len(args) == 1 and isinstance(args[0], dict):
        record.args = args[0]
    return PrivacyFormatter(secrets=secrets).format(record)


def test_a_gateway_event_is_shown_by_its_type_only():
    frame = {"op": 0, "t": "MESSAGE_CREATE", "s": 7, "d": {"content": "secret words", "author": {"username": "anna"}}}
    shown = line("discord.gateway", "For Shard ID %s: WebSocket Event: %s", None, frame)
    assert shown.endswith("WebSocket Event: op=0 t=MESSAGE_CREATE s=7")


def test_http_bodies_and_webhook_credentials_are_not_shown():
    url = "https://discord.com/api/v10/webhooks/123456789012345678/AbC-token_xyz/messages/55"
    shown = line("discord.http", "%s %s with %s has returned %s", "PATCH", url, '{"content": "secret words"}', 200)
    assert "secret" not in shown and "AbC-token" not in shown and "123456789012345678" not in shown
    assert "/webhooks/{id}/{token}/messages/55" in shown and "200" in shown
    shown = line(
        "discord.webhook.async_", "Webhook ID %s is rate limited. Retrying in %.2f seconds.", 123456789012345678, 0.5
    )
    assert "123456789012345678" not in shown and "0.50" in shown


def test_exceptions_show_their_type_and_frames_never_their_message():
    text = "".join(("sec", "ret words"))  # what a member wrote (the source lines are shown)
    try:
        try:
            raise KeyError(text)
        except KeyError as exc:
            raise ValueError(f"more {text}") from exc
    except ValueError:
        import sys

        shown = line("bridge.anything", "failed", exc_info=sys.exc_info())
    assert "secret" not in shown
    assert "builtins.KeyError" in shown and "builtins.ValueError" in shown and "test_logging_setup.py" in shown


def test_celery_lines_show_no_arguments_or_exception_text():
    shown = line(
        "celery.app.trace",
        "Task %(name)s[%(id)s] %(description)s: %(exc)s",
        {
            "name": "twinbridge.process_event",
            "id": "1",
            "description": "raised unexpected",
            "exc": "KeyError('secret words')",
        },
    )
    assert shown.endswith("twinbridge.process_event[1] raised unexpected: KeyError")
    shown = line(
        "celery.app.trace",
        "Task %(name)s[%(id)s] retry: %(exc)s",
        {"name": "twinbridge.process_event", "id": "1", "exc": "Retry in 1s: KeyError('secret words')"},
    )
    assert shown.endswith("twinbridge.process_event[1] retry: KeyError")
    shown = line("celery.pool", "TaskPool: Apply %s (args:%s kwargs:%s)", "<fn>", "('secret words',)", "{}")
    assert "secret" not in shown


def test_tokens_are_scrubbed_from_any_line():
    shown = line(
        "aiohttp.client",
        "GET https://api.telegram.org/bot%s/getMe and %s",
        TG_TOKEN,
        DC_TOKEN,
        secrets=(TG_TOKEN, DC_TOKEN),
    )
    assert TG_TOKEN not in shown and DC_TOKEN not in shown and "AAHdq" not in shown
    assert line("x", f"Authorization: Bot {DC_TOKEN}").count("[redacted]") >= 1
    assert DC_TOKEN not in line("x", f"token {DC_TOKEN}")  # by its shape, without being told


def test_asyncio_never_retrieved_exceptions_show_the_type_only():
    shown = line(
        "asyncio",
        "Task exception was never retrieved\nfuture: <Task finished name='t' "
        "coro=<f() done> exception=KeyError('secret words')>",
    )
    assert "secret" not in shown and "exception=KeyError(...)" in shown
