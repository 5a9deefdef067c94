"""Logging for every `twinbridge` process: one handler, nothing of the members in it.

No level ever logs message text, names, tokens or webhook URLs (docs/privacy.md), and
that includes the libraries' own loggers: at DEBUG, discord.py dumps every
gateway event and HTTP body (message text, member names, interaction tokens)
and every webhook URL (which holds the webhook's token); Celery's pool logs the
task's arguments; an exception's message can quote whatever it choked on.

So every record goes through :class:`PrivacyFormatter`, which

1. rewrites the records known to carry payloads, keeping what is useful to a
   deployer (the event type, the HTTP method, route and status, the task name);
2. replaces any dict, list or bytes argument of a library's record by its shape
   (a payload is never useful in a log line; its size and keys may be);
3. formats exceptions by type and stack frames only, never their messages;
4. scrubs the finished line as a last line of defence: the bot tokens it was
   given, anything shaped like a Telegram or Discord token, and the id/token
   parts of webhook and interaction URLs.

Our own code logs ids, counts and exception types only; the formatter is the net
under it and under the libraries.

Structured (issue 16): by default every line is one JSON object (python-json-logger),
``{"ts", "level", "logger", "msg", "pid"}`` plus ``correlation_id`` in every line about
one message (core/correlation.py, set by :class:`CorrelationFilter`), ``task_id`` in a
Celery task's lines and ``exc`` for an exception (its stack and types, as above). No
other attribute of a record is written (a library's ``extra`` may hold a payload:
Celery's task lines carry the task's arguments in theirs). ``TWINBRIDGE_LOG_FORMAT=text``
writes the human format instead (`twinbridge demo` uses it unless told otherwise).
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pythonjsonlogger.json import JsonFormatter

from . import correlation

if TYPE_CHECKING:
    from logging import _SysExcInfoType  # typeshed's name for what sys.exc_info() returns

    from .settings import Settings

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("json", "text")
# What a JSON line holds: the record's own fields under these names, and the extras below.
JSON_FIELDS = {"levelname": "level", "name": "logger", "message": "msg", "process": "pid", "exc_info": "exc"}
EXTRAS = ("correlation_id", "task_id")
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
OUR_LOGGERS = ("bridge", "workers", "twinbridge")
REDACTED = "[redacted]"

# URL parts that are secrets: /bot<token>/ (Telegram), /webhooks/<id>/<token> and
# /interactions/<id>/<token> (Discord; a webhook id plus its token is a credential).
_URL_SECRETS = (
    (re.compile(r"/bot\d+:[A-Za-z0-9_-]+"), "/bot" + REDACTED),
    (re.compile(r"/webhooks/\d+/[A-Za-z0-9._-]+"), "/webhooks/{id}/{token}"),
    (re.compile(r"/webhooks/\d+"), "/webhooks/{id}"),
    (re.compile(r"/interactions/\d+/[A-Za-z0-9._-]+"), "/interactions/{id}/{token}"),
)
# Token shapes: Telegram "<bot id>:<35 characters>", Discord "<base64 id>.<time>.<hmac>".
_TOKEN_SHAPES = (
    re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}"),
    re.compile(r"\b[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{20,}"),
    re.compile(r"(?i)\b(Bot|Bearer)\s+[A-Za-z0-9._-]{20,}"),
)


def _summary(value: Any) -> str:
    """The shape of a payload, never its content."""
    if isinstance(value, dict):
        if "op" in value and "t" in value:  # a gateway frame
            return f"op={value.get('op')} t={value.get('t')} s={value.get('s')}"
        return f"<{len(value)}-field object>"
    if isinstance(value, (list, tuple, set, frozenset)):
        return f"<{len(value)} items>"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    return f"<{type(value).__name__}>"


def _shape_args(args: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(a if isinstance(a, (str, int, float, bool, type(None))) else _summary(a) for a in args)


def _rewrite(record: logging.LogRecord) -> None:
    """Rewrite, in place, a copy of ``record`` that may carry a payload."""
    name, msg, args = record.name, record.msg, record.args
    if name == "discord.http" and isinstance(args, tuple):
        if msg == "%s %s with %s has returned %s" and len(args) == 4:
            body = args[2]
            record.args = (
                args[0],
                args[1],
                "no body"
                if body is None
                else f"a {len(body)}-character body"
                if isinstance(body, str)
                else _summary(body),
                args[3],
            )
            return
        if msg == "%s %s has received %s" and len(args) == 3:
            record.args = (args[0], args[1], _summary(args[2]))
            return
    if name == "discord.webhook.async_" and isinstance(args, tuple) and args and str(msg).startswith("Webhook ID %s"):
        record.args = ("{id}", *args[1:])  # the id half of a credential
    if name.startswith("celery") and isinstance(args, dict):
        # Celery's task trace lines: the exception's and the return value's type only.
        record.args = {
            k: (_type_only(v) if k in ("exc", "return_value", "args", "kwargs") else v) for k, v in args.items()
        }
        return
    if name == "celery.concurrency.base" or (isinstance(msg, str) and msg.startswith("TaskPool: Apply")):
        # "TaskPool: Apply <target> (args:... kwargs:...)": the arguments are the task message.
        record.msg, record.args = "TaskPool: Apply a task", ()
        return
    if name == "asyncio" and isinstance(msg, str):
        # "Task exception was never retrieved ... exception=KeyError('<text>')>": the type only.
        record.msg = re.sub(r"exception=([\w.]+)\(.*?\)>", r"exception=\1(...)>", msg, flags=re.S)
    if not name.startswith(OUR_LOGGERS) and isinstance(record.args, tuple):
        record.args = _shape_args(record.args)
    elif not name.startswith(OUR_LOGGERS) and isinstance(record.args, dict):
        record.args = {
            k: v if isinstance(v, (str, int, float, bool, type(None))) else _summary(v) for k, v in record.args.items()
        }
    if not name.startswith(OUR_LOGGERS) and not isinstance(msg, str):
        record.msg = _summary(msg)  # e.g. logger.debug(payload)


def _type_only(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, str):
        # Celery hands the exception as its repr ("KeyError('...')", or for a retry
        # "Retry in 1s: KeyError('...')"): keep the exception's type.
        head = re.search(r"\b([A-Z][\w.]*)\(", value)
        return head.group(1) if head else "<str>"
    return type(value).__name__


class PrivacyFormatter(logging.Formatter):
    """See the module's docstring."""

    def __init__(self, fmt: str = FORMAT, *, secrets: Iterable[str] = ()):
        super().__init__(fmt)
        # Longest first, so a token is replaced whole before any part of it.
        self._secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        # A copy with the standard fields and ours only: a library's extras stay out.
        safe = logging.makeLogRecord(
            {k: v for k, v in record.__dict__.items() if k in _STANDARD or (k in EXTRAS and v)}
        )
        safe.exc_text = None  # formatted again below, without the messages
        try:
            _rewrite(safe)
            return self.render(safe)
        except Exception as exc:  # noqa: BLE001 - a bad record must not lose the line entirely
            return self.unformatted(record, exc)

    def render(self, safe: logging.LogRecord) -> str:
        """The line of a record already made safe (its payloads rewritten)."""
        line = super().format(safe)
        cid = getattr(safe, "correlation_id", "")
        return self.scrub(f"{line} [{cid}]" if cid else line)

    def unformatted(self, record: logging.LogRecord, exc: BaseException) -> str:
        return (
            f"{self.formatTime(record)} {record.levelname} {record.name}: "
            f"<log record not formatted ({type(exc).__name__})>"
        )

    def formatException(self, ei: _SysExcInfoType) -> str:
        """The stack and the exception types of the chain, never the messages."""
        _, exc, _ = ei
        parts: list[str] = []
        seen: set[int] = set()
        while exc is not None and id(exc) not in seen:
            seen.add(id(exc))
            frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)))
            parts.insert(
                0,
                f"Traceback (most recent call last):\n{frames}"
                f"{type(exc).__module__}.{type(exc).__qualname__} (message not logged)",
            )
            exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        return "\n\nThe above led to:\n\n".join(parts)

    def formatStack(self, stack_info: str) -> str:
        return stack_info  # code only

    def scrub(self, line: str) -> str:
        for secret in self._secrets:
            line = line.replace(secret, REDACTED)
        for pattern, replacement in _URL_SECRETS:
            line = pattern.sub(replacement, line)
        for pattern in _TOKEN_SHAPES:
            line = pattern.sub(REDACTED, line)
        return line


