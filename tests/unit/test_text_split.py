"""core.text.split_text: the one splitter behind Telegram's and Discord's
message limits and the translators' request limits."""

from __future__ import annotations

import random
import unicodedata

import pytest

from core.text import split_text, utf16_len


def test_a_text_that_fits_is_one_part_stripped():
    assert split_text("  Hallo!  ", 10) == ["Hallo!"]
    assert split_text("   ", 10) == []
    assert split_text("  ", 10, keep_whitespace=True) == ["  "]
    assert split_text("", 10, keep_whitespace=True) == [""]


def test_boundaries_in_order_paragraph_line_sentence_word():
    paragraph, line = "A" * 30 + ".", "B" * 20 + "."
    assert split_text(f"{paragraph}\n\n{line}\n{line}", 60) == [paragraph, f"{line}\n{line}"]
    lines = "Aa. " * 8 + "Aa.\nBb. Bb. Bb."  # the line ends at 35 of 45, sentences later
    assert split_text(lines, 45) == ["Aa. " * 8 + "Aa.", "Bb. Bb. Bb."]
    sentences = "Eins zwei drei. Vier fünf sechs. Sieben acht neun."
    assert split_text(sentences, 35) == ["Eins zwei drei. Vier fünf sechs.", "Sieben acht neun."]
    assert split_text("alpha beta gamma delta epsilon", 20) == ["alpha beta gamma", "delta epsilon"]
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_a_weaker_boundary_wins_when_the_stronger_would_leave_the_part_too_empty():
    text = "Hi.\n\n" + "word " * 30  # the paragraph break comes after 3 of 100 characters
    parts = split_text(text, 100)
    assert len(parts[0]) > 50 and parts[0].startswith("Hi.\n\nword")
    # With min_fill 0 the strongest boundary is taken wherever it is.
    assert split_text(text, 100, min_fill=0)[0] == "Hi."


def test_chinese_and_japanese_sentences_end_without_a_space():
    text = "我们期待五月的访问。" * 30  # 300 characters, no spaces at all
    parts = split_text(text, 100)
    assert all(part.endswith("。") and len(part) <= 100 for part in parts)
    assert "".join(parts) == text


def test_a_space_right_after_the_room_counts_where_whitespace_is_dropped():
    assert split_text("abcd efgh", 4) == ["abcd", "efgh"]
    assert split_text("abcd efgh", 4, keep_whitespace=True) == ["abcd", " ", "efgh"]


def test_the_first_part_may_have_less_room():
    parts = split_text("word " * 100, 50, first_limit=20)
    assert len(parts[0]) <= 20 and all(len(p) <= 50 for p in parts[1:])
    assert " ".join(parts).split() == ["word"] * 100


def test_telegram_counts_utf16_code_units_and_never_splits_an_emoji():
    parts = split_text("😀" * 30, 11, measure=utf16_len)
    assert [utf16_len(p) for p in parts] == [10] * 6
    assert all(len(p.encode("utf-16-le")) % 4 == 0 for p in parts)  # whole surrogate pairs


@pytest.mark.parametrize(
    "grapheme",
    [
        "e\u0301",  # e + combining acute
        "👩\u200d👩\u200d👧",  # a family: emoji joined by zero-width joiners
        "👍🏽",  # a thumb with a skin tone
        "🇩🇪",  # a flag: two regional indicators
        "☺\ufe0f",  # an emoji presentation selector
    ],
)
def test_a_hard_cut_leaves_graphemes_whole(grapheme):
    text = grapheme * 40
    for limit in range(8, 30):
        parts = split_text(text, limit)
        assert "".join(parts) == text
        assert all(len(p) <= limit and len(p) % len(grapheme) == 0 for p in parts), (limit, parts)


def test_flags_are_cut_between_pairs():
    flags = "🇩🇪🇬🇧🇫🇷🇳🇮" * 5
    for part in split_text(flags, 9):
        assert len(part) % 2 == 0


def test_a_hard_cut_keeps_a_markdown_escape_with_its_character():
    text = "\\*" * 30
    for limit in range(5, 20):
        parts = split_text(text, limit, markdown_escapes=True)
        assert all(not p.endswith("\\") or p.endswith("\\\\") for p in parts)
        assert "".join(parts) == text
    assert split_text(text, 5)[0] == "\\*\\*\\"  # without the rule the cut may fall after the backslash


def test_keep_whitespace_joins_back_exactly():
    text = "First line.\n\n  Second   paragraph, long enough to need cutting. Another sentence!\n" * 5
    parts = split_text(text, 40, keep_whitespace=True, min_fill=0)
    assert "".join(parts) == text
    assert all(len(p) <= 40 for p in parts)


@pytest.mark.parametrize("seed", range(5))
def test_random_texts_keep_every_promise(seed):
    rng = random.Random(seed)
    atoms = ["word", "Wort", "a", "x" * 15, " ", " ", "\n", "\n\n", ". ", "! ", "😀", "e\u0301", "。", "\\*", "🇩🇪"]
    for _ in range(300):
        text = "".join(rng.choice(atoms) for _ in range(rng.randint(1, 120)))
        limit = rng.randint(6, 60)
        for measure in (len, utf16_len):
            parts = split_text(text, limit, measure=measure)
            assert all(0 < measure(p) <= limit and p == p.strip() for p in parts)
            assert "".join("".join(parts).split()) == "".join(text.split())
            lossless = split_text(text, limit, measure=measure, keep_whitespace=True, min_fill=0)
            assert "".join(lossless) == text and all(measure(p) <= limit for p in lossless)
            assert not any(unicodedata.category(p[0]) == "Mn" for p in lossless if p)
