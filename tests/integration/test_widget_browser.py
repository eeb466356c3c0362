"""The web widget in a real headless Chromium (Debian's), driven by Playwright, against
the running bot: on the bot's demo page and embedded in another site."""

import re
import shutil
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import yaml

from bot import processes
from bot.settings import ROOT
from tests.integration.conftest import HOST_SITE, HOST_SITE_PORT, SERVER_LOG

playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "results" / "screenshots"
EXIT_URL = "https://neutral.example/weather"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
    "--disable-background-networking", "--disable-component-update",
]
HOSTILE_MARKUP = '<img src=x onerror="window.__pwned = true">'
ARABIC = re.compile(r"[\u0600-\u06ff]")
# What a hostile host stylesheet does to everything it can reach.
AGGRESSIVE_CSS = "* { all: unset !important; } div { display: none !important; } button { display: none; } body { font-size: 40px; }"


def host_page(rasa_url: str, jurisdiction: str, language: str, extra_head: str = "") -> str:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Partner site</title>{extra_head}</head>"
        "<body><main><h1>Iglesia San Juan</h1><div><p>Weekly food pantry.</p></div></main>"
        f"<script src='{rasa_url}/widget.js' data-jurisdiction='{jurisdiction}' data-language='{language}' "
        f"data-exit-url='{EXIT_URL}' async></script></body></html>"
    )


def serve_pages(port: int, pages: Dict[str, str]) -> ThreadingHTTPServer:
    """A static site on loopback (another origin than the bot's)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            page = pages.get(self.path)
            self.send_response(200 if page else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((page or "not found").encode("utf-8"))

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="session")
def host_site(rasa_url: str) -> Iterator[Dict[str, str]]:
    """Another site (another origin, listed in KYR_WIDGET_ORIGINS) that embeds the widget."""
    pages = {
        "/es-miami.html": host_page(rasa_url, "miami_dade", "es"),
        "/aggressive.html": host_page(rasa_url, "chicago", "en", f"<style>{AGGRESSIVE_CSS}</style>"),
    }
    server = serve_pages(HOST_SITE_PORT, pages)
    yield {path: HOST_SITE + path for path in pages}
    server.shutdown()


@pytest.fixture(scope="session")
def unlisted_site(rasa_url: str) -> Iterator[str]:
    """A site that embeds the widget without being listed: the chat must refuse it."""
    port = processes.free_port()
    server = serve_pages(port, {"/partner.html": host_page(rasa_url, "orlando", "en")})
    yield f"http://127.0.0.1:{port}/partner.html"
    server.shutdown()


@pytest.fixture(scope="module")
def hostile_bot(rasa_url: str, model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The bot over a copy of the knowledge base whose Chicago fact and source title
    carry markup, with its own action server: the path a careless edit would take."""
    kb = tmp_path_factory.mktemp("hostile") / "kb"
    shutil.copytree(ROOT / "kb", kb)
    path = kb / "jurisdictions" / "chicago.yml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    fact = next(f for f in doc["facts"] if f["topic"] == "police_status_questions")
    fact["text"]["en"] = f"{HOSTILE_MARKUP} {fact['text']['en']}"
    fact["sources"][0]["title"] = f"<b>{fact['sources'][0]['title']}</b>"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    action_port, bot_port = processes.free_port(), processes.free_port()
    env = {
        "KYR_KB_DIR": str(kb),
        # Its own database, so the hostile copy is what gets seeded and published.
        "DATABASE_URL": f"sqlite:///{kb.parent / 'hostile.db'}",
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook",
    }
    with open(SERVER_LOG, "ab") as log:
        actions = processes.start_action_server(action_port, output=log, env=env)
        try:
            bot = processes.start_rasa_server(model, bot_port, output=log, env=env)
            try:
                yield f"http://127.0.0.1:{bot_port}"
            finally:
                processes.stop(bot)
        finally:
            processes.stop(actions)


@pytest.fixture(scope="module")
def browser():
    # Module scope: Playwright's sync API keeps an event loop running while it is open,
    # which later tests that start their own asyncio loop must not find.
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: `apt-get install chromium` (make test does this as root)")
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    # The quick-exit destination stands in for a neutral public site (no network here).
    ctx.route(EXIT_URL, lambda route: route.fulfill(status=200, content_type="text/html", body="<title>Weather</title>Sunny"))
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    return context.new_page()


