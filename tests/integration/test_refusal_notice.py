"""A file a destination would not take is told to its sender once (issue 15,
bridge/media/refusals.py): one notice per source message in the source chat's outbox
(real Redis), whatever the number of destinations or retries, in the source
community's language, replying to the member's message, with the file's name and the
reason and nothing else of theirs."""

from __future__ import annotations

import pytest

from bridge.media.refusals import Refusal, RefusalNotices, collecting, refused
from core.links import load_links
from core.models import ChatRef, EventKind, MessageRef, OutboundPost
from core.storage.outbox import load_post

pytestmark = pytest.mark.integration

SOURCE = MessageRef("telegram", "-1001000000001", "42")
CONFIG = """
version: 1
communities:
  krefeld: {name: Krefeld, language: de, chats: [{telegram: -1001000000001}]}
  leicester: {name: Leicester, language: en, chats: [{discord: 112233445566778899}]}
  masaya: {name: Masaya, language: es, chats: [{discord: 112233445566778800}]}
links:
  - {id: twins, communities: [krefeld, leicester, masaya], policy: community}
"""


def a_post(destination: str) -> OutboundPost:
    return OutboundPost(
        kind=EventKind.NEW,
        link_id="twins",
        destination=ChatRef("discord", destination),
        source=SOURCE,
        sender="Blue Heron 4",
        community="Krefeld",
        text="Das Konzert gestern",
        author="p:abc",
        written_at=1.0,
    )


async def test_one_notice_per_source_message_in_the_senders_language(tmp_path, aredis, keys):
    path = tmp_path / "links.yaml"
    path.write_text(CONFIG)
    notices = RefusalNotices(aredis, keys, load_links(path))
    with collecting() as found:
        refused("IMG_2031.jpg", "photo", "too_large", "discord", 12_000_000, 10 * 1024 * 1024)
    refused("ignored.jpg", "photo", "refused", "discord")  # outside a delivery: nothing recorded
    assert found == [Refusal("IMG_2031.jpg", "photo", "too_large", "discord", 12_000_000, 10 * 1024 * 1024)]

    assert await notices.tell(a_post("112233445566778899"), found)
    assert not await notices.tell(a_post("112233445566778899"), found)  # a retry
    assert not await notices.tell(a_post("112233445566778800"), found)  # another destination

    entries = await aredis.xrange(keys.outbox("telegram"))
    assert len(entries) == 1
    notice = load_post(entries[0][1])
    assert notice.kind == EventKind.NOTICE and notice.destination == SOURCE.chat and notice.reply_to == SOURCE
    assert notice.text == (
        "Dein Foto IMG_2031.jpg konnte in Leicester nicht gezeigt werden: "
        "zu groß für Discord (12.0 MB, Grenze 10.5 MB)."
    )
    assert "Konzert" not in notice.text and "Heron" not in notice.text
    assert notice.author == "p:abc"  # erased with the rest of the member's
    assert 0 < await aredis.ttl(keys.refusal_told(SOURCE.key)) <= 30 * 86400
