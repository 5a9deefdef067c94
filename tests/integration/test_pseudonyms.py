"""Pseudonyms in a link of 500 members (real Redis, the workers' allocator):
unique within the link, stable per member, expiring with the link's retention,
shown by /mydata and gone after erasure."""

from __future__ import annotations

import textwrap

import pytest

from core.storage.keys import DAY
from core.links import load_links
from core.models import Author, EventKind, MessageRef, PlatformEvent
from workers import rights
from workers.pipeline import Context, plan
from workers.privacy import PseudonymBook, pseudonym_for

from ..helpers import SCHOOL_CLASSES_LINKS

pytestmark = pytest.mark.integration

KEY = "test-pseudonym-key-0123456789abcdef"
MEMBERS = 500


@pytest.fixture
def ctx(tmp_path, sync_redis, keys):
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(SCHOOL_CLASSES_LINKS))
    return Context(
        load_links(path, pseudonym_key=KEY), pseudonym_key=KEY, pseudonyms=PseudonymBook(sync_redis, keys, KEY)
    )


def shown(ctx, member: int) -> str:
    event = PlatformEvent(
        kind=EventKind.NEW,
        source=MessageRef("telegram", "-1002", str(member)),
        text="Hi",
        author=Author(id=str(700000 + member), display_name=f"Pupil {member}"),
    )
    [post] = plan(event, ctx, approved_link="classes")
    return post.sender


def test_500_members_of_one_link_have_distinct_stable_pseudonyms(ctx, sync_redis, keys):
    # What a keyed hash alone gives these members: some share a name.
    derived = [pseudonym_for("telegram", str(700000 + m), "classes", KEY) for m in range(MEMBERS)]
    assert len(set(derived)) < MEMBERS

    names = [shown(ctx, m) for m in range(MEMBERS)]
    assert len(set(names)) == MEMBERS
    assert [shown(ctx, m) for m in range(0, MEMBERS, 7)] == names[::7]  # stable
    # Most keep the name the hash proposes (only the clashing ones move on).
    assert sum(a == b for a, b in zip(names, derived, strict=True)) >= MEMBERS - 10
    user = f"telegram:{700000 + 3}"
    assert 0 < sync_redis.ttl(keys.pseudonym("classes", user)) <= 7 * DAY
    assert 0 < sync_redis.ttl(keys.pseudonym_claim("classes", names[3])) <= 7 * DAY
    assert rights.export_user(sync_redis, keys, ctx.config, user, KEY)["pseudonyms"] == {"classes": names[3]}

    rights.erase_user(sync_redis, keys, ctx.config, user)
    assert not sync_redis.exists(keys.pseudonym("classes", user), keys.pseudonym_claim("classes", names[3]))
    assert rights.export_user(sync_redis, keys, ctx.config, user, KEY)["pseudonyms"] == {}