class _JsonLine(JsonFormatter):
    """python-json-logger's formatter, writing what :class:`JsonPrivacyFormatter` made safe."""

    def __init__(self, privacy: PrivacyFormatter):
        super().__init__(
            "%(levelname)s %(name)s %(message)s %(process)d",
            rename_fields=JSON_FIELDS,
            timestamp="ts",
            json_ensure_ascii=False,
        )
        self._privacy = privacy

    def formatException(self, ei: _SysExcInfoType) -> str:
        return self._privacy.formatException(ei)

    def formatStack(self, stack_info: str) -> str:
        return stack_info

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        # "ts" first, as a reader scans it (the library adds it last).
        ts = log_data.pop("ts")
        ordered = {"ts": ts.isoformat(timespec="milliseconds") if hasattr(ts, "isoformat") else ts, **log_data}
        log_data.clear()
        log_data.update(ordered)

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        # Scrubbed value by value, before encoding: a secret is found as written, not as escaped.
        return {k: self._privacy.scrub(v) if isinstance(v, str) else v for k, v in log_data.items()}


class JsonPrivacyFormatter(PrivacyFormatter):
    """:class:`PrivacyFormatter`'s rules, one JSON object per line (see the module's docstring)."""

    def __init__(self, *, secrets: Iterable[str] = ()):
        super().__init__(secrets=secrets)
        self._json = _JsonLine(self)

    def render(self, safe: logging.LogRecord) -> str:
        return self._json.format(safe)

    def unformatted(self, record: logging.LogRecord, exc: BaseException) -> str:
        bare = logging.makeLogRecord(
            {
                "name": record.name,
                "levelno": record.levelno,
                "levelname": record.levelname,
                "created": record.created,
                "msecs": record.msecs,
                "msg": f"<log record not formatted ({type(exc).__name__})>",
                "correlation_id": getattr(record, "correlation_id", ""),
            }
        )
        return self._json.format(bare)


