"""The followers' web pages over real HTTP: schedule, zones, links, escaping, ETags, forms."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import select

from service.models import Segment, Subscription
from service.schedules.files import read_schedules
from service.schedules.when import Timing, describe_when
from service.services import Services
from service.web.signup_form import SignupForm, signup_request
from tests.helpers.services import LEE, MELONI

LEE_PAGE = f"/visits/{LEE}"


def load(services: Services, visits_dir: Path, now: datetime | None = None) -> None:
    schedules = read_schedules([visits_dir], services.settings.part_of_day)
    services.catalog.apply(schedules, now or datetime.now(UTC))


def write_visit(directory: Path, slug: str, first: date, segment: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / f"{slug}.toml").write_text(
        f"""[visit]
slug = "{slug}"
title = "Visit {slug}"
first_day = {first}
last_day = {first + timedelta(days=1)}
place = "Osaka"
[visit.guest]
name = "Guest"
country = "Italy"
{segment}""",
        encoding="utf-8",
    )


def subscriptions(services: Services) -> list[Subscription]:
    with services.db.session() as session:
        return list(session.exec(select(Subscription)))


def text_of(page: str) -> str:
    """The page's text without tags, entities decoded, whitespace collapsed."""
    without_tags = re.sub(
        r"<[^>]+>", " ", re.sub(r"<(style|script)[^>]*>.*?</\1>", "", page, flags=re.S)
    )
    return re.sub(r" ([,.:;])", r"\1", " ".join(html.unescape(without_tags).split()))


def test_index_lists_upcoming_visits_first_then_past_with_dates_place_and_status(
    client: httpx.Client, seeded: Services, tmp_path: Path
) -> None:
    soon = datetime.now(UTC).date() + timedelta(days=20)
    write_visit(tmp_path / "more", "2099-upcoming", soon, "")
    load(seeded, tmp_path / "more")
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    text = text_of(response.text)
    assert text.index("Upcoming") < text.index("Visit 2099-upcoming") < text.index("Past")
    # Past visits: the latest first.
    assert text.index("Past") < text.index("Giorgia Meloni") < text.index("Lee Jae-myung visits")
    assert "Tue 13 – Wed 14 January 2026 · Nara Prefecture, Japan · Announced" in text
    assert "Thu 15 – Sat 17 January 2026 · Japan · Announced" in text
    assert f'href="/visits/{LEE}"' in response.text


def test_visit_page_shows_the_schedule_by_day_in_the_visit_zone(client: httpx.Client) -> None:
    response = client.get(LEE_PAGE)
    assert response.status_code == 200
    text = text_of(response.text)
    assert "Times are shown in Asia/Tokyo, the visit's local time." in text
    first_day, second_day = (
        text.index("Tuesday 13 January 2026"),
        text.index("Wednesday 14 January"),
    )
    summit = text.index("Summit meeting")
    assert first_day < summit < second_day < text.index("Korean community") < text.index("Return")
    assert (
        "13:00–18:00 JST afternoon, time to be confirmed Summit meeting Tentative "
        "Meeting · Nara · Lee Jae-myung, Sousuke Takai" in text
    )
    assert "18:00–22:00 JST evening, time to be confirmed Dinner hosted" in text
    assert "09:00–12:00 JST morning, time to be confirmed Exchange activities" in text


@pytest.mark.parametrize(
    ("tz", "summit", "shown"),
    [
        ("UTC", "04:00–09:00 UTC", "Times are shown in UTC."),
        ("Asia/Seoul", "13:00–18:00 KST", "Times are shown in Asia/Seoul, the guest's zone."),
        ("Europe/Rome", "05:00–10:00 CET", "Times are shown in Europe/Rome."),
        ("America/St_Johns", "00:30–05:30 NST", "Times are shown in America/St_Johns."),
    ],
)
def test_tz_query_renders_the_times_in_that_zone_without_javascript(
    client: httpx.Client, tz: str, summit: str, shown: str
) -> None:
    response = client.get(LEE_PAGE, params={"tz": tz})
    assert response.status_code == 200
    text = text_of(response.text)
    assert shown in text
    assert f"{summit} afternoon, time to be confirmed local: Tue 13 Jan, 13:00–18:00 JST" in text
    assert 'aria-current="true">' in response.text
    current = re.findall(r'<a href="\?tz=([^"#]+)#schedule" aria-current="true">', response.text)
    assert [c.replace("%2F", "/") for c in current] == [tz]


