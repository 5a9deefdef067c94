"""The gateway websocket at ``/gateway``: HELLO, heartbeats, IDENTIFY (READY, then one
GUILD_CREATE per guild), RESUME with replay of what a session missed, zlib-stream
compression when asked for, and the dispatches of the world's events to every session
whose intents entitle it to them (without content where the Message Content intent is
missing)."""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from sandbox.discord.protocol import (
    INTENT_DIRECT_MESSAGE_REACTIONS,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGE_REACTIONS,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILDS,
    INTENT_GUILD_SCHEDULED_EVENTS,
    INTENT_MESSAGE_CONTENT,
)
from sandbox.discord.state import DiscordState

HEARTBEAT_INTERVAL_MS = 41250
SESSION_BUFFER = 1000  # dispatches kept per session for RESUME
MAX_SESSIONS = 20
_TRACE = ['["twinbridge-standin"]']


@dataclass(eq=False)
class Connection:
    """One websocket; frames go out through its queue so that their order is
    the order in which the stand-in produced them."""

    ws: web.WebSocketResponse
    compress: bool
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    compressor: Any = None
    session: Session | None = None
    closing: bool = False

    def __post_init__(self) -> None:
        if self.compress:
            self.compressor = zlib.compressobj()

    def send(self, frame: dict) -> None:
        if not self.closing:
            self.queue.put_nowait(frame)

    def close(self, code: int, message: str) -> None:
        if not self.closing:
            self.queue.put_nowait(("close", code, message))
            self.closing = True


@dataclass(eq=False)
class Session:
    id: str
    intents: int
    seq: int = 0
    buffer: deque = field(default_factory=lambda: deque(maxlen=SESSION_BUFFER))
    connection: Connection | None = None

    def send(self, event: str, data: dict) -> None:
        """Number the dispatch in this session, keep it for RESUME, send it if connected."""
        self.seq += 1
        frame = {"op": 0, "t": event, "s": self.seq, "d": data}
        self.buffer.append(frame)
        if self.connection is not None:
            self.connection.send(frame)


