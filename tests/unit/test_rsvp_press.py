"""A button press as a command (issue 14): RSVP buttons are recognised, each press is its
own command (Going, then Maybe on one message are two; a redelivery of one is the same),
and an RSVP takes no place among its chat's messages."""

from __future__ import annotations

from core.announcements import rsvp_button_data
from core.chat_commands import parse_button, pressed
from core.models import Author, Command


def press(name="rsvp", args="a7k2m9 going", press_id="q1", message_id="77", private=False, via="button") -> Command:
    return Command(
        name=name,
        args=args,
        platform="telegram",
        chat_id="-1001",
        message_id=message_id,
        user=Author(id="5001", display_name="Anna"),
        private=private,
        via=via,
        press_id=press_id,
    )


def test_rsvp_buttons_are_the_rsvp_command():
    assert parse_button(rsvp_button_data("a7k2m9", "maybe")) == ("rsvp", "a7k2m9 maybe")
    assert parse_button("rsvp:a7k2m9:perhaps") is None
    assert parse_button("rsvp::going") is None
    assert parse_button("approve:h1") == ("approve", "h1")


def test_the_answer_at_once_is_the_choice_in_the_chats_language():
    assert pressed("rsvp", "a7k2m9 going", "de") == "✓ Dabei"
    assert pressed("rsvp", "a7k2m9 cant", "en") == "✓ Can't"
    assert pressed("rsvp", "a7k2m9 maybe", "xx") == "✓ Maybe"  # English for a language without words
    assert pressed("approve", "h1", "de") == "…"


def test_each_press_is_its_own_command():
    going, maybe = press(args="a7k2m9 going", press_id="q1"), press(args="a7k2m9 maybe", press_id="q2")
    assert going.dedup_key != maybe.dedup_key
    assert press(press_id="q1").dedup_key == press(press_id="q1").dedup_key  # a redelivery
    # The same choice pressed twice is two presses too: counting it once is the store's.
    assert press(press_id="q1").dedup_key != press(press_id="q3").dedup_key
    # Typed commands (no press) are named as before.
    typed = press(name="consent", args="", press_id="", via="message")
    assert typed.dedup_key == press(name="consent", args="", press_id="", via="message").dedup_key


def test_an_rsvp_waits_for_nothing_in_its_chat():
    rsvp = press()
    assert not rsvp.ordered
    assert rsvp.order_key.startswith("own:") and "-1001" not in rsvp.order_key and "5001" not in rsvp.order_key
    assert press(press_id="q2").order_key != rsvp.order_key
    approve = press(name="approve", args="h1")
    assert approve.ordered and approve.order_key == "telegram:-1001"
    assert not press(name="approve", args="h1", private=True).ordered


def test_a_command_round_trips_with_its_press():
    command = press(press_id="8123456789")
    assert Command.from_dict(command.to_dict()) == command
    # A command queued by an earlier version (no press id) still reads.
    old = command.to_dict()
    del old["press_id"]
    assert Command.from_dict(old).press_id == ""