def test_zone_switch_offers_the_visit_zone_the_guest_zone_and_utc(client: httpx.Client) -> None:
    page = client.get(LEE_PAGE).text
    offered = re.findall(r'<li><a href="\?tz=([^"#]+)#schedule"', page)
    assert [o.replace("%2F", "/") for o in offered] == ["Asia/Tokyo", "Asia/Seoul", "UTC"]
    meloni = client.get(f"/visits/{MELONI}").text
    assert "Italy (Europe/Rome)" in meloni
    assert "data-browser-zone" in page  # the reader's own zone, filled in by JavaScript


def test_unknown_zone_is_a_422_that_names_tz_and_shows_the_visit_zone(
    client: httpx.Client,
) -> None:
    response = client.get(LEE_PAGE, params={"tz": "Mars/Olympus_Mons"})
    assert response.status_code == 422
    text = text_of(response.text)
    assert "tz: 'Mars/Olympus_Mons' is not an IANA time zone" in text
    assert "13:00–18:00 JST" in text


def test_whole_day_segment_says_its_dates_and_that_the_time_is_to_be_confirmed(
    client: httpx.Client,
) -> None:
    text = text_of(client.get(f"/visits/{MELONI}", params={"tz": "Europe/Rome"}).text)
    assert (
        "Thu 15 Jan – Sat 17 Jan whole day, dates as in Asia/Tokyo, time to be confirmed "
        "Summit meeting with Prime Minister Takai" in text
    )


def test_calendar_buttons_and_per_segment_links(client: httpx.Client) -> None:
    page = html.unescape(client.get(LEE_PAGE).text)
    feed = f"http://visitcal.test/feeds/visits/{LEE}.ics"
    webcal = f"webcal://visitcal.test/feeds/visits/{LEE}.ics"
    links = re.findall(r'href="([^"]+)"', page)
    assert webcal in links
    assert f"/visits/{LEE}.ics" in links
    google = next(
        link for link in links if link.startswith("https://calendar.google.com/calendar/r?")
    )
    assert parse_qs(urlsplit(google).query) == {"cid": [webcal]}
    outlook = next(link for link in links if link.startswith("https://outlook.live.com/"))
    assert urlsplit(outlook).path == "/calendar/0/addfromweb"
    assert parse_qs(urlsplit(outlook).query) == {
        "url": [feed],
        "name": ["President Lee Jae-myung visits Japan (Nara)"],
    }
    assert f"/visits/{LEE}/segments/summit.ics" in links
    templates = [link for link in links if "action=TEMPLATE" in link]
    assert len(templates) == 6
    summit = next(parse_qs(urlsplit(t).query) for t in templates if "Summit+meeting" in t)
    assert summit["text"] == ["Summit meeting"]
    assert summit["dates"] == ["20260113T040000Z/20260113T090000Z"]
    assert summit["location"] == ["Nara"]
    assert summit["details"][0].endswith(f"http://visitcal.test/visits/{LEE}#summit")
    meloni = html.unescape(client.get(f"/visits/{MELONI}").text)
    whole_days = re.search(r"dates=([0-9%F]+)", meloni)
    assert whole_days is not None and whole_days.group(1) == "20260115%2F20260118"