def widget(page):
    """Locators inside the widget's shadow root (Playwright's CSS pierces open shadow roots)."""
    return page.locator("kyr-chat")


def open_widget(page) -> None:
    page.locator("kyr-chat .launcher").click()
    page.locator("kyr-chat .panel").wait_for(state="visible")


def ask(page, text: str) -> None:
    replies = page.locator("kyr-chat .msg.bot").count()
    page.locator("kyr-chat #kyr-input").fill(text)
    page.locator("kyr-chat .send").click()
    page.locator("kyr-chat .msg.bot").nth(replies).wait_for(timeout=60_000)


def last_reply(page) -> str:
    return page.locator("kyr-chat .msg.bot .text").last.inner_text()


def source_links(page) -> List[str]:
    return page.locator("kyr-chat .msg.bot").last.locator(".sources a").evaluate_all("links => links.map(a => a.href)")


def widget_dir(page) -> str:
    return page.locator("kyr-chat .kyr").get_attribute("dir")


def converse_on_demo_page(page, rasa_url: str, language: str, english: str, arabic: str) -> None:
    """Open the demo page's widget, pick Arabic from the menu if asked, and ask one question."""
    page.goto(f"{rasa_url}/")
    open_widget(page)
    if language == "ar":
        page.locator("kyr-chat #kyr-lang").select_option("ar")
        page.locator("kyr-chat .msg.bot").first.wait_for(timeout=60_000)
    ask(page, arabic if language == "ar" else english)


def serious_violations(page) -> List[Dict[str, str]]:
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        "async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']})).violations"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in results
        if v["impact"] in ("serious", "critical")
    ]


def test_english_question_on_the_demo_page_gets_a_local_answer_with_source_links(page, rasa_url: str) -> None:
    page.goto(f"{rasa_url}/")
    open_widget(page)
    ask(page, "can the police ask about my immigration status?")
    assert "Orlando" in last_reply(page)
    links = source_links(page)
    assert links and all(link.startswith("https://") for link in links)
    assert page.locator("kyr-chat .kyr").get_attribute("lang") == "en"


def test_spanish_on_a_partner_site_is_answered_for_its_city(page, host_site: Dict[str, str]) -> None:
    page.goto(host_site["/es-miami.html"])
    open_widget(page)
    assert page.locator("kyr-chat .send").inner_text() == "Enviar"
    ask(page, "la policia me puede preguntar si tengo papeles?")
    reply = last_reply(page)
    assert "Miami" in reply
    assert re.search(r"\b(la|el|de|su)\b", reply)
    assert source_links(page)


def test_arabic_from_the_language_menu_turns_the_widget_right_to_left(page, rasa_url: str) -> None:
    page.goto(f"{rasa_url}/")
    open_widget(page)
    assert widget_dir(page) == "ltr"
    page.locator("kyr-chat #kyr-lang").select_option("ar")
    page.locator("kyr-chat .msg.bot").first.wait_for(timeout=60_000)
    assert widget_dir(page) == "rtl"
    assert page.locator("kyr-chat .kyr").get_attribute("lang") == "ar"
    assert ARABIC.search(last_reply(page))
    assert page.locator("kyr-chat .quick button").count() >= 5
    page.locator("kyr-chat .quick button").first.click()
    page.locator("kyr-chat .msg.bot").nth(1).wait_for(timeout=60_000)
    assert ARABIC.search(last_reply(page))
    assert widget_dir(page) == "rtl"


def test_the_topic_an_unsure_reply_asks_about_is_the_first_button(browser, rasa_url: str) -> None:
    # axe is injected as an inline script, which the demo page's CSP would rightly block.
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = ctx.new_page()
    try:
        page.goto(f"{rasa_url}/")
        open_widget(page)
        ask(page, "daca or u visa which one")
        page.locator("kyr-chat .quick button").first.wait_for(timeout=60_000)
        first = page.locator("kyr-chat .quick button").first
        assert first.get_attribute("class") == "suggested"
        assert f"Did you mean: {first.inner_text()}?" in last_reply(page)
        assert page.locator("kyr-chat .quick button.suggested").count() == 1
        assert serious_violations(page) == []  # the filled button keeps its contrast
    finally:
        ctx.close()


