"""The translate stage of the pipeline (pure functions; the translator's
providers are an in-memory implementation of the port)."""

from __future__ import annotations

import textwrap

from core.links import load_links
from core.models import Attachment, Author, EventKind, MessageRef, PlatformEvent
from workers.pipeline import Context, plan
from workers.translation.service import Translator

CONFIG = """
version: 1
communities:
  leicester: {name: Leicester, language: en, chats: [{telegram: -1001}]}
  krefeld: {name: Krefeld, language: de, chats: [{discord: 112233445566778899}, {telegram: -1002}]}
  masaya: {name: Masaya, language: es, chats: [{telegram: -1003}]}
links:
  - {id: lk, communities: [leicester, krefeld, masaya], policy: learners, glossary: [Hochschule]}
policies:
  learners: {base: community, translation: [libre], show_original: true}
"""


class Tagging:
    name, max_chars = "libre", 5000

    def __init__(self):
        self.calls = []

    def code_for(self, language, timeout=3.0):
        return language

    def translate(self, pieces, source, target, timeout):
        self.calls.append((source, target, list(pieces)))
        return [f"<{target}> {p}" for p in pieces]


def setup(tmp_path, providers=True):
    path = tmp_path / "links.yaml"
    path.write_text(textwrap.dedent(CONFIG))
    provider = Tagging()
    translator = Translator({"libre": provider} if providers else {}, unavailable={"libre": "not set"})
    return Context(load_links(path), translator=translator), provider


def event(chat, text, kind=EventKind.NEW, attachments=()):
    return PlatformEvent(
        kind=kind,
        source=MessageRef("telegram", chat, "10"),
        text=text,
        attachments=attachments,
        author=Author(id="5", display_name="Anna Smith", first_name="Anna"),
    )


def test_each_destination_reads_its_language_translated_once_per_language(tmp_path):
    ctx, provider = setup(tmp_path)
    posts = {p.destination.key: p for p in plan(event("-1001", "See you at the Hochschule on Saturday"), ctx)}
    assert sorted(target for _, target, _ in provider.calls) == ["de", "es"]  # three chats, two languages
    german = posts["discord:112233445566778899"]
    assert german.text == "<de> See you at the Hochschule on Saturday" and german.language == "de"
    assert posts["telegram:-1002"].text == german.text
    assert (german.original, german.original_language, german.translated_by) == (
        "See you at the Hochschule on Saturday",
        "en",
        "LibreTranslate",
    )
    assert "Hochschule" not in provider.calls[0][2][0]  # the glossary term stayed home


def test_detected_language_wins_over_the_community_setting(tmp_path):
    ctx, provider = setup(tmp_path)
    # Written in German from Leicester's chat: Krefeld reads it as written, the others translated.
    posts = {p.destination.key: p for p in plan(event("-1001", "Wir freuen uns sehr auf euren Besuch im Mai"), ctx)}
    assert posts["discord:112233445566778899"].text == "Wir freuen uns sehr auf euren Besuch im Mai"
    assert not posts["discord:112233445566778899"].original
    assert [(s, t) for s, t, _ in provider.calls] == [("de", "es")]


def test_no_translator_delivers_the_original_with_a_note_in_the_readers_language(tmp_path):
    ctx, _ = setup(tmp_path, providers=False)
    posts = {p.destination.key: p for p in plan(event("-1001", "Hello everyone, the bus leaves at nine"), ctx)}
    assert posts["telegram:-1003"].text == "Hello everyone, the bus leaves at nine"
    assert posts["telegram:-1003"].notes == (
        "Sin traducir: no había ningún traductor disponible. Original en English.",
    )
    assert not posts["telegram:-1003"].original


def test_deletes_photos_without_caption_and_mixed_lines_never_fail(tmp_path):
    ctx, provider = setup(tmp_path)
    assert all(p.text == "" and not p.notes for p in plan(event("-1001", "", EventKind.DELETE), ctx))
    photo = plan(event("-1001", "", attachments=(Attachment(kind="photo", file_id="f"),)), ctx)
    assert photo and all(p.text == "" and not p.notes for p in photo)
    mixed = plan(event("-1001", "Tschüss everyone, à bientôt, hasta luego 👋 https://example.org"), ctx)
    assert len(mixed) == 3 and all(p.text for p in mixed)
    assert all("https://example.org" in p.text for p in mixed)
    assert provider.calls and all("example.org" not in pieces[0] for _, _, pieces in provider.calls)