class CorrelationFilter(logging.Filter):
    """Puts the message's correlation id (core/correlation.py) into every record that
    has none; records of no message keep none. On the handler, so it sees every
    logger's records, the libraries' too."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "correlation_id", ""):
            cid = correlation.current()
            if cid:
                record.correlation_id = cid
        if not getattr(record, "task_id", ""):
            task = correlation.current_task()
            if task:
                record.task_id = task
        return True


def make_formatter(log_format: str = "json", *, secrets: Iterable[str] = ()) -> PrivacyFormatter:
    if str(log_format).lower() == "text":
        return PrivacyFormatter(secrets=secrets)
    return JsonPrivacyFormatter(secrets=secrets)


def configure_logging(level: str = "INFO", *, secrets: Iterable[str] = (), log_format: str = "json") -> None:
    """Route every logger of this process through one stderr handler with the
    :class:`PrivacyFormatter` (JSON lines, or ``log_format="text"``); ``secrets``
    (the bot tokens) are never printed."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(log_format, secrets=secrets))
    handler.addFilter(CorrelationFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, str(level).upper(), logging.INFO))
    # Loggers that libraries gave handlers of their own would bypass the formatter.
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger) and logger.handlers:
            for old in list(logger.handlers):
                logger.removeHandler(old)
            logger.propagate = True
    logging.captureWarnings(True)
    if root.level > logging.DEBUG:
        # One line per Telegram update ("Update id=... is handled"): noise below DEBUG.
        logging.getLogger("aiogram.event").setLevel(logging.WARNING)


def configure_from_settings(settings: Settings) -> None:
    secrets = (
        settings.telegram_bot_token,
        settings.discord_bot_token,
        getattr(settings, "libretranslate_api_key", None),
        getattr(settings, "pseudonym_key", None),
    )
    configure_logging(
        settings.log_level,
        secrets=[secret for secret in secrets if secret],
        log_format=getattr(settings, "log_format", "json"),
    )
