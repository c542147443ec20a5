"""Schedule texts in several languages: a schedule file and the organizer API give them per
language, bad ones are refused naming the field, and changing none keeps SEQUENCE."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar import Calendar

from service.errors import InputError
from service.schedules.content_language import localized
from service.schedules.editing import change_segment, segment_row
from service.schedules.files import parse_schedule
from service.services import Services
from tests.helpers.services import LEE, SEED_VISITS, load_seed

WINDOWS = {"afternoon": (datetime(2026, 1, 1, 13).time(), datetime(2026, 1, 1, 18).time())}
SCHEDULE = """\
[visit]
slug = "v"
title = "A visit"
first_day = 2026-01-13
last_day = 2026-01-13
translations.ja = {{ title = "訪問" }}
[visit.guest]
name = "Guest"

[[segment]]
id = "talks"
title = "Talks"
kind = "meeting"
date = 2026-01-13
{line}
"""


def test_a_schedule_file_gives_texts_per_language() -> None:
    line = 'translations.ko = { title = "회담", location = "서울" }'
    schedule = parse_schedule(SCHEDULE.format(line=line), Path("v.toml"), WINDOWS)
    assert schedule.visit.translations == {"ja": {"title": "訪問"}}
    talks = schedule.segments[0]
    assert talks.translations == {"ko": {"title": "회담", "location": "서울"}}
    assert localized(talks, "title", "ko") == "회담"
    assert localized(talks, "title", "it") == "Talks"  # no Italian: the default, never empty


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('translations.fr = { title = "Pourparlers" }', "'fr' is not one of ja, ko, it"),
        ('translations.ja = { kind = "会談" }', "ja.kind is not a text that has translations"),
        (f'translations.ja = {{ title = "{"長" * 301}" }}', "ja.title is longer than 300"),
    ],
)
def test_a_bad_translation_is_refused_naming_file_line_and_field(line: str, reason: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_schedule(SCHEDULE.format(line=line), Path("v.toml"), WINDOWS)
    assert "translations" in str(raised.value)
    assert reason in str(raised.value)
    assert "v.toml:" in str(raised.value)


def test_the_seed_visits_translate_titles_and_places(seeded_sqlite: Services) -> None:
    summit = segment_row(seeded_sqlite.catalog, LEE, "summit")
    assert localized(summit, "title", "ja") == "首脳会談"
    assert localized(summit, "location", "ko") == "나라"
    assert summit.sequence == 0
    assert (SEED_VISITS / f"{LEE}.toml").read_text(encoding="utf-8").count("translations.") >= 3


def test_the_organizer_api_changes_one_languages_texts(seeded_sqlite: Services) -> None:
    now = datetime(2026, 1, 10, tzinfo=UTC)
    texts = {"ja": {"title": "首脳会談（拡大会合）", "location": "奈良"}}
    change_segment(seeded_sqlite.catalog, LEE, "summit", {"translations": texts}, "test", now)
    summit = segment_row(seeded_sqlite.catalog, LEE, "summit")
    assert summit.translations == texts
    assert summit.sequence == 1  # a text changed: calendars are told
    assert summit.title == "Summit meeting"
    load_seed(seeded_sqlite)  # the unchanged file is not applied again
    assert segment_row(seeded_sqlite.catalog, LEE, "summit").translations == texts


def test_organizers_give_translations_over_http(seeded_sqlite: Services) -> None:
    import httpx

    from service.schedules.organizer_tokens import create_token
    from tests.helpers.live_server import LiveServer

    token = create_token(seeded_sqlite.db, "press-office", datetime.now(UTC))
    auth = {"Authorization": f"Bearer {token}"}
    path = f"/api/visits/{LEE}/segments/summit"
    texts = {"ko": {"title": "한일 정상회담", "location": "나라"}}
    with LiveServer(seeded_sqlite) as server, httpx.Client(base_url=server.url) as client:
        changed = client.patch(path, json={"translations": texts}, headers=auth)
        assert changed.status_code == 200, changed.text
        assert changed.json()["translations"] == texts
        feed = Calendar.from_ical(client.get(f"/feeds/visits/{LEE}.ics?lang=ko").content)
        summit = next(e for e in feed.walk("VEVENT") if str(e["UID"]).startswith(f"{LEE}.summit"))
        assert str(summit["SUMMARY"]) == "한일 정상회담 (나라, 일본 시간 기준 오후 · 시간 미정)"
        assert summit["SUMMARY"].params["LANGUAGE"] == "ko"
        bad = client.patch(path, json={"translations": {"de": {"title": "Gipfel"}}}, headers=auth)
        assert bad.status_code == 422
        assert "translations" in str(bad.json()["detail"][0]["loc"])
        assert client.get(path, headers=auth).json()["translations"] == texts  # nothing changed
        visit = client.get(f"/api/visits/{LEE}").json()
        assert visit["translations"]["ja"]["title"] == "李在明大統領の訪日（奈良）"


def test_the_cli_signs_up_a_follower_in_a_language(sqlite_url: str) -> None:
    from sqlmodel import select

    from service.models import Subscription
    from tests.helpers.cli import run_cli
    from tests.helpers.services import open_services

    made = run_cli(
        "subscribe", "--channel", "json://127.0.0.1:9/x", "--language", "ko",
        database_url=sqlite_url,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    bad = run_cli("subscribe", "--channel", "json://127.0.0.1:9/x", "--language", "fr",
                  database_url=sqlite_url)  # fmt: skip
    assert bad.returncode == 2
    assert "language" in bad.stderr
    with open_services(sqlite_url) as services, services.db.session() as session:
        assert [s.language for s in session.exec(select(Subscription))] == ["ko"]


def test_an_import_keeps_texts_under_the_language_they_say_they_are_in(
    seeded_sqlite: Services,
) -> None:
    from service.schedules.calendar_import import import_calendar

    calendar = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Cabinet Office//schedule//JA
BEGIN:VEVENT
UID:kantei-lunch-20260114@example.go.jp
DTSTAMP:20260110T000000Z
DTSTART;TZID=Asia/Tokyo:20260114T121000
DTEND;TZID=Asia/Tokyo:20260114T130000
SUMMARY;LANGUAGE=ja-JP:昼食会
LOCATION;LANGUAGE=ja:奈良ホテル
END:VEVENT
END:VCALENDAR
"""
    now = datetime(2026, 1, 10, tzinfo=UTC)
    import_calendar(
        seeded_sqlite.catalog, LEE, calendar.encode(), source="kantei.ics", actor="import", now=now
    )
    with seeded_sqlite.db.session() as session:
        from sqlmodel import select

        from service.models import Segment

        lunch = session.exec(
            select(Segment).where(Segment.uid == "kantei-lunch-20260114@example.go.jp")
        ).one()
    assert lunch.title == "昼食会"  # the only text the calendar gives is the default too
    assert lunch.translations == {"ja": {"title": "昼食会", "location": "奈良ホテル"}}
    # The summit kept its own translations (the import's calendar does not carry it).
    assert (
        segment_row(seeded_sqlite.catalog, LEE, "summit").translations["ja"]["title"] == "首脳会談"
    )
