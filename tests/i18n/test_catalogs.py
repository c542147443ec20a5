"""Every interface text is translated in every catalog, with the same placeholders, and the
catalogs hold what the code and templates ask for today (extracted afresh, as `make messages`)."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from service.i18n import LANGUAGES, from_accept_language, translations
from service.i18n.catalogs import LOCALE_DIR
from service.i18n.words import WORDS
from service.models import SEGMENT_KINDS, SEGMENT_STATUSES, VISIT_STATUSES
from service.reminders.subscriptions import Language

ROOT = Path(__file__).resolve().parents[2]
_PLACEHOLDER = re.compile(r"\{\w+\}|%\(\w+\)s")


def extracted() -> set[str]:
    """The message ids in the code and templates now, read with babel.cfg's methods."""
    methods = [("service/**.py", "python"), ("service/web/templates/**.html", "jinja2")]
    options = {"service/web/templates/**.html": {"trim_blocks": "True", "lstrip_blocks": "True"}}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, methods, options_map=options
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(lang: str) -> dict[str, tuple[str, bool]]:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        read = read_po(source, locale=lang)
    return {m.id: (m.string, m.fuzzy) for m in read if m.id and isinstance(m.id, str)}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_has_a_reviewed_translation_with_the_same_placeholders(lang: str) -> None:
    messages = catalog(lang)
    wanted = extracted()
    assert wanted, "extraction found no messages: babel.cfg and this test disagree"
    assert sorted(wanted - set(messages)) == [], f"{lang}: run `make messages` and translate"
    for message_id in wanted:
        text, fuzzy = messages[message_id]
        assert text.strip(), f"{lang}: no translation of {message_id!r}"
        assert not fuzzy, f"{lang}: {message_id!r} is marked fuzzy (not reviewed)"
        assert sorted(_PLACEHOLDER.findall(text)) == sorted(_PLACEHOLDER.findall(message_id)), (
            f"{lang}: {message_id!r} and its translation {text!r} have different placeholders"
        )


def test_a_translation_reads_differently_from_english_where_a_page_would_show_it() -> None:
    for lang in ("ja", "ko", "it"):
        assert translations(lang).gettext("Official visits") != "Official visits"
        assert translations(lang).gettext("afternoon") != "afternoon"


def test_every_status_and_kind_has_a_word() -> None:
    assert set(VISIT_STATUSES) | set(SEGMENT_STATUSES) | set(SEGMENT_KINDS) <= set(WORDS)


def test_the_api_offers_exactly_the_languages_there_are_catalogs_for() -> None:
    assert set(typing.get_args(Language)) == set(LANGUAGES)
    assert {path.name for path in LOCALE_DIR.iterdir() if path.is_dir()} == set(LANGUAGES)


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        ("ja,en-US;q=0.9,en;q=0.8", "ja"),
        ("ko-KR,ko;q=0.9", "ko"),
        ("it-IT,it;q=0.9,en;q=0.5", "it"),
        ("fr-FR,fr;q=0.9,it;q=0.8,ja;q=0.7", "it"),
        ("de-DE", "en"),
        ("", "en"),
        ("ja;q=0, ko;q=0.3", "ko"),
        ("en;q=0.5, ja;q=0.5", "en"),
        ("ja;q=bogus", "en"),
    ],
)
def test_accept_language_picks_the_best_language_we_have(header: str, lang: str) -> None:
    assert from_accept_language(header) == lang
