"""Feeds over real HTTP: headers, conditional GET, HEAD, downloads, errors, schema, freshness."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from service.publishing.feed_store import FeedKey, RenderedFeed
from service.schedules.files import read_schedules
from service.services import Services
from tests.helpers.services import LEE, MELONI, make_settings

FEEDS = [
    "/feeds/all.ics",
    f"/feeds/visits/{LEE}.ics",
    f"/visits/{LEE}.ics",
    f"/visits/{MELONI}/segments/summit.ics",
]

SEOUL_SLUG = "2026-02-takai-seoul"
SEOUL_TITLE = "다카이 총리 방한 (서울)"
SEOUL_VISIT = f"""\
[visit]
slug = "{SEOUL_SLUG}"
title = "{SEOUL_TITLE}"
timezone = "Asia/Seoul"
first_day = 2026-02-10
last_day = 2026-02-11

[visit.guest]
name = "Sousuke Takai"

[[segment]]
id = "summit"
title = "정상회담"
kind = "meeting"
date = 2026-02-10
start = "15:00"
end = "16:30"

[[segment]]
id = "security-briefing"
title = "Security briefing"
kind = "other"
date = 2026-02-10
start = "09:00"
visibility = "restricted"
"""


def apply_files(services: Services, *paths: Path, now: datetime) -> None:
    services.catalog.apply(read_schedules(list(paths), services.settings.part_of_day), now)


@pytest.fixture
def seoul(seeded: Services, tmp_path: Path) -> str:
    """A visit with a Korean title, loaded next to the seed visits."""
    path = tmp_path / "seoul.toml"
    path.write_text(SEOUL_VISIT, encoding="utf-8")
    apply_files(seeded, path, now=datetime(2026, 1, 20, tzinfo=UTC))
    return SEOUL_SLUG


def test_feeds_are_utf8_calendars_with_strong_etag_last_modified_and_max_age(
    client: httpx.Client,
) -> None:
    for path in FEEDS:
        check_calendar_headers(client.get(path))


def check_calendar_headers(response: httpx.Response) -> None:
    assert response.status_code == 200, response.url
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.content.startswith(b"BEGIN:VCALENDAR\r\n")
    etag = response.headers["etag"]
    assert re.fullmatch(r'"[^"]+"', etag), etag  # strong: no W/ prefix
    assert parsedate_to_datetime(response.headers["last-modified"]).tzinfo is not None
    assert re.search(r"(^|,)\s*max-age=\d+", response.headers["cache-control"])
    assert int(response.headers["content-length"]) == len(response.content)


def test_same_feed_twice_has_the_same_etag_and_bytes(client: httpx.Client) -> None:
    first, second = client.get("/feeds/all.ics"), client.get("/feeds/all.ics")
    assert first.headers["etag"] == second.headers["etag"]
    assert first.content == second.content


def test_if_none_match_with_the_current_etag_answers_304(client: httpx.Client) -> None:
    for path in FEEDS:
        etag = client.get(path).headers["etag"]
        for header in (etag, "*", f'"stale", {etag}', f'"a","b",{etag}', f"W/{etag}"):
            response = client.get(path, headers={"If-None-Match": header})
            assert response.status_code == 304, (path, header)
            assert response.content == b""
            assert response.headers["etag"] == etag
            assert "cache-control" in response.headers


def test_if_none_match_with_other_tags_answers_200(client: httpx.Client) -> None:
    response = client.get("/feeds/all.ics", headers={"If-None-Match": '"stale", "older"'})
    assert response.status_code == 200
    assert response.content.startswith(b"BEGIN:VCALENDAR")


def test_if_none_match_wins_over_if_modified_since(client: httpx.Client) -> None:
    last_modified = client.get("/feeds/all.ics").headers["last-modified"]
    response = client.get(
        "/feeds/all.ics", headers={"If-None-Match": '"stale"', "If-Modified-Since": last_modified}
    )
    assert response.status_code == 200


def test_if_modified_since_last_modified_answers_304_and_an_older_date_200(
    client: httpx.Client,
) -> None:
    for path in FEEDS:
        last_modified = client.get(path).headers["last-modified"]
        stamp = parsedate_to_datetime(last_modified)
        later = format_datetime(stamp + timedelta(days=1), usegmt=True)
        older = format_datetime(stamp - timedelta(seconds=1), usegmt=True)

        assert client.get(path, headers={"If-Modified-Since": last_modified}).status_code == 304
        assert client.get(path, headers={"If-Modified-Since": later}).status_code == 304
        response = client.get(path, headers={"If-Modified-Since": older})
        assert response.status_code == 200, path
        assert response.content.startswith(b"BEGIN:VCALENDAR")


UNUSABLE_DATES = [
    "garbage",
    "",
    "Mon, 32 Jan 2026 00:00:00 GMT",
    "Wed, 25 Nov 2026 99:39:21 GMT",
    "Sat, 01 Jan 0000 00:00:00 GMT",
    "Wed, 25 Nov 9999999 17:39:21 GMT",
    "Wed, 25 Nov 2026 17:39:21 +9999",
    "99999999999999999999",
    "Tue, 13 Jan 2026 00:00:00 -0000",
]


def test_unusable_if_modified_since_is_ignored_and_answers_200(client: httpx.Client) -> None:
    for value in UNUSABLE_DATES:
        response = client.get("/feeds/all.ics", headers={"If-Modified-Since": value})
        assert response.status_code == 200, value
        assert response.content.startswith(b"BEGIN:VCALENDAR")


def test_head_answers_like_get_without_a_body(client: httpx.Client) -> None:
    for path in [*FEEDS, "/feeds/visits/unknown.ics", f"/visits/{LEE}/segments/unknown.ics"]:
        get = client.get(path)
        head = client.head(path)

        assert head.status_code == get.status_code, path
        assert head.content == b""
        for name in ("content-type", "etag", "last-modified", "cache-control"):
            assert head.headers.get(name) == get.headers.get(name), (path, name)
        assert head.headers.get("content-disposition") == get.headers.get("content-disposition")
        assert head.headers["content-length"] == str(len(get.content))


def test_conditional_head_answers_304(client: httpx.Client) -> None:
    for path in FEEDS:
        etag = client.head(path).headers["etag"]
        response = client.head(path, headers={"If-None-Match": etag})
        assert response.status_code == 304, path
        assert response.content == b""


def disposition_names(header: str) -> tuple[str, str]:
    """The ASCII filename and the decoded RFC 5987 filename* of a Content-Disposition."""
    match = re.fullmatch(r'attachment; filename="([ -~]*)"; filename\*=utf-8\'\'(\S+)', header)
    assert match, header
    assert '"' not in match.group(1) and "\\" not in match.group(1)
    return match.group(1), unquote(match.group(2), encoding="utf-8", errors="strict")


def test_visit_and_segment_downloads_are_attachments_named_after_the_visit(
    client: httpx.Client,
) -> None:
    title = "President Lee Jae-myung visits Japan (Nara)"
    visit = client.get(f"/visits/{LEE}.ics").headers["content-disposition"]
    assert disposition_names(visit) == (f"{title}.ics", f"{title}.ics")
    segment = client.get(f"/visits/{LEE}/segments/summit.ics").headers["content-disposition"]
    assert disposition_names(segment)[1] == f"{title} - summit.ics"


def test_subscription_feeds_are_not_attachments(client: httpx.Client) -> None:
    for path in ("/feeds/all.ics", f"/feeds/visits/{LEE}.ics"):
        assert "content-disposition" not in client.get(path).headers


def test_korean_visit_title_survives_in_the_utf8_file_name(
    client: httpx.Client, seoul: str
) -> None:
    visit = client.get(f"/visits/{seoul}.ics")
    assert visit.status_code == 200
    fallback, name = disposition_names(visit.headers["content-disposition"])
    assert name == f"{SEOUL_TITLE}.ics"
    assert fallback.isascii() and fallback.endswith(".ics")

    segment = client.get(f"/visits/{seoul}/segments/summit.ics")
    assert disposition_names(segment.headers["content-disposition"])[1] == (
        f"{SEOUL_TITLE} - summit.ics"
    )
    assert "SUMMARY:정상회담".encode() in segment.content


def test_restricted_segment_is_neither_in_public_feeds_nor_downloadable(
    client: httpx.Client, seoul: str
) -> None:
    assert b"security-briefing" not in client.get(f"/feeds/visits/{seoul}.ics").content
    assert b"security-briefing" not in client.get("/feeds/all.ics").content
    response = client.get(f"/visits/{seoul}/segments/security-briefing.ics")
    assert response.status_code == 404


UNKNOWN = [
    "/feeds/visits/unknown-visit.ics",
    "/visits/unknown-visit.ics",
    f"/visits/{LEE}/segments/unknown-segment.ics",
    "/visits/unknown-visit/segments/summit.ics",
    "/api/visits/unknown-visit",
    "/feeds/visits/UPPER.ics",
]


def test_unknown_visit_or_segment_is_404_with_a_json_body(client: httpx.Client) -> None:
    for path in UNKNOWN:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["detail"]


ODD_PATHS = [
    "/feeds/all.ics?x=%ff",
    "/feeds/all.ics?%00=%00&a=b&a=c",
    "/feeds/visits/..%2f..%2fetc.ics",
    "/feeds/visits/%2e%2e/%2e%2e/etc/passwd",
    "/visits/%00.ics",
    "/visits/%ff%fe.ics",
    f"/visits/{LEE}/segments/%00.ics",
    "/visits/" + "a" * 8000 + ".ics",
    "/feeds/visits/" + "a" * 121 + ".ics",
    "/feeds/visits/UPPER.ics",
    "/feeds/visits/.ics",
    "/feeds//all.ics",
    "/visits/%F0%9F%98%80",
    "/visits/%00",
    "/api/visits/%00",
    "/visits/2026-01-lee-jae-myung-nara?tz=%00",
    "/visits/%00/segments/%00.ics",
    "/feeds/visits/%00.ics",
]


def test_odd_paths_and_query_strings_never_fail_the_server(client: httpx.Client) -> None:
    for path in ODD_PATHS:
        for method in ("GET", "HEAD"):
            response = client.request(method, path)
            assert response.status_code < 500, (method, path, response.text[:200])


def test_healthz_answers_200(client: httpx.Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_openapi_schema_lists_every_route(client: httpx.Client) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, methods in {
        "/feeds/all.ics": {"get", "head"},
        "/feeds/visits/{slug}.ics": {"get", "head"},
        "/visits/{slug}.ics": {"get", "head"},
        "/visits/{slug}/segments/{segment}.ics": {"get", "head"},
        "/healthz": {"get"},
        "/api/visits": {"get"},
        "/api/visits/{slug}": {"get"},
    }.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))


def test_openapi_operation_ids_are_unique(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    ids = [operation["operationId"] for item in paths.values() for operation in item.values()]
    assert len(ids) == len(set(ids)), sorted(ids)


def lee_with_summit_at(visits_dir: Path, clock: str) -> Path:
    path = visits_dir / f"{LEE}.toml"
    text = path.read_text(encoding="utf-8")
    head, *blocks = text.split("[[segment]]")
    blocks = [
        b.replace('part_of_day = "afternoon"', f'start = "{clock}"')
        if 'id = "summit"\n' in b
        else b
        for b in blocks
    ]
    path.write_text("[[segment]]".join([head, *blocks]), encoding="utf-8")
    return path


def test_change_made_by_another_process_is_served_with_a_new_etag(
    client: httpx.Client, seeded: Services, visits_dir: Path
) -> None:
    before = client.get(f"/feeds/visits/{LEE}.ics")
    assert b"DTSTART;TZID=Asia/Tokyo:20260113T151500" not in before.content

    other = Services.build(make_settings(seeded.settings.database_url))
    try:
        apply_files(
            other, lee_with_summit_at(visits_dir, "15:15"), now=datetime(2026, 1, 12, tzinfo=UTC)
        )
    finally:
        other.close()

    after = client.get(
        f"/feeds/visits/{LEE}.ics", headers={"If-None-Match": before.headers["etag"]}
    )
    assert after.status_code == 200
    assert after.headers["etag"] != before.headers["etag"]
    assert b"DTSTART;TZID=Asia/Tokyo:20260113T151500" in after.content
    assert parsedate_to_datetime(after.headers["last-modified"]) == datetime(
        2026, 1, 12, tzinfo=UTC
    )
    assert client.get("/feeds/all.ics").headers["etag"] != before.headers["etag"]


def test_unchanged_feed_is_served_without_being_assembled_again(
    client: httpx.Client, seeded: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = seeded.feeds
    assembled: list[FeedKey] = []
    assemble = store._assemble

    def counting_assemble(key: FeedKey) -> RenderedFeed | None:
        assembled.append(key)
        return assemble(key)

    monkeypatch.setattr(store, "_assemble", counting_assemble)
    first = client.get("/feeds/all.ics")
    kept = store.get(FeedKey("all"))
    second = client.get("/feeds/all.ics")

    assert assembled == [FeedKey("all")]
    assert store.get(FeedKey("all")) is kept
    assert kept is not None and first.content == second.content == kept.body


def test_visit_level_change_advances_last_modified_of_the_all_feed(
    client: httpx.Client, seeded: Services, visits_dir: Path
) -> None:
    before = client.get("/feeds/all.ics")
    path = visits_dir / f"{LEE}.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            'name = "Governments of Japan and the Republic of Korea"',
            'name = "Prime Minister\'s Office of Japan"',
        ),
        encoding="utf-8",
    )
    apply_files(seeded, path, now=datetime(2026, 1, 12, tzinfo=UTC))

    response = client.get(
        "/feeds/all.ics", headers={"If-Modified-Since": before.headers["last-modified"]}
    )

    assert response.status_code == 200
    assert response.content != before.content
    assert parsedate_to_datetime(response.headers["last-modified"]) == datetime(
        2026, 1, 12, tzinfo=UTC
    )


def test_segment_turned_restricted_advances_last_modified_of_its_feeds(
    client: httpx.Client, seeded: Services, visits_dir: Path
) -> None:
    feeds = ("/feeds/all.ics", f"/feeds/visits/{LEE}.ics")
    before = {path: client.get(path) for path in feeds}
    path = visits_dir / f"{LEE}.toml"
    head, *blocks = path.read_text(encoding="utf-8").split("[[segment]]")
    blocks = [b + 'visibility = "restricted"\n' if 'id = "dinner"\n' in b else b for b in blocks]
    path.write_text("[[segment]]".join([head, *blocks]), encoding="utf-8")
    apply_files(seeded, path, now=datetime(2026, 1, 12, tzinfo=UTC))

    for feed_path, old in before.items():
        response = client.get(
            feed_path, headers={"If-Modified-Since": old.headers["last-modified"]}
        )
        assert response.status_code == 200, feed_path
        assert b"dinner" not in response.content


def test_change_within_the_same_second_is_not_hidden_by_if_modified_since(
    client: httpx.Client, seeded: Services, visits_dir: Path
) -> None:
    first_change = datetime(2026, 1, 12, 8, 0, 0, 100_000, tzinfo=UTC)
    apply_files(seeded, lee_with_summit_at(visits_dir, "15:00"), now=first_change)
    seen = client.get(f"/feeds/visits/{LEE}.ics")
    path = visits_dir / f"{LEE}.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace('start = "15:00"', 'start = "16:00"'),
        encoding="utf-8",
    )
    apply_files(seeded, path, now=first_change + timedelta(milliseconds=500))

    response = client.get(
        f"/feeds/visits/{LEE}.ics", headers={"If-Modified-Since": seen.headers["last-modified"]}
    )

    assert response.status_code == 200
    assert b"DTSTART;TZID=Asia/Tokyo:20260113T160000" in response.content


def test_unknown_visit_404_names_the_visit(client: httpx.Client) -> None:
    response = client.get("/feeds/visits/unknown.ics")
    assert json.loads(response.content) == {"detail": "no visit 'unknown'"}


def test_second_visit_change_within_the_same_second_is_not_hidden_by_if_modified_since(
    client: httpx.Client, seeded: Services, visits_dir: Path
) -> None:
    path = visits_dir / f"{LEE}.toml"
    source = 'name = "Governments of Japan and the Republic of Korea"'
    first_change = datetime(2026, 1, 12, 8, 0, 0, 100_000, tzinfo=UTC)
    path.write_text(
        path.read_text(encoding="utf-8").replace(source, 'name = "Cabinet Office"'),
        encoding="utf-8",
    )
    apply_files(seeded, path, now=first_change)
    seen = client.get("/feeds/all.ics")
    path.write_text(
        path.read_text(encoding="utf-8").replace("Cabinet Office", "Ministry of Foreign Affairs"),
        encoding="utf-8",
    )
    apply_files(seeded, path, now=first_change + timedelta(milliseconds=500))

    for feed_path in ("/feeds/all.ics", f"/feeds/visits/{LEE}.ics"):
        response = client.get(
            feed_path, headers={"If-Modified-Since": seen.headers["last-modified"]}
        )
        assert response.status_code == 200, feed_path
        assert b"Ministry of Foreign Affairs" in response.content
