"""One malformed gateway event is skipped, not fatal to the connection.

discord.py turns each gateway dispatch into objects in its ``parse_*`` methods,
called straight from the websocket loop: an event with a missing or ill-typed
field (a KeyError, TypeError or ValueError there) escapes ``Client.connect`` and
kills the client, and the fresh session that replaces it never receives what
members wrote in between. discord.py offers no public hook around its parsers
(``on_error`` only covers listeners), so each parser in the client's parser
table is wrapped: an event that fails to parse is logged (event name and
exception type only) and counted, and the connection carries on.

This relies on two internals, checked by tests/unit/test_discord_gateway_guard.py
(which fails when upstream changes them) and pinned in pyproject.toml:
``ConnectionState.parsers`` (event name -> parse method) and
``DiscordWebSocket.from_client`` handing exactly that dict to the websocket.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from discord import Client

log = logging.getLogger(__name__)

# A broken READY or RESUMED leaves no usable session: let discord.py fail and
# reconnect (a fresh session then catches up from history, see cog.RelayCog).
SESSION_EVENTS = frozenset({"READY", "RESUMED"})


def skip_malformed_events(client: Client, on_skip: Callable[[str], None]) -> None:
    """Wrap every parser of ``client`` (before it connects); ``on_skip(event_name)``
    is called for each event skipped."""
    parsers: dict[str, Callable[[Any], None]] = client._connection.parsers
    for event, parse in list(parsers.items()):
        if event not in SESSION_EVENTS and not getattr(parse, "_twinbridge_guarded", False):
            parsers[event] = _guarded(event, parse, on_skip)


def _guarded(event: str, parse: Callable[[Any], None], on_skip: Callable[[str], None]) -> Callable[[Any], None]:
    @functools.wraps(parse)
    def parse_or_skip(data: Any) -> None:
        try:
            parse(data)
        except Exception as exc:  # noqa: BLE001 - whatever a malformed payload makes a parser raise
            # Never the payload or the exception's text: either can quote a message.
            log.warning("skipped a malformed discord %s event (%s)", event, type(exc).__name__)
            on_skip(event)

    parse_or_skip._twinbridge_guarded = True  # type: ignore[attr-defined]
    return parse_or_skip
