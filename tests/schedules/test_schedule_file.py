"""Schedule files: a bad file is refused with `path:line: field: reason` and changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.errors import InputError
from service.publishing.feed_store import FeedKey, FeedStore
from service.schedules.files import read_schedules
from service.services import Services
from service.settings import Settings
from tests.helpers.cli import cli_env, invoke
from tests.helpers.services import LEE

ROME_VISIT = """\
[visit]
slug = "2026-rome-visit"
title = "Visit to Rome"
timezone = "Europe/Rome"
first_day = 2026-03-27
last_day = 2026-10-26

[visit.guest]
name = "Guest of Rome"

[[segment]]
id = "arrival"
title = "Arrival"
kind = "arrival"
date = 2026-03-27
start = "10:00"
"""


def segment(*lines: str) -> str:
    """A second [[segment]] appended to ROME_VISIT."""
    return "\n[[segment]]\n" + "\n".join(lines) + "\n"


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based number of the line that holds `needle` (its n-th occurrence)."""
    found = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return found[occurrence - 1]


def refused(tmp_path: Path, text: str) -> tuple[Path, str]:
    path = tmp_path / "visit.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_schedules([path], Settings().part_of_day)
    return path, str(caught.value)


def assert_names(message: str, path: Path, line: int, field: str, reason: str) -> None:
    assert message.startswith(f"{path}:{line}: {field}: "), message
    assert reason in message.split(f"{field}: ", 1)[1], message
    assert "\n" not in message


def test_the_base_rome_file_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "visit.toml"
    path.write_text(ROME_VISIT, encoding="utf-8")
    (schedule,) = read_schedules([path], Settings().part_of_day)
    assert schedule.visit.slug == "2026-rome-visit"


def test_bad_toml_is_refused_at_its_line(tmp_path: Path) -> None:
    text = ROME_VISIT + 'location = = "Fiumicino"\n'
    path, message = refused(tmp_path, text)
    assert message.startswith(f"{path}:{line_of(text, 'location = =')}: toml: "), message


def test_unknown_zone_is_refused_at_the_timezone_line(tmp_path: Path) -> None:
    text = ROME_VISIT.replace('"Europe/Rome"', '"Mars/Base"')
    path, message = refused(tmp_path, text)
    assert_names(message, path, line_of(text, "timezone ="), "visit.timezone", "'Mars/Base'")


def test_end_before_start_is_refused_at_the_end_line(tmp_path: Path) -> None:
    text = ROME_VISIT + segment(
        'id = "talks"',
        'title = "Talks"',
        'kind = "meeting"',
        "date = 2026-03-27",
        'start = "15:00"',
        'end = "14:00"',
    )
    path, message = refused(tmp_path, text)
    assert_names(message, path, line_of(text, 'end = "14:00"'), "segment[2].end", "not after")


def test_unknown_kind_is_refused_at_the_kind_line(tmp_path: Path) -> None:
    text = ROME_VISIT + segment(
        'id = "talks"', 'title = "Talks"', 'kind = "picnic"', "date = 2026-03-27"
    )
    path, message = refused(tmp_path, text)
    assert_names(message, path, line_of(text, 'kind = "picnic"'), "segment[2].kind", "meeting")


def test_local_time_skipped_by_dst_is_refused(tmp_path: Path) -> None:
    text = ROME_VISIT + segment(
        'id = "talks"',
        'title = "Talks"',
        'kind = "meeting"',
        "date = 2026-03-29",
        'start = "02:30"',
    )
    path, message = refused(tmp_path, text)
    assert_names(
        message, path, line_of(text, 'start = "02:30"'), "segment[2].start", "does not exist"
    )
    assert "Europe/Rome" in message


def test_end_time_skipped_by_dst_is_refused_at_the_end_line(tmp_path: Path) -> None:
    text = ROME_VISIT + segment(
        'id = "talks"',
        'title = "Talks"',
        'kind = "meeting"',
        "date = 2026-03-29",
        'start = "01:30"',
        'end = "02:30"',
    )
    path, message = refused(tmp_path, text)
    assert_names(message, path, line_of(text, 'end = "02:30"'), "segment[2].end", "does not exist")


def test_local_time_repeated_by_dst_is_refused_as_ambiguous(tmp_path: Path) -> None:
    text = ROME_VISIT + segment(
        'id = "talks"',
        'title = "Talks"',
        'kind = "meeting"',
        "date = 2026-10-25",
        'start = "02:30"',
    )
    path, message = refused(tmp_path, text)
    assert_names(
        message, path, line_of(text, 'start = "02:30"'), "segment[2].start", "occurs twice"
    )


