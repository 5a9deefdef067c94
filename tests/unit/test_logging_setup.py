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


# -- structured lines (issue 16) ---------------------------------------------------------

import json  # noqa: E402

from core import correlation  # noqa: E402
from core.logging_setup import CorrelationFilter, JsonPrivacyFormatter, make_formatter  # noqa: E402
from core.models import Author, Command, EventKind, MessageRef, OutboundPost, PlatformEvent, ChatRef  # noqa: E402


def json_line(name: str, msg, *args, secrets=(), exc_info=None, **extra) -> dict:
    record = logging.LogRecord(name, logging.INFO, __file__, 1, msg, args or None, exc_info)
    if len(args) == 1 and isinstance(args[0], dict):
        record.args = args[0]
    record.__dict__.update(extra)
    CorrelationFilter().filter(record)
    text = JsonPrivacyFormatter(secrets=secrets).format(record)
    assert "\n" not in text, "one line per record"
    return json.loads(text)


def test_a_json_line_has_the_agreed_fields_and_the_same_privacy_rules():
    data = json_line("discord.http", "%s %s has received %s", "POST", "/webhooks/1/x", {"content": "secret words"})
    assert {"ts", "level", "logger", "msg", "pid"} <= data.keys()
    assert data["level"] == "INFO" and data["logger"] == "discord.http"
    assert "secret" not in data["msg"] and "<1-field object>" in data["msg"]
    assert data["ts"].endswith("+00:00")  # UTC, ISO 8601
    words = "secret words"
    try:
        raise KeyError(words)  # the frame shows this code, never the exception's message
    except KeyError:
        import sys

        data = json_line("bridge.x", "failed", exc_info=sys.exc_info())
    assert "KeyError (message not logged)" in data["exc"] and "secret" not in json.dumps(data)


def test_a_libraries_extra_fields_are_not_written():
    # Celery's task lines carry their context, arguments included, as extra={"data": ...}.
    data = json_line(
        "celery.app.trace",
        "Task %(name)s[%(id)s] succeeded",
        {"name": "twinbridge.translate", "id": "1"},
        data={"args": "secret words"},
        payload="secret words",
    )
    assert data["msg"] == "Task twinbridge.translate[1] succeeded"
    assert "secret" not in json.dumps(data)


def test_secrets_are_scrubbed_as_written_even_where_json_would_escape_them():
    secret = 'pseudo"key\\with-quotes-123'
    data = json_line("bridge.x", "value %s and %s", secret, TG_TOKEN, secrets=[secret])
    assert data["msg"] == "value [redacted] and [redacted]"


def test_the_correlation_id_and_task_id_go_into_every_line_while_bound():
    assert "correlation_id" not in json_line("bridge.x", "no message")
    cid = correlation.correlation_id("telegram:-100:5")
    with correlation.correlated(cid):
        token = correlation.bind_task("task-1")
        try:
            data = json_line("aiogram.event", "library line")
        finally:
            correlation.unbind_task(token)
    assert data["correlation_id"] == cid and data["task_id"] == "task-1"
    assert "correlation_id" not in json_line("bridge.x", "after")


def test_text_format_is_the_human_one_with_the_id_at_the_end():
    record = logging.LogRecord("bridge.x", logging.INFO, __file__, 1, "hello %s", ("there",), None)
    record.correlation_id = "abc123"
    shown = make_formatter("text").format(record)
    assert shown.endswith(" INFO bridge.x: hello there [abc123]")


def test_every_stage_derives_the_same_id_for_one_message():
    source = MessageRef("telegram", "-1001", "42")
    cid = correlation.of_source(source)
    assert len(cid) == correlation.ID_LENGTH
    author = Author(id="7", display_name="x")
    event = PlatformEvent(kind=EventKind.NEW, source=source, author=author, text="hi")
    post = OutboundPost(
        kind=EventKind.NEW, link_id="l", destination=ChatRef("discord", "9"), source=source, sender="", community=""
    )
    assert correlation.of_payload(event.to_dict()) == cid  # the moderation task's argument
    assert correlation.of_payload({"chat_key": "telegram:-1001", "posts": [post.to_dict()]}) == cid  # drafts
    assert correlation.of_source(post.source) == cid  # the delivery
    command = Command(name="consent", args="", platform="telegram", chat_id="7", message_id="3", user=author)
    assert correlation.of_payload(command.to_dict()) == correlation.of_command(command)
    assert correlation.of_payload({"command": command.to_dict()}) == correlation.of_command(command)
    assert correlation.of_payload("announcement-id") == correlation.of_payload({"x": 1}) == ""