class Gateway:
    """``message_content_enabled=False`` is the Message Content intent switched off in
    the Developer Portal: an IDENTIFY asking for it is closed with 4014."""

    def __init__(self, state: DiscordState, *, message_content_enabled: bool):
        self._state = state
        self.message_content_enabled = message_content_enabled
        self.identified = asyncio.Event()  # set by the first accepted IDENTIFY
        self.intents: int | None = None  # from the last IDENTIFY
        self.sessions_started = 0  # IDENTIFYs accepted (fresh sessions; a RESUME is not one)
        self.refusing_connections = False  # see end_sessions()
        self.url = ""  # ws://... once the stand-in listens
        self._sessions: dict[str, Session] = {}
        self._connections: set[Connection] = set()
        state.subscribe(self.dispatch)

    # -- for tests ----------------------------------------------------------------------
    def end_sessions(self, *, refuse_connections: bool = True) -> None:
        """Discord forgets every gateway session and closes their websockets: a RESUME is
        answered with op 9 (not resumable), so the client must IDENTIFY a fresh session,
        which replays nothing. With ``refuse_connections`` the gateway also refuses new
        websockets (HTTP 503) until :meth:`accept_connections`, so that members can
        write while the bot has no session."""
        self.refusing_connections = refuse_connections
        self._sessions.clear()
        for connection in list(self._connections):
            connection.close(4000, "stand-in ended the session")

    def accept_connections(self) -> None:
        self.refusing_connections = False

    async def drop_connections(self, code: int = 4000) -> None:
        """Close every gateway websocket (the sessions stay resumable)."""
        for connection in list(self._connections):
            connection.close(code, "stand-in dropped the connection")

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT, as Discord does before moving a session."""
        for connection in list(self._connections):
            connection.send({"op": 7, "d": None, "s": None, "t": None})

    def close_all(self) -> None:
        for connection in list(self._connections):
            connection.close(1001, "stand-in stopping")

    # -- dispatches ---------------------------------------------------------------------
    def dispatch(self, event: str, data: dict) -> None:
        """Queue a dispatch for every session entitled to it (sessions that are
        momentarily disconnected keep it for RESUME)."""
        direct = event.startswith("MESSAGE_") and "guild_id" not in data
        for session in list(self._sessions.values()):
            if event.startswith("MESSAGE_REACTION_"):
                if not session.intents & (
                    INTENT_DIRECT_MESSAGE_REACTIONS if "guild_id" not in data else INTENT_GUILD_MESSAGE_REACTIONS
                ):
                    continue
            elif event.startswith("MESSAGE_") and not session.intents & (
                INTENT_DIRECT_MESSAGES if direct else INTENT_GUILD_MESSAGES
            ):
                continue
            if event.startswith("GUILD_SCHEDULED_EVENT_"):
                if not session.intents & INTENT_GUILD_SCHEDULED_EVENTS:
                    continue
            elif event.startswith(("GUILD_", "CHANNEL_", "THREAD_")) and not session.intents & INTENT_GUILDS:
                continue
            payload = {k: copy.deepcopy(v) for k, v in data.items() if not k.startswith("_")}
            # DMs with the app are exempt from the Message Content intent.
            if (
                event in ("MESSAGE_CREATE", "MESSAGE_UPDATE")
                and not direct
                and not session.intents & INTENT_MESSAGE_CONTENT
            ):
                self._strip_content(payload)
            session.send(event, payload)

    def _strip_content(self, payload: dict) -> None:
        """What Discord sends without the Message Content intent: no content,
        embeds, attachments or components, except for the bot's own messages
        and messages that mention it."""
        bot_id = str(self._state.bot_id)
        own = payload.get("author", {}).get("id") == bot_id
        mentioned = any(m.get("id") == bot_id for m in payload.get("mentions") or ())
        if own or mentioned:
            return
        payload["content"] = ""
        payload["embeds"] = []
        payload["attachments"] = []
        payload["components"] = []
        payload.pop("poll", None)
        for snapshot in payload.get("message_snapshots") or ():
            inner = snapshot.get("message") or {}
            inner.update(content="", embeds=[], attachments=[], components=[])

    def _ready_payload(self, session: Session) -> dict:
        return {
            "v": 10,
            "user": self._state.bot_user(),
            "user_settings": {},
            "session_type": "normal",
            "guilds": [{"id": str(g), "unavailable": True} for g in self._state.guilds],
            "session_id": session.id,
            "resume_gateway_url": self.url,
            "application": {"id": str(self._state.application_id), "flags": (1 << 19)},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth": {},
            "_trace": _TRACE,
        }

    # -- the websocket ------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.refusing_connections:
            return web.Response(status=503, text="gateway unavailable")
        ws = web.WebSocketResponse(max_msg_size=4 * 1024 * 1024)
        await ws.prepare(request)
        connection = Connection(ws, compress=request.query.get("compress") == "zlib-stream")
        self._connections.add(connection)
        writer = asyncio.create_task(self._write(connection))
        connection.send(
            {"op": 10, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS, "_trace": _TRACE}, "s": None, "t": None}
        )
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    self._on_frame(connection, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    connection.close(4002, "Error while decoding payload.")
                if connection.closing:
                    break
        finally:
            self._connections.discard(connection)
            if connection.session is not None and connection.session.connection is connection:
                connection.session.connection = None
            if not connection.closing:
                connection.queue.put_nowait(None)
            try:
                await asyncio.wait_for(writer, timeout=5)
            except Exception:  # noqa: BLE001 - the peer is gone either way
                writer.cancel()
        return ws

    async def _write(self, connection: Connection) -> None:
        ws = connection.ws
        while True:
            item = await connection.queue.get()
            if item is None:
                return
            if isinstance(item, tuple):
                _, code, message = item
                await ws.close(code=code, message=message.encode())
                return
            if ws.closed:
                return
            text = json.dumps(item, separators=(",", ":"))
            try:
                if connection.compressor is not None:
                    compressor = connection.compressor
                    await ws.send_bytes(compressor.compress(text.encode()) + compressor.flush(zlib.Z_SYNC_FLUSH))
                else:
                    await ws.send_str(text)
            except ConnectionError:
                return

    def _on_frame(self, connection: Connection, raw: str) -> None:
        try:
            frame = json.loads(raw)
            op = frame["op"]
        except (ValueError, KeyError, TypeError):
            connection.close(4002, "Error while decoding payload.")
            return
        data = frame.get("d")
        if op == 1:
            connection.send({"op": 11, "d": None, "s": None, "t": None})
        elif op == 2:
            self._identify(connection, data or {})
        elif op == 6:
            self._resume(connection, data or {})
        elif op in (3, 4, 8):
            if connection.session is None:
                connection.close(4003, "Not authenticated.")
        else:
            connection.close(4001, "Unknown opcode.")

    def _authentic(self, data: dict) -> bool:
        return data.get("token") in (self._state.token, f"Bot {self._state.token}")

    def _identify(self, connection: Connection, data: dict) -> None:
        if connection.session is not None:
            connection.close(4005, "Already authenticated.")
            return
        if not self._authentic(data):
            connection.close(4004, "Authentication failed")
            return
        intents = data.get("intents")
        if not isinstance(intents, int):
            connection.close(4013, "Invalid intent(s).")
            return
        if intents & INTENT_MESSAGE_CONTENT and not self.message_content_enabled:
            connection.close(4014, "Disallowed intent(s).")
            return
        self.intents = intents
        session = Session(id=secrets.token_hex(16), intents=intents)
        if len(self._sessions) >= MAX_SESSIONS:
            stale = next((s for s in self._sessions.values() if s.connection is None), None)
            if stale is not None:
                del self._sessions[stale.id]
        self._sessions[session.id] = session
        self.sessions_started += 1
        session.connection = connection
        connection.session = session
        # READY, then one GUILD_CREATE per guild, each numbered in this session.
        session.send("READY", self._ready_payload(session))
        if intents & INTENT_GUILDS:
            for guild_id in self._state.guilds:
                session.send("GUILD_CREATE", self._state.guild_payload(guild_id))
        self.identified.set()

    def _resume(self, connection: Connection, data: dict) -> None:
        if not self._authentic(data):
            connection.close(4004, "Authentication failed")
            return
        session = self._sessions.get(data.get("session_id") or "")
        last_seq = data.get("seq") or 0
        oldest = session.buffer[0]["s"] if session and session.buffer else 1
        if session is None or last_seq + 1 < oldest:
            connection.send({"op": 9, "d": False, "s": None, "t": None})
            return
        if session.connection is not None and session.connection is not connection:
            session.connection.close(4000, "Session resumed elsewhere")
        session.connection = connection
        connection.session = session
        for frame in session.buffer:
            if frame["s"] > last_seq:
                connection.send(frame)
        session.send("RESUMED", {"_trace": _TRACE})
