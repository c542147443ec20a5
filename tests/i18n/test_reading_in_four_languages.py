"""A Korean reader in Osaka, a Japanese one in Nara and an Italian one in Rome: pages by
Accept-Language with a remembered switch, feeds by ?lang= (same UIDs and instants, labels and
calendar name in the language), and reminder texts in the follower's language and zone."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
import pytest
from icalendar import Calendar

from service.reminders.text import Links, compose
from service.services import Services
from service.web.language import COOKIE
from tests.helpers.live_server import LiveServer
from tests.helpers.services import LEE, MELONI

LINKS = Links("https://v.test/s.ics", "https://v.test/f.ics", "https://v.test/u")


@pytest.fixture
def http(seeded_sqlite: Services) -> Iterator[httpx.Client]:
    with LiveServer(seeded_sqlite) as server, httpx.Client(base_url=server.url) as client:
        yield client


@pytest.mark.parametrize(
    ("accept", "lang", "heading", "day"),
    [
        ("ja,en;q=0.8", "ja", "公式訪問", "2026年1月13日火曜日"),
        ("ko-KR,ko;q=0.9", "ko", "공식 방문", "2026년 1월 13일 화요일"),
        ("it-IT,it;q=0.9", "it", "Visite ufficiali", "martedì 13 gennaio 2026"),
        ("en-GB", "en", "Official visits", "Tuesday 13 January 2026"),
    ],
)
def test_pages_follow_accept_language(
    http: httpx.Client, accept: str, lang: str, heading: str, day: str
) -> None:
    index = http.get("/", headers={"accept-language": accept})
    assert f'<html lang="{lang}">' in index.text
    assert f"<h1>{heading}</h1>" in index.text
    assert index.headers["content-language"] == lang
    assert "Accept-Language" in index.headers["vary"]
    page = http.get(f"/visits/{LEE}", headers={"accept-language": accept}).text
    assert f">{day}</h3>" in page


def test_the_language_switch_is_remembered(http: httpx.Client) -> None:
    switched = http.get("/reminders?lang=ko", headers={"accept-language": "it"})
    assert switched.headers["content-language"] == "ko"
    assert http.cookies.get(COOKIE) == "ko"
    # Later pages, whatever the browser says, stay in the chosen language until switched again.
    assert http.get("/", headers={"accept-language": "it"}).headers["content-language"] == "ko"
    page = http.get(f"/visits/{LEE}").text
    assert 'hreflang="ja" lang="ja" >日本語</a>' in page.replace("  ", " ")
    assert "오후, 시간 미정" in page  # the part of day, in Korean


def test_a_japanese_reader_sees_part_of_day_and_zone_in_japanese(http: httpx.Client) -> None:
    page = http.get(f"/visits/{LEE}?tz=Asia/Tokyo&lang=ja").text
    assert "<h1>李在明大統領の訪日（奈良）</h1>" in page
    assert "大韓民国 李在明大統領（招待：日本国 内閣総理大臣 Sousuke Takai）" in page
    assert '<span class="title">首脳会談</span>' in page
    assert "13:00–18:00 JST" in page
    assert "午後、時刻未定" in page
    assert "会談 · 奈良" in page  # the summit's kind and place


def test_a_missing_translation_falls_back_to_the_default_text(http: httpx.Client) -> None:
    page = http.get(f"/visits/{LEE}?lang=ko").text
    assert "Formal summit meeting of the two leaders." in page  # no Korean description given


def reading(body: bytes) -> dict[str, tuple[str, str, str]]:
    events = Calendar.from_ical(body).walk("VEVENT")
    return {
        str(e["UID"]): (
            e.decoded("DTSTART").isoformat(),
            e.decoded("DTEND").isoformat(),
            str(e["SUMMARY"]),
        )
        for e in events
    }


@pytest.mark.parametrize(
    ("lang", "label", "name"),
    [
        ("ja", "首脳会談", "(奈良、日本時間の午後・時刻未定)"),
        ("ko", "정상회담", "(나라, 일본 시간 기준 오후 · 시간 미정)"),
        ("it", "Vertice", "(pomeriggio a Nara, Ora Giappone; orario da confermare)"),
    ],
)
def test_a_feed_in_another_language_keeps_uids_and_instants(
    http: httpx.Client, lang: str, label: str, name: str
) -> None:
    default = http.get(f"/feeds/visits/{LEE}.ics")
    translated = http.get(f"/feeds/visits/{LEE}.ics?lang={lang}")
    assert translated.status_code == 200
    plain, local = reading(default.content), reading(translated.content)
    assert plain.keys() == local.keys()
    for uid, (start, end, _summary) in plain.items():
        assert local[uid][:2] == (start, end)
    summit = local[f"{LEE}.summit@visitcal"][2]
    assert summit == f"{label} {name}"
    calendar = Calendar.from_ical(translated.content)
    assert str(calendar["X-WR-CALNAME"]).endswith(")")
    assert translated.headers["etag"] != default.headers["etag"]
    event = next(e for e in calendar.walk("VEVENT") if str(e["UID"]) == f"{LEE}.summit@visitcal")
    assert event["SUMMARY"].params["LANGUAGE"] == lang
    assert event["LOCATION"].params["LANGUAGE"] == lang
    # The description ("Formal summit meeting ...") has no translation: it says no language.
    assert "LANGUAGE" not in event["DESCRIPTION"].params


def test_the_default_language_is_one_feed_and_a_bad_language_names_the_parameter(
    http: httpx.Client,
) -> None:
    assert http.get("/feeds/all.ics?lang=en").content == http.get("/feeds/all.ics").content
    bad = http.get("/feeds/all.ics?lang=xx")
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "lang"]


def test_the_calendar_name_says_the_language(http: httpx.Client) -> None:
    calendar = Calendar.from_ical(http.get("/feeds/all.ics?lang=ja").content)
    assert str(calendar["X-WR-CALNAME"]) == "visitcal: すべての公式訪問 (日本語)"
    whole = Calendar.from_ical(http.get(f"/feeds/visits/{MELONI}.ics?lang=it").content)
    assert str(whole["X-WR-CALNAME"]) == (
        "Il Presidente del Consiglio Giorgia Meloni in visita in Giappone (Italiano)"
    )
    summit = next(iter(whole.walk("VEVENT")))
    assert str(summit["SUMMARY"]) == (
        "Vertice con il Primo Ministro Takai (data e orario da confermare)"
    )


def segment(precision: str, part: str | None, start: datetime, end: datetime) -> SimpleNamespace:
    return SimpleNamespace(
        title="Summit meeting", participants=["Lee Jae-myung", "Sousuke Takai"], location="Nara",
        start_at=start, end_at=end, precision=precision, part_of_day=part, timezone="Asia/Tokyo",
        status="tentative" if precision != "exact" else "confirmed",
    )  # fmt: skip


VISIT = SimpleNamespace(timezone="Asia/Tokyo", title="President Lee Jae-myung visits Japan")
AFTERNOON = segment(
    "part_of_day",
    "afternoon",
    datetime(2026, 1, 13, 4, tzinfo=UTC),
    datetime(2026, 1, 13, 9, tzinfo=UTC),
)
AT_THREE = segment(
    "exact", None, datetime(2026, 1, 13, 6, tzinfo=UTC), datetime(2026, 1, 13, 7, tzinfo=UTC)
)
WHOLE_DAYS = segment(
    "day", None, datetime(2026, 1, 14, 15, tzinfo=UTC), datetime(2026, 1, 17, 15, tzinfo=UTC)
)


@pytest.mark.parametrize(
    ("lang", "zone", "seg", "title", "line"),
    [
        ("ko", "Asia/Tokyo", AFTERNOON,  # a Korean follower in Osaka: one zone
         "Summit meeting — Lee Jae-myung, Sousuke Takai — Nara — "
         "1시간 후: 오후 (13:00–18:00 JST), 시간 미정",
         "일시: 2026년 1월 13일 (화) 13:00–18:00 JST (Asia/Tokyo), 오후, 시간 미정"),
        ("ja", "Asia/Tokyo", AT_THREE,
         "Summit meeting — Lee Jae-myungとSousuke Takai — Nara — 1時間後：15:00 JST",
         "日時：2026年1月13日(火) 15:00 JST (Asia/Tokyo)"),
        ("it", "Europe/Rome", AT_THREE,
         "Summit meeting — Lee Jae-myung e Sousuke Takai — Nara — tra 1 ora: 15:00 JST / 07:00 CET",
         "Ora per te: mar 13 gen 2026 07:00 CET (Europe/Rome)"),
        ("it", "Europe/Rome", WHOLE_DAYS,
         "Summit meeting — Lee Jae-myung e Sousuke Takai — Nara — tra 1 ora: "
         "gio 15 gen 2026 – sab 17 gen 2026 (Asia/Tokyo), orario da confermare",
         "Stato: Provvisorio"),
    ],
)  # fmt: skip
def test_reminders_come_in_the_followers_language_and_zone(
    lang: str, zone: str, seg: SimpleNamespace, title: str, line: str
) -> None:
    message = compose("reminder", seg, VISIT, zone, 3600, LINKS, lang=lang)  # type: ignore[arg-type]
    assert message.title == title
    assert line in message.body.splitlines()


def test_a_subscription_keeps_its_language(http: httpx.Client) -> None:
    made = http.post(
        "/subscriptions",
        json={"channel": "json://127.0.0.1:9/x", "visits": [LEE], "language": "ja"},
    )
    assert made.status_code == 201, made.text
    assert made.json()["language"] == "ja"
    bad = http.post("/subscriptions", json={"channel": "json://127.0.0.1:9/x", "language": "fr"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][-1] == "language"


@pytest.mark.parametrize(
    ("lang", "title", "line"),
    [
        ("ja", "visitcal リマインダーの確認",
         "受け取るには、48 時間以内にこのリンクを開いて「確認する」を押してください："),
        ("ko", "visitcal 알림 확인",
         "알림을 받으려면 48시간 안에 이 링크를 열고 ‘확인’을 누르세요:"),
        ("it", "Conferma i tuoi promemoria di visitcal",
         "Per riceverli, apri questo link e premi Conferma (entro 48 ore):"),
    ],
)  # fmt: skip
def test_the_confirmation_message_comes_in_the_language_chosen_at_sign_up(
    lang: str, title: str, line: str
) -> None:
    from service.reminders.confirmation import confirmation_message

    subject, body = confirmation_message("https://v.test/c", 48, lang)
    assert subject == title
    assert line in body.splitlines()


def test_an_invitation_comes_in_the_followers_language_as_the_same_event(
    seeded_sqlite: Services,
) -> None:
    from service.reminders.email_address import PREFIX
    from service.reminders.invitations import mail_extras
    from service.schedules.editing import segment_row
    from service.schedules.lookup import visit_by_slug

    summit = segment_row(seeded_sqlite.catalog, LEE, "summit")
    with seeded_sqlite.db.session() as session:
        visit = visit_by_slug(session, LEE)
    follower = SimpleNamespace(invitations=True, channel=f"{PREFIX}ji@example.org", language="ja")
    extras = mail_extras(seeded_sqlite.settings, "moved", follower, summit, "u", visit)  # type: ignore[arg-type]
    assert extras.calendar is not None
    event = next(iter(Calendar.from_ical(extras.calendar).walk("VEVENT")))
    assert str(event["SUMMARY"]) == "首脳会談 (奈良、日本時間の午後・時刻未定)"
    assert str(event["UID"]) == summit.uid
    assert event["SEQUENCE"] == summit.sequence
