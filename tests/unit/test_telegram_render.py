"""How relayed posts are written for Telegram; checked against the stand-in's
HTML parser, which rejects what Telegram rejects."""

from __future__ import annotations

import pytest

from core.models import Attachment, ChatRef, EventKind, MessageRef, OutboundPost
from sandbox.telegram.formatting import parse_html
from sandbox.telegram.protocol import ApiError
from bridge.telegram.render import TEXT_LIMIT, render_parts, split_text, utf16_len


def post(text: str = "Hallo", **changes) -> OutboundPost:
    fields = dict(
        kind=EventKind.NEW,
        link_id="leicester-krefeld",
        destination=ChatRef("telegram", "-1001000000001"),
        source=MessageRef("discord", "112233445566778899", "1"),
        sender="Jonas",
        community="Krefeld",
        text=text,
    )
    fields.update(changes)
    return OutboundPost(**fields)


def shown(html_text: str) -> str:
    """What members see: the text after Telegram parses the HTML."""
    return parse_html(html_text)[0]


def test_label_is_bold_and_text_follows():
    assert render_parts(post("Hallo zusammen")) == ["<b>Jonas · Krefeld:</b> Hallo zusammen"]


def test_markup_typed_by_a_member_arrives_escaped():
    [html_text] = render_parts(post("<b>hi</b> & <a href='x'>y</a>", sender="<i>Eve</i> & co"))
    assert html_text == (
        "<b>&lt;i&gt;Eve&lt;/i&gt; &amp; co · Krefeld:</b> &lt;b&gt;hi&lt;/b&gt; &amp; &lt;a href='x'&gt;y&lt;/a&gt;"
    )
    text, entities = parse_html(html_text)
    assert text == "<i>Eve</i> & co · Krefeld: <b>hi</b> & <a href='x'>y</a>"
    assert [e["type"] for e in entities] == ["bold"]  # only our label


def test_entity_lookalikes_stay_literal():
    [html_text] = render_parts(post("&amp; &lt; &#60;"))
    assert shown(html_text) == "Jonas · Krefeld: &amp; &lt; &#60;"


def test_notes_are_italic_lines_and_attachments_a_plain_marker():
    [html_text] = render_parts(
        post(
            "Schönes Foto",
            notes=("not translated", "<original>"),
            attachments=(Attachment("photo", "x"), Attachment("document", "y")),
        )
    )
    assert html_text == (
        "<b>Jonas · Krefeld:</b> Schönes Foto\n<i>not translated</i>\n<i>&lt;original&gt;</i>\n[photo] [document]"
    )
    assert shown(html_text).endswith("[photo] [document]")


def test_attachment_only_post():
    assert render_parts(post("", attachments=(Attachment("photo", "x"),))) == ["<b>Jonas · Krefeld:</b> [photo]"]


def test_hidden_sender_shows_the_community_only():
    assert render_parts(post("Hi", sender="")) == ["<b>Krefeld:</b> Hi"]


def test_mentions_do_not_ping_unless_allowed():
    [quiet] = render_parts(post("ask @anna_smith or mail a@b.de"))
    assert "@anna_smith" not in shown(quiet) and "@\u2060anna_smith" in shown(quiet)
    assert "a@b.de" in shown(quiet)
    [loud] = render_parts(post("ask @anna_smith", allow_mentions=True))
    assert "@anna_smith" in shown(loud)


def test_text_over_the_limit_is_split_at_paragraphs_with_the_label_first():
    paragraph = ("Wir freuen uns auf euren Besuch im Mai. " * 20).strip()
    text = "\n\n".join([paragraph] * 8)  # about 6300 characters
    parts = render_parts(post(text))
    assert len(parts) == 2
    assert parts[0].startswith("<b>Jonas · Krefeld:</b> ")
    assert "Krefeld" not in parts[1]
    for part in parts:
        assert utf16_len(shown(part)) <= TEXT_LIMIT
    # Nothing lost, nothing doubled, cut between paragraphs.
    body = [shown(parts[0])[len("Jonas · Krefeld: ") :], shown(parts[1])]
    assert "\n\n".join(body) == text
    assert body[0].endswith("Mai.") and body[1].startswith("Wir")


def test_a_paragraph_longer_than_the_limit_splits_at_sentences_then_words():
    sentence_text = " ".join(f"Satz Nummer {i} ist hier." for i in range(400))  # one paragraph, ~9500 chars
    parts = render_parts(post(sentence_text))
    assert len(parts) == 3
    for part in parts:
        assert utf16_len(shown(part)) <= TEXT_LIMIT
        assert shown(part).endswith(".")
    words = " ".join(["Wort"] * 2000)  # no sentence ends at all
    chunks = split_text(words, 4096, 4096)
    assert all(chunk.split() == ["Wort"] * len(chunk.split()) for chunk in chunks)
    assert " ".join(chunks) == words


def test_escaping_does_not_count_against_the_limit_but_emoji_count_double():
    amp = render_parts(post("&" * 4000))
    assert len(amp) == 1  # 4000 visible characters, 20000 in HTML
    emoji = render_parts(post("😀" * 3000))  # 6000 UTF-16 units
    assert len(emoji) == 2
    assert all(utf16_len(shown(p)) <= TEXT_LIMIT for p in emoji)


def test_a_note_that_does_not_fit_moves_to_the_next_message():
    text = "x " * 2040  # with the label, exactly fills the first message
    parts = render_parts(post(text.strip(), notes=("not translated",)))
    assert len(parts) == 2
    assert parts[1] == "<i>not translated</i>"


def test_one_huge_word_is_cut_hard():
    parts = render_parts(post("a" * 9000))
    assert [utf16_len(shown(p)) for p in parts] == [4096, 4096, 9000 - (4096 - len("Jonas · Krefeld: ")) - 4096]


@pytest.mark.parametrize("bad", ["<b>x", "a < b", "<script>x</script>", "a & b", "<b><i>x</b></i>"])
def test_the_stand_in_rejects_what_telegram_rejects(bad):
    with pytest.raises(ApiError) as caught:
        parse_html(bad)
    assert caught.value.description.startswith("Bad Request: can't parse entities")


def test_a_chosen_name_stays_on_one_line_and_cannot_pose_as_another_community():
    [html_text] = render_parts(post("hi", sender="Admin · Leicester\n<b>Bot</b>\u202e"))
    assert html_text == "<b>Admin - Leicester &lt;b&gt;Bot&lt;/b&gt; · Krefeld:</b> hi"
    assert [e["type"] for e in parse_html(html_text)[1]] == ["bold"]


def test_commands_typed_by_a_member_are_not_tappable():
    [html_text] = render_parts(post("tap /forgetme@twinbridge_bot or /consent, see https://x.org/a 1/2"))
    assert html_text == (
        "<b>Jonas · Krefeld:</b> tap /\u2060forgetme@twinbridge_bot or /\u2060consent, see https://x.org/a 1/2"
    )
