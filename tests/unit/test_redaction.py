"""Redaction of personal data: a hand-written multilingual corpus plus focused checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.moderation.redaction import (
    KINDS,
    MARKERS,
    Redacted,
    find,
    iban_is_valid,
    luhn_is_valid,
    redact,
    regions_for_languages,
)

CORPUS = Path(__file__).parent / "data" / "pii_corpus.tsv"
CORPUS_LANGUAGES = ("en", "de", "fr", "es", "zh", "gu", "nl", "it")
# Every corpus language's regions at once: the most phone/postcode plans that could misfire.
BROAD = regions_for_languages(CORPUS_LANGUAGES)


def _corpus() -> list[tuple[int, set[str], str, str]]:
    rows = []
    for number, line in enumerate(CORPUS.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        kinds, text, expected = line.split("\t")
        rows.append((number, set() if kinds == "-" else set(kinds.split(",")), text, expected))
    return rows


ROWS = _corpus()


def test_corpus_is_big_enough_and_has_traps():
    assert len(ROWS) >= 80
    traps = [r for r in ROWS if not r[1]]
    assert len(traps) >= 30
    assert all(text == expected for _, _, text, expected in traps)
    assert {k for r in ROWS for k in r[1]} == set(KINDS)  # every kind is exercised


@pytest.mark.parametrize(("kinds", "text", "expected"), [r[1:] for r in ROWS], ids=[f"line{r[0]}" for r in ROWS])
def test_corpus(kinds, text, expected):
    result = redact(text, KINDS, BROAD)
    assert result.text == expected
    assert set(result.found) == kinds


@pytest.mark.parametrize("text", [r[3] for r in ROWS], ids=[f"line{r[0]}" for r in ROWS])
def test_idempotent(text):
    again = redact(text, KINDS, BROAD)
    assert again == Redacted(text, {})


def test_only_requested_kinds_are_redacted():
    text = "Anna: anna.b@example.org, +44 7911 123456, https://example.org/x, @anna_school, 192.168.1.20"
    assert redact(text, {"phone"}, BROAD).text == (
        "Anna: anna.b@example.org, [phone removed], https://example.org/x, @anna_school, 192.168.1.20"
    )
    assert redact(text, {"url", "ip"}, BROAD).text == (
        "Anna: anna.b@example.org, +44 7911 123456, [link removed], @anna_school, [IP address removed]"
    )
    assert redact(text, (), BROAD) == Redacted(text, {})


def test_an_address_is_not_taken_apart_when_email_is_not_requested():
    # The domain of an address is not a link, its "@domain" not a handle.
    text = "write to anna_school@example.org"
    assert redact(text, {"url", "handle"}, BROAD) == Redacted(text, {})
    assert redact(text, KINDS, BROAD) == Redacted("write to [email removed]", {"email": 1})


def test_found_counts():
    text = "Call 0151 23456789 or +49 2151 123456, mail a.b@example.de, IBAN DE89 3704 0044 0532 0130 00"
    result = redact(text, KINDS, {"DE"})
    assert result.found == {"phone": 2, "email": 1, "iban": 1}
    assert result.text == "Call [phone removed] or [phone removed], mail [email removed], IBAN [IBAN removed]"


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="passport"):
        redact("x", {"passport"})


def test_markers_are_plain_ascii_in_brackets():
    assert set(MARKERS) == set(KINDS)
    for marker in MARKERS.values():
        assert marker.isascii() and marker.startswith("[") and marker.endswith("]")


@pytest.mark.parametrize(
    "iban", ["DE89 3704 0044 0532 0130 00", "DE89370400440532013000", "GB29 NWBK 6016 1331 9268 19"]
)
def test_iban_checksum_valid(iban):
    assert iban_is_valid(iban)
    assert redact(f"IBAN: {iban}.", {"iban"}) == Redacted("IBAN: [IBAN removed].", {"iban": 1})


@pytest.mark.parametrize(
    "iban",
    [
        "DE89 3704 0044 0532 0130 01",  # one digit off: mod-97 fails
        "DE88 3704 0044 0532 0130 00",  # wrong check digits
        "DE89 3704 0044 0532 0130 0",  # a digit short for Germany
        "XX89 3704 0044 0532 0130 00",  # no such country
    ],
)
def test_iban_checksum_invalid(iban):
    assert not iban_is_valid(iban)
    assert redact(f"IBAN: {iban}.", {"iban"}) == Redacted(f"IBAN: {iban}.", {})


@pytest.mark.parametrize("card", ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "6011111111111117"])
def test_luhn_valid_card_is_redacted(card):
    assert luhn_is_valid(card)
    assert redact(f"card {card} ok", {"card"}).text == "card [card number removed] ok"


@pytest.mark.parametrize(
    "number",
    [
        "4111 1111 1111 1112",  # Luhn fails
        "5555-5555-5555-4445",  # Luhn fails
        "9783161484100",  # an ISBN-13: no card issuer starts with 9
        "1234 5678 9012 3452",  # Luhn-valid (checked below), but no known issuer prefix
    ],
)
def test_non_cards_are_kept(number):
    assert redact(f"no. {number} ok", {"card"}).found == {}


def test_luhn():
    assert luhn_is_valid("1234 5678 9012 3452") and luhn_is_valid("4111111111111111")
    assert not luhn_is_valid("4111111111111112") and not luhn_is_valid("")


def test_ipv4_versus_version_numbers():
    assert redact("server 192.168.1.20 is up", {"ip"}).text == "server [IP address removed] is up"
    assert redact("at 10.0.0.1:8080.", {"ip"}).text == "at [IP address removed]."
    for text in [
        "release 1.2.3",
        "v1.2.3.4",
        "version 10.0.19045.3693",
        "300.1.1.1",
        "23.11.2026",
        "1.2.3.4.5",
        "10.01.20.30",
    ]:
        assert redact(text, {"ip"}) == Redacted(text, {}), text


def test_ipv6():
    assert redact("addr fe80::1ff:fe23:4567:890a here", {"ip"}).found == {"ip": 1}
    for text in ["at 14:30:00", "ratio 3:1", "C::D"]:
        assert redact(text, {"ip"}).found == {}, text


def test_national_phone_numbers_need_their_region_international_ones_do_not():
    assert redact("ruf an: 0151 23456789", {"phone"}).found == {}
    assert redact("ruf an: 0151 23456789", {"phone"}, {"DE"}).text == "ruf an: [phone removed]"
    assert redact("ruf an: +49 151 23456789", {"phone"}).text == "ruf an: [phone removed]"


def test_dates_are_not_phone_numbers_even_where_a_plan_would_allow_them():
    # Nicaragua's 8-digit numbers would otherwise take a year range.
    for text in ["2020-2025", "23.11.2026", "2026-11-23", "1990-2020"]:
        assert redact(f"from {text} on", {"phone"}, {"NI"}).found == {}, text


def test_postcodes_need_their_region_and_context():
    assert redact("Leicester LE1 5WW", {"postcode"}).found == {}
    assert redact("Leicester LE1 5WW", {"postcode"}, {"GB"}).text == "Leicester [postcode removed]"
    assert redact("10000 people, 25000 Einwohner", {"postcode"}, {"DE", "GB"}).found == {}
    assert redact("Marktstraße 5, 47798 Krefeld", {"postcode"}, {"DE"}).found == {"postcode": 1}
    assert redact("PLZ: 47798", {"postcode"}, {"DE"}).text == "PLZ: [postcode removed]"
    assert redact("ZIP 12345-6789", {"postcode"}, {"US"}).text == "ZIP [postcode removed]"


def test_handles():
    text = "hi @anna_school, <@!123456789012345678>, @everyone, @home, @ 5pm, a@b"
    assert redact(text, {"handle"}).text == ("hi [handle removed], [handle removed], @everyone, @home, @ 5pm, a@b")


def test_markers_already_in_the_text_are_left_alone():
    text = "[phone removed] and [email removed] and call 0151 23456789"
    assert redact(text, KINDS, {"DE"}) == Redacted(
        "[phone removed] and [email removed] and call [phone removed]", {"phone": 1}
    )


def test_regions_for_languages():
    assert regions_for_languages(["en"]) == {"GB", "US", "IE", "CA", "AU", "NZ", "IN", "ZA"}
    assert regions_for_languages(["de", "es"]) >= {"DE", "AT", "CH", "ES", "NI", "MX", "AR"}
    assert regions_for_languages(["zh", "gu"]) == {"CN", "TW", "HK", "SG", "IN"}
    assert regions_for_languages(["pt-BR"]) == {"PT", "BR"}
    assert "TW" in regions_for_languages(["zh-TW"])
    assert regions_for_languages(["es-419"]) == regions_for_languages(["es"])
    assert regions_for_languages(["xx"]) == set()


def test_finds_are_spans_of_the_original_text_hidden_characters_included():
    text = "mail a\u200bnna@exam\u00adple.org, call \uff10\uff17\uff17\uff10\uff10 900123 ok"
    finds = find(text, KINDS, {"GB"})
    assert [(text[s:e], kind) for s, e, kind in finds] == [
        ("a\u200bnna@exam\u00adple.org", "email"),
        ("\uff10\uff17\uff17\uff10\uff10 900123", "phone"),
    ]
    # Everything else stays exactly as typed, invisible characters outside the finds too.
    text = "\u200bHi\u00a0there\u200d! Call 0 7 7 0 0 9 0 0 1 2 3, caf\u0065\u0301 at 14:30 \U0001f44b"
    assert redact(text, KINDS, {"GB"}).text == (
        "\u200bHi\u00a0there\u200d! Call [phone removed], caf\u0065\u0301 at 14:30 \U0001f44b"
    )


def test_a_phone_number_goes_because_of_its_shape_not_its_allocation():
    # Ofcom's drama range, a number with a digit too many for its range, an unassigned prefix.
    for number in ["+44 7700 900123", "+44 20 7946 0000", "+49 151 2345678901", "+1 555 010 1234"]:
        assert redact(f"ring {number} now", {"phone"}) == Redacted("ring [phone removed] now", {"phone": 1}), number


def test_national_formats_of_the_link_languages_countries():
    en = regions_for_languages(["en"])  # an English-speaking class may be in India, Canada…
    for text in ["98765 43210", "+91-98765-43210", "(212) 555-0147", "0412 345 678", "082 123 4567"]:
        assert redact(text, {"phone"}, en).found == {"phone": 1}, text
    zh = regions_for_languages(["zh"])
    for text in ["138 0013 8000", "13800138000", "0912 345 678"]:
        assert redact(text, {"phone"}, zh).found == {"phone": 1}, text