def test_keyboard_only_conversation(page, rasa_url: str) -> None:
    page.goto(f"{rasa_url}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('kyr-chat').shadowRoot.activeElement.className") == "launcher"
    page.keyboard.press("Enter")
    assert page.evaluate("document.querySelector('kyr-chat').shadowRoot.activeElement.id") == "kyr-input"
    page.keyboard.type("hello")
    page.keyboard.press("Enter")
    page.locator("kyr-chat .quick button").first.wait_for(timeout=60_000)
    # From the input, Shift+Tab walks back through the log to the last quick reply.
    for _ in range(30):
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.querySelector('kyr-chat').shadowRoot.activeElement.closest('.quick') !== null"):
            break
    else:
        pytest.fail("no quick reply was reachable with the keyboard")
    replies = page.locator("kyr-chat .msg.bot").count()
    page.keyboard.press("Enter")
    page.locator("kyr-chat .msg.bot").nth(replies).wait_for(timeout=60_000)
    page.keyboard.press("Escape")
    assert page.locator("kyr-chat .panel").is_hidden()
    assert page.evaluate("document.querySelector('kyr-chat').shadowRoot.activeElement.className") == "launcher"
    outline = page.evaluate(
        "getComputedStyle(document.querySelector('kyr-chat').shadowRoot.activeElement).outlineStyle"
    )
    assert outline != "none", "the focused launcher shows no focus indicator"


def test_quick_exit_erases_the_conversation_and_leaves(page, host_site: Dict[str, str], tracker_db: Path) -> None:
    page.goto(host_site["/es-miami.html"])
    open_widget(page)
    ask(page, "que hago si ICE toca mi puerta")
    conversation = page.evaluate("JSON.parse(sessionStorage.getItem('kyr-chat')).id")
    with sqlite3.connect(tracker_db) as db:
        assert db.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (f"web-{conversation}",)).fetchone()[0] > 0
    page.locator("kyr-chat .exit").click()
    page.wait_for_url(EXIT_URL)
    with sqlite3.connect(tracker_db) as db:
        assert db.execute("SELECT COUNT(*) FROM events WHERE sender_id = ?", (f"web-{conversation}",)).fetchone()[0] == 0
    page.go_back()
    # The page the chat was on was replaced in the history, so Back does not return to it.
    assert page.url != host_site["/es-miami.html"]
    # Nor does the tab remember the conversation when the person comes back to the site.
    page.goto(host_site["/es-miami.html"])
    assert page.evaluate("sessionStorage.getItem('kyr-chat')") is None


def test_nothing_is_left_in_local_storage_or_cookies(page, context, rasa_url: str, host_site: Dict[str, str]) -> None:
    for url in (f"{rasa_url}/", host_site["/es-miami.html"]):
        page.goto(url)
        open_widget(page)
        ask(page, "hello, what about DACA?")
        assert page.evaluate("localStorage.length") == 0
        assert page.evaluate("document.cookie") == ""
    assert context.cookies() == []


def test_markup_typed_by_the_person_is_shown_as_text(page, rasa_url: str) -> None:
    page.goto(f"{rasa_url}/")
    open_widget(page)
    page.evaluate("window.__pwned = false")
    ask(page, "<img src=x onerror=\"window.__pwned = true\"> hello")
    assert page.locator("kyr-chat .msg.user .text").last.inner_text().startswith("<img src=x")
    assert page.locator("kyr-chat .log img").count() == 0
    assert page.evaluate("window.__pwned") is False


def test_a_knowledge_base_fact_with_markup_is_shown_as_text(page, hostile_bot: str) -> None:
    page.goto(f"{hostile_bot}/")
    open_widget(page)
    page.evaluate("window.__pwned = false")
    ask(page, "can the police ask about my immigration status in Chicago?")
    reply = last_reply(page)
    assert HOSTILE_MARKUP in reply
    last = page.locator("kyr-chat .msg.bot").last
    assert last.locator("img, b").count() == 0
    assert "<b>" in last.locator(".sources").text_content()
    assert page.evaluate("window.__pwned") is False