def test_duplicate_segment_id_is_refused_at_the_second_id(tmp_path: Path) -> None:
    text = ROME_VISIT + segment(
        'id = "arrival"', 'title = "Second arrival"', 'kind = "arrival"', "date = 2026-03-28"
    )
    path, message = refused(tmp_path, text)
    assert_names(message, path, line_of(text, 'id = "arrival"', 2), "segment[2].id", "duplicate")


def test_missing_segment_field_is_refused_at_its_segment(tmp_path: Path) -> None:
    text = ROME_VISIT + segment('id = "talks"', 'kind = "meeting"', "date = 2026-03-27")
    path, message = refused(tmp_path, text)
    header = line_of(text, "[[segment]]", 2)
    assert_names(message, path, header, "segment[2].title", "required field is missing")


def test_missing_visit_field_is_refused_at_the_visit_table(tmp_path: Path) -> None:
    text = ROME_VISIT.replace("first_day = 2026-03-27\n", "")
    path, message = refused(tmp_path, text)
    assert_names(message, path, 1, "visit.first_day", "required field is missing")


def test_date_outside_the_visit_is_refused_at_the_date_line(tmp_path: Path) -> None:
    text = ROME_VISIT + segment(
        'id = "talks"', 'title = "Talks"', 'kind = "meeting"', "date = 2026-11-02"
    )
    path, message = refused(tmp_path, text)
    assert_names(
        message, path, line_of(text, "date = 2026-11-02"), "segment[2].date", "outside the visit"
    )


def test_unknown_segment_field_is_refused_at_its_line(tmp_path: Path) -> None:
    text = ROME_VISIT + segment(
        'id = "talks"', 'title = "Talks"', 'kind = "meeting"', "date = 2026-03-27", 'room = "B"'
    )
    path, message = refused(tmp_path, text)
    assert_names(message, path, line_of(text, 'room = "B"'), "segment[2].room", "unknown field")


def test_unknown_visit_field_is_refused_at_its_line(tmp_path: Path) -> None:
    text = ROME_VISIT.replace("[visit.guest]", 'colour = "red"\n\n[visit.guest]')
    path, message = refused(tmp_path, text)
    assert_names(message, path, line_of(text, "colour ="), "visit.colour", "unknown field")


def test_key_like_lines_inside_a_multiline_description_do_not_move_the_error(
    tmp_path: Path,
) -> None:
    text = ROME_VISIT + segment(
        'id = "talks"',
        'title = "Talks"',
        'description = """',
        "Agenda:",
        "kind = to be decided by the two offices",
        "[[segment]]",
        '"""',
        'kind = "picnic"',
        "date = 2026-03-27",
    )
    path, message = refused(tmp_path, text)
    assert_names(message, path, line_of(text, 'kind = "picnic"'), "segment[2].kind", "meeting")


# --- a load that fails changes nothing -------------------------------------------------------

KOREAN_VISIT = """\
[visit]
slug = "2026-02-seoul-return-visit"
title = "Prime Minister Takai visits Seoul"
timezone = "Asia/Seoul"
first_day = 2026-02-10
last_day = 2026-02-11

[visit.guest]
name = "Sousuke Takai"

[[segment]]
id = "summit"
title = "Summit meeting"
kind = "meeting"
date = 2026-02-10
start = "15:00"
"""


def database_state(services: Services) -> tuple[int, list[bytes | None]]:
    """The change counter and the bytes of every feed, read without any cache."""
    store = FeedStore(services.db, services.settings)
    keys = [FeedKey("all"), FeedKey("visit", LEE), FeedKey("visit", "2026-02-seoul-return-visit")]
    return services.db.catalog_version(), [
        feed.body if (feed := store.get(key)) else None for key in keys
    ]


def test_load_with_a_bad_second_file_writes_nothing_and_exits_2_with_one_line(
    seeded: Services, visits_dir: Path, tmp_path: Path
) -> None:
    before = database_state(seeded)
    lee = visits_dir / f"{LEE}.toml"
    lee.write_text(
        lee.read_text(encoding="utf-8").replace('location = "Nara"', 'location = "Nara City"'),
        encoding="utf-8",
    )
    first = tmp_path / "a-seoul.toml"
    first.write_text(KOREAN_VISIT, encoding="utf-8")
    bad_text = ROME_VISIT + segment(
        'id = "talks"', 'title = "Talks"', 'kind = "picnic"', "date = 2026-03-27"
    )
    bad = tmp_path / "b-rome.toml"
    bad.write_text(bad_text, encoding="utf-8")

    env = cli_env(seeded.settings.database_url, visits_dir=visits_dir)
    result = invoke(env, "load", str(lee), str(first), str(bad))

    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {bad}:{line_of(bad_text, 'picnic')}: segment[2].kind: ")
    assert database_state(seeded) == before
