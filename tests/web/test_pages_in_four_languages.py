"""The pages in Japanese, Korean, Italian and English in a real Chromium whose browser language is
each of them: no interface text left in English, screenshots at desktop and phone widths, and
axe-core (WCAG 2.1 A and AA rules) finding no serious or critical violation on any page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from playwright.sync_api import Browser, Page, sync_playwright

from service.i18n import LANGUAGES
from service.i18n.catalogs import LOCALE_DIR
from service.services import Services
from tests.helpers.live_server import LiveServer
from tests.helpers.services import LEE, MELONI, ROOT, load_seed, open_services

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "tests" / "js" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "languages"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
LOCALES = {"en": "en-GB", "ja": "ja-JP", "ko": "ko-KR", "it": "it-IT"}
ZONES = {"en": "Europe/London", "ja": "Asia/Tokyo", "ko": "Asia/Seoul", "it": "Europe/Rome"}
PAGES = {
    "index": "/",
    "visit-lee": f"/visits/{LEE}",
    "visit-meloni": f"/visits/{MELONI}?tz=UTC",
    "reminders": "/reminders",
    "no-such-visit": "/visits/no-such-visit",
}
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

if not CHROMIUM.exists():
    pytest.skip("browser tests need Debian's chromium", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'visitcal.db'}"
    services: Services
    with open_services(url) as services:
        load_seed(services)
        with LiveServer(services) as live:
            yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


def english_only(lang: str) -> set[str]:
    """Interface texts that read differently in `lang`: seeing one of them as it is in English
    on a page in `lang` means a text was left untranslated."""
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as source:
        catalog = read_po(source, locale=lang)
    return {
        m.id
        for m in catalog
        if isinstance(m.id, str) and m.id and m.string != m.id and not any(c in m.id for c in "{%<")
    }


TEXTS = """() => {
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const parent = node.parentElement;
    if (!parent || parent.closest("script, style, code, datalist")) continue;
    const text = node.textContent.replace(/\\s+/g, " ").trim();
    if (text) texts.push(text);
  }
  for (const el of document.querySelectorAll("[aria-label], [placeholder], title")) {
    texts.push(el.getAttribute("aria-label") || el.getAttribute("placeholder") || el.textContent);
  }
  return texts;
}"""


def problems(page: Page) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 A/AA violations on the page."""
    page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluated by the browser, not a <script>
    found = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))",
        WCAG,
    )
    return [json.dumps(violation, ensure_ascii=False) for violation in found]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_reads_in_the_browsers_language_and_passes_axe(
    browser: Browser, server: LiveServer, lang: str
) -> None:
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make js` (npm ci in tests/js)")
    context = browser.new_context(locale=LOCALES[lang], timezone_id=ZONES[lang])
    page = context.new_page()
    untranslated = english_only(lang) if lang != "en" else set()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        for name, path in PAGES.items():
            page.set_viewport_size(SIZES["desktop"])
            page.goto(server.url + path)
            assert page.get_attribute("html", "lang") == lang, path
            left = sorted(set(page.evaluate(TEXTS)) & untranslated)
            assert left == [], f"{lang} {path}: interface text left in English: {left}"
            assert problems(page) == [], f"{lang} {path}: axe found serious violations"
            for size_name, size in SIZES.items():
                page.set_viewport_size(size)
                page.screenshot(
                    path=str(ARTIFACTS / f"{lang}-{name}-{size_name}.png"), full_page=True
                )
    finally:
        context.close()


def test_a_form_error_is_said_in_the_pages_language(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context(locale="ko-KR")
    page = context.new_page()
    try:
        page.goto(server.url + "/reminders")
        page.locator("form.signup button[type=submit]").click()
        page.wait_for_selector(".error-summary")
        assert "입력 내용에 문제가 있습니다" in page.locator(".error-summary").inner_text()
        assert problems(page) == []
        page.screenshot(path=str(ARTIFACTS / "ko-reminders-error-desktop.png"), full_page=True)
    finally:
        context.close()


def test_axe_finds_a_violation_when_there_is_one(browser: Browser, server: LiveServer) -> None:
    """The check above can fail: an image without a text alternative is a critical violation."""
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(server.url + "/")
        page.evaluate("document.body.append(Object.assign(new Image(), {src: '/x.png'}))")
        assert any('"image-alt"' in problem for problem in problems(page))
    finally:
        context.close()
