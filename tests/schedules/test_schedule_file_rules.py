"""Schedule files follow the same input rules as the API: control characters, non-canonical
zones, local times with an offset and days out of range are refused naming file, line, field."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.errors import InputError
from service.schedules.files import read_schedules
from service.settings import Settings
from tests.helpers.services import SEED_VISITS

LEE_FILE = SEED_VISITS / "2026-01-lee-jae-myung-nara.toml"


@pytest.mark.parametrize(
    ("find", "replace", "where", "reason"),
    [
        ('title = "Summit meeting"', 'title = "Summit\\u001b[31m meeting"', "title", "U+001B"),
        ('title = "Summit meeting"', 'title = "Summit\\u0000"', "title", "U+0000"),
        ('timezone = "Asia/Tokyo"', 'timezone = "posixrules"', "visit.timezone", "IANA"),
        ('timezone = "Asia/Tokyo"', 'timezone = "right/Asia/Tokyo"', "visit.timezone", "IANA"),
        ("first_day = 2026-01-13", "first_day = 1066-10-14", "visit.first_day", "years"),
    ],
)
def test_a_schedule_file_breaking_an_input_rule_is_refused_naming_the_field(
    tmp_path: Path, find: str, replace: str, where: str, reason: str
) -> None:
    text = LEE_FILE.read_text()
    assert find in text
    path = tmp_path / LEE_FILE.name
    path.write_text(text.replace(find, replace, 1))
    with pytest.raises(InputError) as refused:
        read_schedules([path], Settings().part_of_day)
    message = str(refused.value)
    assert message.startswith(f"{path}:") and where in message and reason in message, message


def test_a_local_time_with_an_offset_in_a_file_is_refused(tmp_path: Path) -> None:
    text = LEE_FILE.read_text()
    path = tmp_path / LEE_FILE.name
    path.write_text(text.replace('part_of_day = "afternoon"', 'start = "15:00+09:00"', 1))
    with pytest.raises(InputError, match="UTC offset"):
        read_schedules([path], Settings().part_of_day)
