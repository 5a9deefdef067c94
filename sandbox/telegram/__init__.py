"""A protocol-level stand-in of the Telegram Bot API on loopback.

The real aiogram client talks to it over HTTP exactly as it would to
api.telegram.org (``{url}/bot{token}/{method}``, form, multipart or JSON
bodies, the real response envelope and error bodies). Tests and the demo play
the members' side through :meth:`TelegramStandIn.inject_message` and friends,
and read what members would see through :meth:`TelegramStandIn.transcript`.

What it checks like Telegram does: the token (401), the method (404), text
length after entity parsing (4096, counted in UTF-16 code units), HTML
entities (only Telegram's tags, balanced, with ``<``/``>``/``&`` escaped),
replies to missing messages, edits of others' or missing messages, "message is
not modified", deletes of missing messages, and one long poller per token
(an older ``getUpdates`` is answered 409 when a newer one arrives).

Private chats (chat id == user id, type "private"): a bot cannot write first.
Sending to a user who has not written to the bot in private (``/start``, see
:meth:`TelegramStandIn.start_private`) is answered 403 "bot can't initiate
conversation with a user"; :meth:`block_bot` gives "bot was blocked by the
user". Inline keyboards on the bot's messages (``reply_markup`` with
``inline_keyboard``; buttons need ``text`` and one action, ``callback_data``
1-64 bytes) are checked, stored and echoed; ``editMessageText`` and
``editMessageReplyMarkup`` without ``reply_markup`` remove the keyboard, as on
Telegram. A member pressing a button is :meth:`inject_callback`, a
``callback_query`` update; ``answerCallbackQuery`` is accepted once per query
and recorded in :attr:`callback_answers`. Members' leading ``/command`` (also
``/command@bot_username``) carries a ``bot_command`` entity. Group administrators:
:meth:`TelegramStandIn.make_admin` makes a member one (or the owner), as
``getChatMember`` and ``getChatAdministrators`` then report (ChatMemberAdministrator /
ChatMemberOwner; "member" for others who wrote there; "there are no administrators in
the private chat"); :meth:`TelegramStandIn.inject_as_group` is an anonymous
administrator writing as the group (``sender_chat`` the group, ``from``
@GroupAnonymousBot).

Opt-in, for benchmarks (off by default, so tests see the stand-in as before):
``enforce_limits=True`` answers sends (``sendMessage``, ``editMessageText``) over
Telegram's published limits with 429 "Too Many Requests: retry after N" and
``parameters.retry_after``: at most 1 per chat per second, 20 per group per
minute, 30 per bot per second (sliding windows of accepted sends; the limits are
``CHAT_LIMIT``, ``GROUP_LIMIT``, ``BOT_LIMIT`` in
:mod:`sandbox.telegram.ratelimits`). Every 429 sent,
planned ones included, is counted in :attr:`TelegramStandIn.rate_limited_responses`
(and by the limit that refused it, "chat", "group" or "bot", in
:attr:`TelegramStandIn.rate_limited_by`).
``receipts=True`` stamps each sent message (:meth:`TelegramStandIn.sent`) with
``received_at``: ``time.perf_counter()`` when its request reached the stand-in.

Documents (issue 14): ``sendDocument`` takes a multipart upload (the part itself or
``attach://<part>``, as aiogram sends it) or a file_id sent before, with a caption (1024
after entity parsing), a reply and a keyboard; :meth:`TelegramStandIn.documents` has
them with their bytes (:meth:`sent` lists ``sendMessage`` only). ``pinChatMessage`` /
``unpinChatMessage`` keep :meth:`pinned`; in a group where the bot may not pin
(:meth:`deny_pin`) they answer 400 "not enough rights to manage pinned messages in the
chat". HTML's ``<tg-time unix=".." format="..">`` becomes a ``date_time`` entity
(``unix_time``, ``date_time_format``, the format checked against ``r|w?[dD]?[tT]?``).

Files of every kind both ways (issue 15): :mod:`sandbox.telegram.media` (uploads kept for
:meth:`TelegramStandIn.uploads`, media groups, editMessageCaption, getFile and streamed
downloads with the Bot API's limits; :meth:`TelegramStandIn.inject_media` and
:meth:`TelegramStandIn.inject_album` for members' files).

Deliberately not modelled: thumbnails, files by URL, the service message a
pin leaves, Markdown parse modes (the
text is taken as plain), groups the bot was never told about (any negative
chat id exists; use :meth:`remove_bot` to get "bot was kicked"), reply
keyboards and force-reply (accepted, not stored), inline mode and inline
messages, ``my_chat_member`` updates, the wall-clock expiry of callback
queries (use :meth:`expire_callbacks`).

The parts, one concern each: ``state`` (chats, messages, what the bot sent, the
members' side), ``updates`` (the update queue and long polling), ``methods`` (the Bot
API methods), ``ratelimits`` (the opt-in sending limits); ``protocol`` (parameters and
error bodies), ``formatting`` (HTML parse mode, entities) and ``keyboards`` (inline
keyboards) are shared by them; ``standin`` composes them.
"""

from sandbox.telegram.standin import TelegramStandIn

__all__ = ["TelegramStandIn"]