def test_segment_download_link_answers_an_ics(client: httpx.Client) -> None:
    response = client.get(f"/visits/{LEE}/segments/summit.ics")
    assert response.status_code == 200
    assert "UID:2026-01-lee-jae-myung-nara.summit@visitcal" in response.text


def test_script_in_a_segment_is_shown_as_text_never_as_markup(
    client: httpx.Client, seeded: Services, tmp_path: Path
) -> None:
    evil = "<script>alert(1)</script>"
    write_visit(
        tmp_path / "evil",
        "2026-03-evil",
        date(2026, 3, 2),
        f"""[[segment]]
id = "talks"
title = "{evil} & talks"
kind = "meeting"
date = 2026-03-02
start = "10:00"
location = "<b>Hall</b>"
participants = ["<img src=x onerror=alert(2)>"]
description = "\\"quoted\\" <i>text</i>"
""",
    )
    load(seeded, tmp_path / "evil")
    page = client.get("/visits/2026-03-evil").text
    assert "<script>alert" not in page and "<b>Hall" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; talks" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "&#34;quoted&#34; &lt;i&gt;text&lt;/i&gt;" in page
    assert "<script>alert" not in client.get("/").text


def _topic(client: httpx.Client) -> str:
    found = re.search(r'name="topic" value="([^"]+)"', client.get("/reminders").text)
    assert found is not None
    return found[1]


def test_pages_carry_an_etag_and_answer_304_until_the_schedule_changes(
    client: httpx.Client, seeded: Services, visits_dir: Path
) -> None:
    # /reminders is not among them: each reader gets an ntfy topic of their own.
    assert _topic(client) != _topic(client)
    assert client.get("/reminders").headers["cache-control"] == "no-store"
    for path in ["/", LEE_PAGE, f"{LEE_PAGE}?tz=UTC"]:
        first = client.get(path)
        etag = first.headers["etag"]
        assert first.headers["cache-control"] == "no-cache"
        again = client.get(path, headers={"if-none-match": etag})
        assert again.status_code == 304, path
        assert again.content == b"" and again.headers["etag"] == etag
        assert client.get(path, headers={"if-none-match": '"other"'}).status_code == 200
        head = client.head(path)
        assert head.status_code == 200 and head.content == b""
    before = client.get(LEE_PAGE).headers["etag"]
    lee = visits_dir / f"{LEE}.toml"
    lee.write_text(lee.read_text().replace("Summit meeting", "Summit talks"), encoding="utf-8")
    load(seeded, visits_dir)
    changed = client.get(LEE_PAGE, headers={"if-none-match": before})
    assert changed.status_code == 200 and changed.headers["etag"] != before
    assert "Summit talks" in changed.text


def test_unknown_visit_page_is_a_404_page(client: httpx.Client) -> None:
    for path in ["/visits/no-such-visit", "/visits/%00", "/visits/UPPER"]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html")
        assert "No such visit" in response.text


def test_changed_and_cancelled_segments_say_what_changed(
    client: httpx.Client, seeded: Services, visits_dir: Path
) -> None:
    lee = visits_dir / f"{LEE}.toml"
    text = lee.read_text(encoding="utf-8")
    head, *blocks = text.split("[[segment]]")
    blocks = [
        b.replace('part_of_day = "afternoon"', 'start = "15:00"\nend = "16:30"')
        if 'id = "summit"' in b
        else b
        for b in blocks
        if 'id = "dinner"' not in b  # gone from the file: cancelled
    ]
    lee.write_text("[[segment]]".join([head, *blocks]), encoding="utf-8")
    load(seeded, visits_dir)
    today = datetime.now(UTC).date()
    page = client.get(LEE_PAGE).text
    text = text_of(page)
    assert (
        "15:00–16:30 JST Summit meeting Confirmed Changed recently Meeting · Nara · "
        f"Lee Jae-myung, Sousuke Takai Time confirmed {today.day} {today:%b %Y} (revision 1): "
        "time, status — time was afternoon, Tue 13 Jan, 13:00–18:00 JST; status was tentative"
        in text
    )
    dinner = re.search(r'<li class="segment cancelled" id="dinner">.*?</li>', page, re.S)
    assert dinner is not None
    dinner_text = text_of(dinner.group(0))
    assert "Dinner hosted by Prime Minister Takai Cancelled" in dinner_text
    assert "Cancelled: this segment will not take place." in dinner_text
    assert f"Cancelled {today.day} {today:%b %Y} (revision 1) The leaders" in dinner_text


