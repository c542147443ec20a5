"""The pages in a real headless Chromium (Debian's), driven by Playwright: what a follower does."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import icalendar
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, sync_playwright
from sqlmodel import select

from service.models import Subscription
from service.schedules.files import read_schedules
from service.services import Services
from tests.helpers.cli import cli_process, run_cli
from tests.helpers.live_server import LiveServer, free_port
from tests.helpers.services import LEE, ROOT
from tests.helpers.workers import wait_until

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
READER_ZONE = "Europe/Rome"  # the browser's own zone, as the "Your zone" switch finds it
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's chromium: apt-get install chromium", allow_module_level=True
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    """One Chromium for the module, with an empty profile of its own."""
    profile = Path(tempfile.mkdtemp(prefix="visitcal-chromium-"))
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            timezone_id=READER_ZONE,
            locale="en-GB",
            viewport=DESKTOP,
            accept_downloads=True,
        )
        yield context
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    tab = browser.new_page()
    tab.set_viewport_size(DESKTOP)
    yield tab
    tab.close()


def wait_for_zone(page: Page, zone: str) -> None:
    """Until the page shown is the one for `zone` (its "/" in the query encoded or not)."""
    page.wait_for_url(re.compile("tz=" + re.escape(zone).replace("/", "(/|%2F)") + "(&|#|$)"))


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def summit(page: Page) -> Locator:
    return page.locator("#summit .when time")


def test_zone_switch_shows_the_times_in_the_chosen_zone(page: Page, live: LiveServer) -> None:
    page.goto(f"{live.url}/visits/{LEE}")
    assert summit(page).inner_text() == "13:00–18:00 JST"
    assert "Asia/Tokyo" in page.locator("#zone-shown").inner_text()

    page.get_by_role("link", name="UTC", exact=True).click()
    wait_for_zone(page, "UTC")
    assert summit(page).inner_text() == "04:00–09:00 UTC"
    assert page.locator("#zone-shown").inner_text() == "Times are shown in UTC."
    assert "13:00–18:00 JST" in page.locator("#summit .when").inner_text()  # still the local one

    page.get_by_role("link", name=f"Your zone ({READER_ZONE})").click()
    wait_for_zone(page, "Europe/Rome")
    assert summit(page).inner_text() == "05:00–10:00 CET"
    assert page.locator("#dinner .when time").inner_text() == "10:00–14:00 CET"

    page.get_by_role("link", name="Republic of Korea (Asia/Seoul)").click()
    wait_for_zone(page, "Asia/Seoul")
    assert summit(page).inner_text() == "13:00–18:00 KST"

    page.get_by_label("Another zone").fill("America/New_York")
    page.get_by_role("button", name="Show").click()
    wait_for_zone(page, "America/New_York")
    assert summit(page).inner_text() == "23:00 – Tue 13 Jan 04:00 EST"
    assert "Monday 12 January 2026" in page.locator("main").inner_text()


def test_download_links_give_valid_calendars(page: Page, live: LiveServer, tmp_path: Path) -> None:
    page.goto(f"{live.url}/visits/{LEE}")
    with page.expect_download() as segment_download:
        page.locator("#summit").get_by_role("link", name="Download .ics").click()
    segment = segment_download.value
    assert segment.suggested_filename.endswith(".ics")
    calendar = icalendar.Calendar.from_ical(Path(segment.path()).read_bytes())
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"{LEE}.summit@visitcal"
    start = event.decoded("DTSTART")
    assert start.astimezone(UTC) == datetime(2026, 1, 13, 4, tzinfo=UTC)
    assert str(start.tzinfo) == "Asia/Tokyo"

    with page.expect_download() as visit_download:
        page.get_by_role("link", name="Download .ics", exact=True).first.click()
    whole = icalendar.Calendar.from_ical(Path(visit_download.value.path()).read_bytes())
    assert len(whole.walk("VEVENT")) == 6


def test_sign_up_form_creates_the_subscription(
    page: Page, live: LiveServer, seeded: Services
) -> None:
    page.goto(f"{live.url}/visits/{LEE}")
    zone_field = page.get_by_label("Your time zone")
    assert zone_field.input_value() == READER_ZONE  # filled in from the browser's zone

    page.get_by_role("button", name="Sign up for reminders").click()
    page.wait_for_load_state()
    alert = page.get_by_role("alert")
    assert "Where to send reminders" in alert.inner_text()
    # The form comes back as on the reminders page, with every way to be reached.
    assert page.get_by_label("Email address").get_attribute("aria-invalid") == "true"
    assert page.locator(".qr svg").count() == 1  # the phone's QR code, drawn on the server

    page.get_by_label("Email address").fill("json://127.0.0.1:9/hook")
    page.get_by_label("When").fill("1h, 15m")
    page.get_by_label("Your time zone").fill(READER_ZONE)
    page.get_by_role("button", name="Sign up for reminders").click()
    page.get_by_role("heading", name="You are signed up").wait_for()
    subscription_id = page.locator("#subscription-id").inner_text()
    with seeded.db.session() as session:
        row = session.exec(select(Subscription).where(Subscription.id == subscription_id)).one()
    assert row.active and row.visits == [LEE]
    assert row.offsets == [3600, 900] and row.timezone == READER_ZONE
    assert page.locator("#unsubscribe-link").get_attribute("href")
    screenshots(page, "subscribed")


def test_cancelled_segment_is_marked_as_cancelled(
    page: Page, live: LiveServer, seeded: Services, visits_dir: Path
) -> None:
    lee = visits_dir / f"{LEE}.toml"
    head, *blocks = lee.read_text(encoding="utf-8").split("[[segment]]")
    kept = [block for block in blocks if 'id = "dinner"' not in block]
    lee.write_text("[[segment]]".join([head, *kept]), encoding="utf-8")
    seeded.catalog.apply(
        read_schedules([visits_dir], seeded.settings.part_of_day), datetime.now(UTC)
    )

    page.goto(f"{live.url}/visits/{LEE}")
    dinner = page.locator("#dinner")
    assert "Cancelled: this segment will not take place." in dinner.inner_text()
    assert dinner.locator(".badge.cancelled").inner_text() == "Cancelled"
    title = dinner.locator(".title")
    assert "line-through" in title.evaluate("e => getComputedStyle(e).textDecorationLine")
    assert page.locator("#summit .badge.cancelled").count() == 0
    dinner.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    dinner.screenshot(path=str(ARTIFACTS / "cancelled-segment.png"))


def test_script_in_a_title_is_shown_as_text_and_never_runs(
    page: Page, live: LiveServer, seeded: Services, visits_dir: Path
) -> None:
    lee = visits_dir / f"{LEE}.toml"
    text = lee.read_text(encoding="utf-8")
    evil = "<script>window.pwned = true</script>Summit"
    lee.write_text(text.replace('title = "Summit meeting"', f'title = "{evil}"'), encoding="utf-8")
    seeded.catalog.apply(
        read_schedules([visits_dir], seeded.settings.part_of_day), datetime.now(UTC)
    )

    page.goto(f"{live.url}/visits/{LEE}")
    assert page.locator("#summit .title").inner_text() == evil
    assert page.evaluate("window.pwned") is None
    page.goto(f"{live.url}/")
    assert page.evaluate("window.pwned") is None


def test_keyboard_reaches_the_zone_switch_and_the_form(page: Page, live: LiveServer) -> None:
    page.goto(f"{live.url}/visits/{LEE}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(
            page.evaluate("document.activeElement.textContent || document.activeElement.id")
        )
    assert {"UTC", "Subscribe", "Download .ics"} <= reached


def screenshots(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_screenshots_at_desktop_and_phone_widths(page: Page, live: LiveServer) -> None:
    for name, path in [
        ("index", "/"),
        ("visit-lee", f"/visits/{LEE}"),
        ("visit-lee-utc", f"/visits/{LEE}?tz=UTC"),
        ("visit-meloni", "/visits/2026-01-meloni-japan"),
        ("reminders", "/reminders"),
    ]:
        page.goto(live.url + path)
        screenshots(page, name)
    # Nothing is wider than a phone's screen.
    page.set_viewport_size(PHONE)
    page.goto(f"{live.url}/visits/{LEE}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    for name in ("index", "visit-lee", "reminders"):
        assert (ARTIFACTS / f"{name}-phone.png").stat().st_size > 0


def test_a_newcomer_signs_up_by_email_and_confirms_from_the_local_mail_store(
    page: Page, tmp_path: Path
) -> None:
    """`make run` as it comes (no relay): sign up with an address on the page, find the
    confirmation with `visitcal mail list` / `visitcal mail show`, confirm it in the browser."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    mail_dir = tmp_path / "mail"
    settings: dict[str, object] = {
        "base_url": url,
        "smtp_url": "",
        "mail_dir": mail_dir,
    }
    database = f"sqlite:///{tmp_path / 'visitcal.db'}"
    server = cli_process("up", "--port", str(port), database_url=database, **settings)
    try:
        assert wait_until(lambda: _answers(url), 30), "visitcal up did not start"
        page.goto(f"{url}/reminders?visit={LEE}")
        assert "mail is kept on the server" in page.locator("#channel-hint").inner_text()
        page.get_by_label("Email address").fill("newcomer@example.org")
        page.get_by_role("button", name="Sign up for reminders").click()
        page.get_by_role("heading", name="You are signed up").wait_for()
        assert "visitcal mail list" in page.locator("#local-mail").inner_text()

        def listed() -> str:
            done = run_cli("mail", "list", database_url=database, **settings)
            return done.stdout if "newcomer@example.org" in done.stdout else ""

        assert wait_until(lambda: bool(listed()), 15), "no confirmation kept"
        [row] = [line for line in listed().splitlines() if "newcomer@example.org" in line]
        mail_id = re.search(r"(\d{9,}\.\S+?)\s", row)  # a Maildir key: <time>.<unique>.<host>
        assert mail_id, row
        shown = run_cli("mail", "show", mail_id[1], database_url=database, **settings)
        assert shown.returncode == 0, shown.stderr
        link = re.search(r"(http\S+/confirm\?sig=\S+)", shown.stdout)
        assert link is not None, shown.stdout
        page.goto(link[1])
        page.get_by_role("button", name="Confirm").click()
        page.get_by_role("heading", name="Confirmed").wait_for()
        screenshots(page, "confirmed-by-email")
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=20)
    assert "Email is not sent: no relay is configured" in out
