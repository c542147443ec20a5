"""A form's error in the page's language, for the reasons that carry what was typed: the very
messages the validators write are read back and said in Japanese, Korean and Italian."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from service.localtime import zone
from service.offsets import parse_offset, parse_offsets
from service.services import Services
from service.web.form_errors import reason_in
from tests.helpers.live_server import LiveServer


def reason(check: Callable[[], object]) -> str:
    with pytest.raises(ValueError) as raised:
        check()
    return str(raised.value)


@pytest.mark.parametrize(
    ("check", "ja"),
    [
        (lambda: parse_offset("2x"), "'2x' は期間として読めません（例：1d、1h、15m、PT15M）"),
        (lambda: parse_offset("0m"), "'0m' は 0 より大きくしてください"),
        (lambda: parse_offset("31d"), "'31d' は 30 日を超えています"),
        (lambda: parse_offsets([]), "少なくとも一つ入力してください"),
        (
            lambda: parse_offset("P1M"),
            "'P1M'：月や年は長さが一定ではありません。日数で指定してください（P30D）",
        ),
        (lambda: parse_offsets(["1h"] * 11), "10 個までにしてください"),
        (
            lambda: zone("Mars/Base"),
            "'Mars/Base' は IANA タイムゾーンではありません（例：Asia/Tokyo）",
        ),
    ],
)
def test_what_the_validators_write_is_said_in_japanese(
    check: Callable[[], object], ja: str
) -> None:
    written = reason(check)
    assert reason_in(written, "ja") == ja
    assert reason_in(written, "en") == written


def test_a_reason_we_do_not_word_shows_as_given() -> None:
    assert reason_in("something new went wrong", "ko") == "something new went wrong"


def test_the_sign_up_page_says_a_bad_offset_in_korean(seeded_sqlite: Services) -> None:
    form = {"how": "email", "channel": "a@example.org", "visits": "*", "offsets": "2x"}
    with LiveServer(seeded_sqlite) as server:
        answer = httpx.post(f"{server.url}/reminders?lang=ko", data=form)
    assert answer.status_code == 422
    assert "'2x'은(는) 기간 형식이 아닙니다 (예: 1d, 1h, 15m, PT15M)" in answer.text.replace(
        "&#39;", "'"
    )


def test_an_error_page_is_in_the_pages_language(seeded_sqlite: Services) -> None:
    with LiveServer(seeded_sqlite) as server:
        answer = httpx.get(f"{server.url}/visits/no-such-visit", headers={"accept-language": "it"})
    assert answer.status_code == 404
    assert "<h1>Visita non trovata</h1>" in answer.text
    assert "nessuna visita &#39;no-such-visit&#39;" in answer.text


def test_busy_is_said_in_the_language() -> None:
    from service.errors import Busy

    assert reason_in(str(Busy(31.5)), "ja") == (
        "サーバーはほかの変更の処理中です。何も変更されていません。10 秒後にもう一度お試しください"
    )
