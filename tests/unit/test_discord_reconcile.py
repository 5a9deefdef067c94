"""The pure parts of reconciling a Discord channel after a new session, and of taking a
bulk delete's consecutive deletes together."""

from __future__ import annotations

from bridge.discord.reconcile import compare
from bridge.outbox.deletes import take_positioned_deletes_after
from core.models import ChatRef, EventKind, MessageRef, OutboundPost


def test_missing_from_a_complete_read_is_deleted_edited_ones_are_found():
    deleted, edited = compare(accepted=[10, 20, 30, 40], seen=[50, 40, 30, 10], edited={30, 50}, complete=True)
    assert deleted == [20]
    assert edited == [30]  # 50 was never accepted (not ours to edit)


def test_an_incomplete_read_judges_only_what_it_covered():
    # The limit stopped the read at 30: 10 and 20 may still be there.
    deleted, edited = compare(accepted=[10, 20, 35, 40], seen=[50, 40, 30], edited=set(), complete=False)
    assert deleted == [35] and edited == []
    assert compare(accepted=[10], seen=[], edited=set(), complete=False) == ([], [])
    assert compare(accepted=[], seen=[1], edited={1}, complete=True) == ([], [])


def test_everything_gone_from_a_complete_read():
    assert compare(accepted=[10, 20], seen=[], edited=set(), complete=True) == ([10, 20], [])


def _delete(seq: int, destination: str = "-100", kind: EventKind = EventKind.DELETE, **extra) -> OutboundPost:
    return OutboundPost(
        kind=kind,
        link_id="twins",
        destination=ChatRef("telegram", destination),
        source=MessageRef("discord", "7", str(seq)),
        sender="",
        community="",
        seq=seq,
        **extra,
    )


def test_consecutive_positioned_deletes_go_together_nothing_overtakes():
    by_seq = {
        6: [("e6", _delete(6), 0.0)],
        7: [("e7", _delete(7), 0.0)],
        8: [("e8", _delete(8, kind=EventKind.NEW), 0.0)],
        9: [("e9", _delete(9), 0.0)],
    }
    taken = take_positioned_deletes_after(by_seq, _delete(5))
    assert [entry for entry, _ in taken] == ["e6", "e7"]
    assert sorted(by_seq) == [8, 9]  # the new post at 8 stops it; 9 waits behind it
    assert take_positioned_deletes_after({7: [("e7", _delete(7), 0.0)]}, _delete(5)) == []  # a gap
    assert take_positioned_deletes_after({6: [("e6", _delete(6, destination="-200"), 0.0)]}, _delete(5)) == []
