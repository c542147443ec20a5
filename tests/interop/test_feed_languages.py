"""One feed in four languages, as every client parser reads it: the summary in the language
asked for (the schedule's translation and our label), the same UIDs, instants and status."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from service.services import Services
from tests.helpers.live_server import LiveServer
from tests.helpers.parsers import PARSERS, READER_ZONES, Readers
from tests.helpers.services import LEE

# The summit of 13 January, afternoon in Nara: the title from config/visits, our label.
SUMMIT = f"{LEE}.summit@visitcal"
SUMMARIES = {
    "en": "Summit meeting (afternoon in Nara, Japan Time; time to be confirmed)",
    "ja": "首脳会談 (奈良、日本時間の午後・時刻未定)",
    "ko": "정상회담 (나라, 일본 시간 기준 오후 · 시간 미정)",
    "it": "Vertice (pomeriggio a Nara, Ora Giappone; orario da confermare)",
}


@pytest.fixture(scope="module")
def feeds(seeded_module: Services) -> dict[str, bytes]:
    with LiveServer(seeded_module) as server:
        return {
            lang: httpx.get(f"{server.url}/feeds/visits/{LEE}.ics?lang={lang}").content
            for lang in SUMMARIES
        }


@pytest.fixture(scope="module")
def seeded_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    from tests.helpers.services import load_seed, open_services

    url = f"sqlite:///{tmp_path_factory.mktemp('languages') / 'visitcal.db'}"
    with open_services(url) as services:
        load_seed(services)
        yield services


@pytest.mark.parametrize("parser", PARSERS)
def test_every_parser_reads_each_language_with_the_same_uids_and_instants(
    feeds: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory, parser: str
) -> None:
    readers = Readers(tmp_path_factory.mktemp("readers"))
    readers.read(list(feeds.values()))
    seen = {lang: readers.in_every_zone(parser, body) for lang, body in feeds.items()}
    for zone in READER_ZONES:
        english = seen["en"][zone]
        for lang, readings in seen.items():
            summit = next(reading for reading in readings[zone] if reading["uid"] == SUMMIT)
            assert summit["summary"] == SUMMARIES[lang], (parser, zone, lang)
            meaning = [{k: v for k, v in r.items() if k != "summary"} for r in readings[zone]]
            assert meaning == [{k: v for k, v in r.items() if k != "summary"} for r in english]
