"""A protocol-level stand-in of Discord on loopback, for the demo and the tests.

The real discord.py client talks to it exactly as it talks to Discord: REST
under ``/api/v10`` (bot and webhook routes, with Discord's error bodies and
``X-RateLimit-*`` headers) and the gateway websocket at ``/gateway`` (HELLO,
heartbeats, IDENTIFY/READY/GUILD_CREATE, RESUME with replay, zlib-stream
compression when asked for). Like Discord, it dispatches MESSAGE_CREATE /
UPDATE / DELETE for *every* message in a guild channel, including the bot's
own and its webhooks' posts, so the bridge's loop prevention meets the real
echo.

Members are simulated with :meth:`DiscordStandIn.inject_message` and friends;
what the bridge sent is read back with :meth:`posts`, :meth:`transcript` and
:attr:`requests`; :meth:`fail_next` injects Discord-shaped failures.

Roles: :meth:`DiscordStandIn.add_role` (a role with a permission bit set, in the guild's
GUILD_CREATE and dispatched as GUILD_ROLE_CREATE) and :meth:`give_role`: a member's
messages carry their ``member.roles``, their interactions ``member.roles`` and
``member.permissions`` (every bit with Administrator), as Discord sends them.

Direct messages: ``POST /users/@me/channels`` opens one DM channel (type 1,
a stable id) per user; the bot posts there like in any channel, unless the
user has DMs closed (:meth:`close_dms`: 403, code 50007). DM messages are
dispatched only to sessions with the Direct Messages intent, with their
content (DMs are exempt from the Message Content intent).

Message components: the bot's messages (bot, webhook and interaction routes,
and their edits) may carry action rows of buttons; their shape is checked
(400, 50035 Invalid Form Body with the failing field's path) and they are
stored and echoed. A member pressing a button is
:meth:`inject_component_click` and running a registered slash command is
:meth:`inject_slash_command`: both dispatch INTERACTION_CREATE as Discord
sends it. ``POST /interactions/{id}/{token}/callback`` (types 4, 5, 6, 7 and
9; flag 64 makes it ephemeral) must come within :attr:`interaction_ack_deadline`
seconds and only once (400, 40060); follow-ups go through
``/webhooks/{application_id}/{token}`` (the first one after a type 5 defer
replaces its "thinking" message) and ``.../messages/@original``. Everything
answered is in :attr:`interaction_responses`. Application commands are
bulk-overwritten with ``PUT /applications/{id}/commands`` (global) and
``PUT /applications/{id}/guilds/{guild_id}/commands``.

Attachments, pins and scheduled events (issue 14): a message (bot, webhook) may come
as multipart with ``payload_json`` and ``files[n]`` parts, as discord.py sends files; the
attachments are stored (their bytes in :meth:`posts` and :meth:`attachment_bytes`) and an
edit keeps them unless its ``attachments`` says otherwise. Pins: ``PUT``/``DELETE
/channels/{c}/messages/pins/{m}`` (discord.py 2.7's route) and the older
``/channels/{c}/pins/{m}``, read with :meth:`pinned`. ``POST /guilds/{g}/scheduled-events``
makes an external event (:meth:`events`). ``pin_messages=False`` and
``manage_events=False`` (also settable later) answer those 403 Missing Permissions.

Opt-in, for benchmarks (off by default): ``global_limit=(50, 1.0)`` adds
Discord's global bucket over every REST request, webhook executions included
(the limit Discord applies per bot, or per IP without a bot token) except
interaction callbacks, answered with a ``"global": true`` 429 and
``X-RateLimit-Global``; ``receipts=True`` stamps each post (:meth:`posts`)
with ``received_at``: ``time.perf_counter()`` when its request reached the
stand-in. :attr:`post_count` counts posts without copying them.

Deliberately not modelled: select menus beyond their custom_id (stored, not
clickable), components v2, modals' submission, autocomplete, subcommands
and option types other than string, integer, boolean and number, group DMs,
command permissions beyond ``default_member_permissions`` (a member lacking them cannot run
the command, as the client does not offer it), and the 15-minute interaction token beyond refusing
follow-ups after it.

The parts, one concern each: ``state`` (the recorded world), ``rest`` (the bot's
REST routes), ``webhooks``, ``interactions`` and ``app_commands``, ``gateway``,
``ratelimits``, ``faults`` (injected failures) and ``middleware`` (what every REST
request meets first); ``protocol`` (Discord's numbers and error bodies) and
``forms`` (body checks) are shared by them; ``standin`` composes them.
"""

from sandbox.discord.standin import DiscordStandIn

__all__ = ["DiscordStandIn"]