def test_sign_up_form_creates_a_subscription_and_shows_its_links(
    client: httpx.Client, seeded: Services
) -> None:
    form = {
        "channel": "json://127.0.0.1:9/hook",
        "visits": LEE,
        "offsets": "1d, 15m",
        "timezone": "Europe/Rome",
    }
    response = client.post("/reminders", data=form)
    assert response.status_code == 201, text_of(response.text)
    assert response.headers["cache-control"] == "no-store"
    [row] = subscriptions(seeded)
    assert row.active and row.visits == [LEE] and row.offsets == [86400, 900]
    assert row.timezone == "Europe/Rome" and row.channel == "json://127.0.0.1:9/hook"
    text = text_of(response.text)
    assert "You are signed up" in text and row.id in text
    assert "1 day, 15 minutes before each segment" in text
    token = re.search(r'id="manage-token">([^<]+)<', response.text)
    assert token is not None
    link = re.search(r'id="unsubscribe-link" href="([^"]+)"', response.text)
    assert link is not None
    assert html.unescape(link.group(1)).startswith(
        f"http://visitcal.test/subscriptions/{row.id}/unsubscribe?sig="
    )
    # The manage token works with the JSON API.
    api = client.get(f"/subscriptions/{row.id}", headers={"authorization": f"Bearer {token[1]}"})
    assert api.status_code == 200 and api.json()["timezone"] == "Europe/Rome"


def test_sign_up_for_every_visit_follows_all(client: httpx.Client, seeded: Services) -> None:
    form = {"channel": "json://127.0.0.1:9/hook", "visits": ["*", LEE], "offsets": "1h"}
    assert client.post("/reminders", data=form).status_code == 201
    [row] = subscriptions(seeded)
    assert row.visits == [] and row.timezone == "UTC"


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"channel": ""}, "Where to send reminders", "give an email address, or one of"),
        ({"channel": "nonsense://x"}, "Where to send reminders", "is not accepted as a channel"),
        ({"channel": "press@example..org"}, "Where to send reminders", "not a domain name"),
        ({"offsets": "2 fortnights"}, "When", "'2 fortnights' is not a duration"),
        ({"offsets": ""}, "When", "give at least one"),
        ({"timezone": "Mars/Olympus_Mons"}, "Your time zone", "is not an IANA time zone"),
        ({"visits": "2030-01-nowhere"}, "Visits", "unknown visit '2030-01-nowhere'"),
        ({"visits": []}, "Visits", "choose a visit, or every visit"),
    ],
)
def test_sign_up_form_errors_name_the_field_keep_the_input_and_write_nothing(
    client: httpx.Client, seeded: Services, change: dict[str, object], field: str, reason: str
) -> None:
    form: dict[str, object] = {
        "channel": "json://127.0.0.1:9/hook",
        "visits": LEE,
        "offsets": "1h",
        "timezone": "Asia/Seoul",
        **change,
    }
    response = client.post("/reminders", data=form)
    assert response.status_code == 422
    summary = re.search(r'<div class="error-summary" role="alert".*?</div>', response.text, re.S)
    assert summary is not None
    assert f"{field}:" in text_of(summary.group(0)) and reason in text_of(summary.group(0))
    assert response.text.count('aria-invalid="true"') == 1
    if change.get("channel") != "":
        assert f'value="{html.escape(str(form["channel"]))}"' in response.text
    assert subscriptions(seeded) == []