def test_links_other_than_https_tel_sms_mailto_are_not_links(page, rasa_url: str) -> None:
    # The knowledge base's schema already refuses such URLs, so the reply is forged in
    # the browser to see what the widget itself does with them.
    page.goto(f"{rasa_url}/")
    open_widget(page)
    page.evaluate("window.__pwned = false")
    forged = (
        '{"messages": [{"text": "Fact", "language": "en", "sources": ['
        '{"title": "Evil", "url": "javascript:window.__pwned=true"}, {"title": "Data", "url": "data:text/html,hi"},'
        ' {"title": "Plain", "url": "http://example.org/"}, {"title": "Call us", "url": "tel:+15555550100"},'
        ' {"title": "Web", "url": "https://example.org/"}]}], "erased": false}'
    )
    page.route(
        "**/webhooks/widget/webhook",
        lambda route: route.fulfill(status=200, content_type="application/json", body=forged, headers={"Access-Control-Allow-Origin": rasa_url}),
    )
    ask(page, "anything")
    assert source_links(page) == ["tel:+15555550100", "https://example.org/"]
    assert "javascript:window.__pwned=true" in page.locator("kyr-chat .msg.bot").last.locator(".sources").text_content()
    assert page.evaluate("window.__pwned") is False


def test_hostile_host_page_css_does_not_break_the_widget(page, host_site: Dict[str, str]) -> None:
    page.goto(host_site["/aggressive.html"])
    launcher = page.locator("kyr-chat .launcher")
    launcher.wait_for(state="visible")
    box = launcher.bounding_box()
    assert box and box["width"] > 60 and box["height"] >= 40
    open_widget(page)
    panel = page.locator("kyr-chat .panel").bounding_box()
    assert panel and panel["width"] >= 300 and panel["height"] >= 300
    font_size = page.evaluate("getComputedStyle(document.querySelector('kyr-chat').shadowRoot.querySelector('.msg, .intro')).fontSize")
    assert font_size == "14px"
    ask(page, "what if ICE comes to my door?")
    assert "Chicago" in last_reply(page)


def test_a_site_that_is_not_listed_cannot_use_the_chat(page, unlisted_site: str) -> None:
    page.goto(unlisted_site)
    open_widget(page)
    ask(page, "hello")
    assert page.locator("kyr-chat .msg.bot.problem").count() == 1


@pytest.mark.parametrize("language", ["en", "ar"])
def test_no_serious_accessibility_violations_in_the_open_widget(browser, rasa_url: str, language: str) -> None:
    # axe is injected as an inline script, which the demo page's CSP would rightly block.
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = ctx.new_page()
    try:
        converse_on_demo_page(page, rasa_url, language, "police status questions in Orlando", "هل يمكن للشرطة أن تسألني عن وضعي في أورلاندو؟")
        assert widget_dir(page) == ("rtl" if language == "ar" else "ltr")
        assert serious_violations(page) == []
    finally:
        ctx.close()


@pytest.mark.parametrize(
    "name, viewport, scale",
    [("desktop", {"width": 1280, "height": 800}, 1), ("phone-360", {"width": 360, "height": 740}, 2), ("zoom-200", {"width": 640, "height": 400}, 2)],
)
@pytest.mark.parametrize("language", ["en", "ar"])
def test_fits_phone_screens_and_200_percent_zoom_and_saves_screenshots(browser, rasa_url: str, name: str, viewport, scale: int, language: str) -> None:
    # 640x400 CSS pixels at scale 2 is what a 1280x800 screen shows at 200% zoom.
    ctx = browser.new_context(viewport=viewport, device_scale_factor=scale)
    page = ctx.new_page()
    try:
        converse_on_demo_page(page, rasa_url, language, "can I report a crime in Orlando?", "هل يمكنني الإبلاغ عن جريمة في أورلاندو؟")
        for part in (".panel", ".header", "#kyr-input", ".send", ".exit", ".close"):
            box = page.locator(f"kyr-chat {part}").bounding_box()
            assert box, part
            assert box["x"] >= 0 and box["y"] >= 0, part
            assert box["x"] + box["width"] <= viewport["width"] + 0.5, part
            assert box["y"] + box["height"] <= viewport["height"] + 0.5, part
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"widget-{name}-{language}.png"))
    finally:
        ctx.close()
