"""/console and the console's sign-in links and sessions in a real Redis (issue 18): only a
hash is stored, a link works once and for ten minutes, the link is said only privately."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

from core.models import Author, Command
from core.storage import console
from core.storage.keys import Keys
from workers import console_signin

from ..helpers import SCHOOL_CLASSES_LINKS, write_links

LINKS = SCHOOL_CLASSES_LINKS


def _command(user_id: str, *, private: bool) -> Command:
    return Command(
        name="console",
        args="",
        platform="telegram",
        chat_id=user_id if private else "-1002",
        message_id="7",
        user=Author(id=user_id, display_name="Mrs Patel"),
        private=private,
    )


def test_a_sign_in_link_is_stored_as_a_hash_works_once_and_expires(sync_redis, keys: Keys, prefix):
    token = console.new_signin(sync_redis, keys, "telegram:9001")
    stored = list(sync_redis.scan_iter(match=f"{prefix}console:signin:*"))
    assert stored == [keys.console_signin(hashlib.sha256(token.encode()).hexdigest())]
    assert token not in sync_redis.get(stored[0]) and 590 <= sync_redis.ttl(stored[0]) <= 600
    # Opened in two tabs at once: one session.
    with ThreadPoolExecutor(4) as pool:
        taken = list(pool.map(lambda _: console.take_signin(sync_redis, keys, token), range(4)))
    assert taken.count("telegram:9001") == 1 and taken.count(None) == 3
    assert console.take_signin(sync_redis, keys, "") is None
    assert console.take_signin(sync_redis, keys, "x" * 500) is None


def test_a_session_expires_and_ends(sync_redis, keys: Keys, prefix):
    cookie, session = console.new_session(sync_redis, keys, "telegram:9001")
    [key] = sync_redis.scan_iter(match=f"{prefix}console:session:*")
    assert cookie not in key and 8 * 3600 - 10 <= sync_redis.ttl(key) <= 8 * 3600
    assert console.session(sync_redis, keys, cookie) == session and len(session.csrf) >= 40
    console.end_session(sync_redis, keys, cookie)
    assert console.session(sync_redis, keys, cookie) is None


def test_console_answers_privately_and_only_those_the_configuration_names(tmp_path, sync_redis, keys: Keys):
    config = write_links(tmp_path, LINKS)
    url = "https://console.example.org"
    [answer] = console_signin.handle(_command("9001", private=False), config, sync_redis, keys, url)
    # Said in the class group: sent privately; where that fails the group hears only how to open a chat.
    assert answer.private_to == "9001" and f"{url}/signin/" in answer.text and "/signin/" not in answer.fallback
    token = answer.text.rsplit("/signin/", 1)[1]
    assert console.take_signin(sync_redis, keys, token) == "telegram:9001"
    [refused] = console_signin.handle(_command("5001", private=True), config, sync_redis, keys, url)
    assert refused.text == console_signin.NOT_NAMED and "/signin/" not in refused.text
    [unset] = console_signin.handle(_command("9001", private=True), config, sync_redis, keys, "")
    assert unset.text == console_signin.NOT_SET_UP
