"""core/thread_heads.py: the "🧵 name" line a thread's message crosses with, named and dropped."""

from __future__ import annotations

from core import formatting as fmt
from core.models import ChatRef, EventKind, MessageRef, OutboundPost
from core.thread_heads import head_of, without_head


def post(text: str, formatting=(), original: str = "", original_formatting=()) -> OutboundPost:
    return OutboundPost(
        kind=EventKind.NEW,
        link_id="l",
        destination=ChatRef("telegram", "-1"),
        source=MessageRef("discord", "1", "2"),
        sender="Jonas",
        community="Krefeld",
        text=text,
        formatting=formatting,
        original=original,
        original_formatting=original_formatting,
        thread="5",
    )


def test_the_name_is_the_first_line_after_the_mark():
    assert head_of("🧵 Stammtisch\nHallo") == "Stammtisch"
    assert head_of("Hallo\n🧵 nicht hier") == ""
    assert head_of("🧵 " + "x" * 300) == "x" * 100  # Discord's thread names


def test_the_line_goes_with_its_formatting_and_the_original_s():
    bold = fmt.Span(len("🧵 Stammtisch\n"), len("🧵 Stammtisch\nHallo"), "bold")
    shown = without_head(post("🧵 Summer visit\nHallo there", (bold,), "🧵 Stammtisch\nHallo", (bold,)))
    assert shown.text == "Hallo there"
    assert shown.original == "Hallo" and shown.original_formatting == (fmt.Span(0, 5, "bold"),)
    assert without_head(post("no line")).text == "no line"
    assert without_head(post("🧵 only the name")).text == "🧵 only the name"  # nothing else to show