def test_an_email_address_on_the_form_is_an_email_channel_with_no_operator_setting() -> None:
    form = SignupForm(channel="press@example.org", visits=(LEE,), timezone="Asia/Seoul")
    request = signup_request(form)
    assert request.channel == "press@example.org" and request.offsets == ["1d", "1h"]


def test_email_sign_up_over_http_keeps_the_address_as_a_mailto_channel(
    client: httpx.Client, seeded: Services
) -> None:
    page = client.get("/reminders").text
    assert "Email address (or any Apprise URL" in text_of(page)
    form = {"channel": "press@example.org", "visits": LEE, "offsets": "1h", "timezone": "UTC"}
    assert client.post("/reminders", data=form).status_code == 201
    [row] = subscriptions(seeded)
    assert row.channel == "mailto:press@example.org"
    assert row.channel_redacted == "pr…@example.org"


def test_without_a_relay_the_form_says_mail_is_kept_on_the_server(client: httpx.Client) -> None:
    text = text_of(client.get("/reminders").text)
    assert "This server has no mail relay: mail is kept on the server" in text


def test_unsubscribe_with_id_and_token(client: httpx.Client, seeded: Services) -> None:
    form = {"channel": "json://127.0.0.1:9/hook", "visits": LEE, "offsets": "1h"}
    created = client.post("/reminders", data=form).text
    [row] = subscriptions(seeded)
    token = re.search(r'id="manage-token">([^<]+)<', created)
    assert token is not None

    missing = client.post("/reminders/unsubscribe", data={"subscription": "", "token": token[1]})
    assert missing.status_code == 422 and "Subscription id:" in text_of(missing.text)
    wrong = client.post("/reminders/unsubscribe", data={"subscription": row.id, "token": "x" * 40})
    assert wrong.status_code == 403 and "Manage token:" in text_of(wrong.text)
    unknown = client.post("/reminders/unsubscribe", data={"subscription": "\x00", "token": "x"})
    assert unknown.status_code == 404
    assert subscriptions(seeded)[0].active

    done = client.post("/reminders/unsubscribe", data={"subscription": row.id, "token": token[1]})
    assert done.status_code == 200 and "Unsubscribed" in done.text
    assert not subscriptions(seeded)[0].active


def test_reminders_page_preselects_the_visit_it_was_opened_for(client: httpx.Client) -> None:
    page = client.get("/reminders", params={"visit": LEE}).text
    assert re.search(rf'value="{LEE}"\s+checked', page)
    assert not re.search(rf'value="{MELONI}"\s+checked', page)


def _segment(start: datetime, end: datetime, precision: str = "exact") -> Timing:
    part = "evening" if precision == "part_of_day" else None
    return Timing(start, end, precision, part, "Asia/Tokyo")


def test_a_time_that_crosses_midnight_in_the_reader_zone_names_the_next_day() -> None:
    evening = _segment(
        datetime(2026, 1, 13, 9, tzinfo=UTC), datetime(2026, 1, 13, 13, tzinfo=UTC), "part_of_day"
    )
    when = describe_when(evening, "Pacific/Honolulu")
    assert when.day == date(2026, 1, 12)
    assert when.text == "23:00 – Tue 13 Jan 03:00 HST"
    assert when.note == "evening, time to be confirmed"
    assert when.local == "Tue 13 Jan, 18:00–22:00 JST"
    same = describe_when(evening, "Asia/Tokyo")
    assert (same.text, same.local) == ("18:00–22:00 JST", "")


def test_segments_listed_on_the_page_are_the_public_ones(
    client: httpx.Client, seeded: Services
) -> None:
    with seeded.db.session() as session:
        count = len(session.exec(select(Segment).where(Segment.visibility == "public")).all())
    page = client.get(LEE_PAGE).text + client.get(f"/visits/{MELONI}").text
    assert page.count('<li class="segment ') == count
