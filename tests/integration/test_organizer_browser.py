"""The organizer app in a real headless Chromium against the running bot: an editor's
change, approved by a reviewer, reaches the bot's answers within 10 seconds without
retraining or restarting; an earlier version comes back in one step; a new city is
recognised at once; forms without a CSRF token and editors out of their lane are refused."""

import os
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Dict, Iterator

import pyotp
import pytest

from bot import processes
from organizer.auth.accounts import create_account
from storage.organizer_db import engine
from tests.integration.conftest import SERVER_LOG
# The widget tests' Chromium (a module-scoped fixture: each module gets its own browser).
from tests.integration.test_widget_browser import browser, serious_violations  # noqa: F401

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"
LIVE_WITHIN = 10.0
SCREENSHOTS = Path(__file__).resolve().parents[2] / "results" / "screenshots"
QUESTION_ES = "la policia de orlando me puede preguntar mi estatus migratorio?"
NEW_SPANISH = "TEXTO REVISADO: la resolución de Orlando de 2018 pide a la policía no preguntar el estatus migratorio."


@pytest.fixture(scope="module")
def organizer_url(rasa_url: str) -> Iterator[str]:
    """The organizer app on the same database as the running bot (DATABASE_URL)."""
    port = processes.free_port()
    with open(SERVER_LOG, "ab") as log:
        app = processes.start_organizer(port, output=log)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            processes.stop(app)


@pytest.fixture(scope="module")
def secrets(organizer_url: str) -> Dict[str, str]:
    """An admin, a reviewer (an attorney) and an editor of Orlando; TOTP secrets by name."""
    database = engine(os.environ["DATABASE_URL"])
    out: Dict[str, str] = {}
    for username, role, credential, places in (
        ("ada", "admin", "", []),
        ("rita", "reviewer", "attorney", []),
        ("eddie", "editor", "", ["orlando"]),
    ):
        _, secret = create_account(database, username, username.title(), role, PASSWORD, places, credential, "test")
        out[username] = secret or ""
    return out


@pytest.fixture(scope="module")
def sign_in(browser: Any, organizer_url: str, secrets: Dict[str, str]) -> Iterator[Callable[[str], Any]]:
    """A signed-in page per organizer (TOTP included for reviewers and admins)."""
    contexts = []
    used: Dict[str, str] = {}

    def _sign_in(username: str, bypass_csp: bool = False) -> Any:
        # bypass_csp only to inject axe-core, which the app's CSP would rightly block.
        context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=bypass_csp)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{organizer_url}/organizer/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        if secrets[username]:
            page.wait_for_url("**/organizer/login/totp")
            totp = pyotp.TOTP(secrets[username])
            while totp.now() == used.get(username):
                time.sleep(1)  # a code works once: a second sign-in waits for the next one
            used[username] = totp.now()
            page.fill("input[name=code]", used[username])
            page.click("button[type=submit]")
        page.wait_for_url("**/organizer/")
        return page

    yield _sign_in
    for context in contexts:
        context.close()


def wait_for_reply(send: Callable[..., Dict[str, Any]], message: str, ok: Callable[[Dict[str, Any]], bool]) -> float:
    """Ask the bot (a new conversation each time) until a reply passes `ok`; the seconds it took."""
    start = time.monotonic()
    while True:
        reply = send(f"org-{uuid.uuid4().hex[:8]}", message)
        if ok(reply):
            return time.monotonic() - start
        if time.monotonic() - start > LIVE_WITHIN:
            pytest.fail(f"not live within {LIVE_WITHIN} s; last reply: {reply}")
        time.sleep(0.5)


def csrf(page: Any) -> str:
    return page.locator("input[name=csrf_token]").first.get_attribute("value")


def test_edit_review_publish_reaches_the_bot_and_restore_brings_the_old_text_back(sign_in, organizer_url: str, send) -> None:
    before = send("org-before", QUESTION_ES)
    assert "orlando-01" in before["custom"]["fact_ids"] and before["custom"]["language"] == "es"
    assert NEW_SPANISH not in before["text"]

    editor = sign_in("eddie")
    editor.goto(f"{organizer_url}/organizer/kb/orlando/facts/orlando-01?lang=es")
    editor.fill("textarea[name=text]", NEW_SPANISH)
    editor.fill("input[name=summary]", "clearer Spanish")
    editor.click("text=Submit for review")
    editor.wait_for_url("**/organizer/drafts/*")
    assert "in review" in editor.inner_text("main")
    assert editor.locator("text=Approve and publish").count() == 0  # editors do not publish
    draft_url = editor.url
    assert NEW_SPANISH in editor.inner_text("main")  # the preview shows the reply as it will be sent

    reviewer = sign_in("rita")
    reviewer.goto(draft_url)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    reviewer.screenshot(path=str(SCREENSHOTS / "organizer-review.png"), full_page=True)
    reviewer.click("text=Approve and publish")
    reviewer.wait_for_url("**/organizer/versions*")
    published = time.monotonic()
    live_row = reviewer.locator("tr", has_text="(live)")
    assert "Rita (attorney)" in live_row.inner_text()
    version = int(live_row.locator("th").inner_text().split()[0])

    waited = wait_for_reply(
        send, QUESTION_ES, lambda r: NEW_SPANISH in r["text"] and r["custom"].get("kb_version") == version
    )
    assert time.monotonic() - published <= LIVE_WITHIN, f"live after {waited:.1f} s"

    reviewer.click(f"text=Restore version {version - 1}")
    reviewer.wait_for_url("**/organizer/versions*")
    wait_for_reply(
        send, QUESTION_ES, lambda r: NEW_SPANISH not in r["text"] and r["custom"].get("kb_version") == version + 1
    )
    reviewer.goto(f"{organizer_url}/organizer/audit")
    audit = reviewer.inner_text("main")
    assert "restore" in audit and "publish" in audit and "eddie" in audit


def test_a_new_city_is_recognised_at_once_without_retraining(sign_in, organizer_url: str, send) -> None:
    question = "can police in tampa ask about my immigration status"
    assert send("org-tampa-before", question)["custom"].get("jurisdiction") != "tampa"
    admin = sign_in("ada")
    admin.goto(f"{organizer_url}/organizer/kb/new")
    admin.fill("input[name=id]", "tampa")
    admin.select_option("select[name=kind]", "city")
    admin.select_option("select[name=state]", "florida")
    admin.fill("input[name=names_en]", "Tampa, City of Tampa")
    admin.fill("input[name=names_es]", "Tampa")
    admin.fill("textarea[name=aliases]", "tampa fl, tampa bay, tampa police")
    admin.click("text=Submit for review")
    admin.wait_for_url("**/organizer/drafts/*")
    admin.click("text=Approve and publish")
    admin.wait_for_url("**/organizer/versions*")
    wait_for_reply(send, question, lambda r: r["custom"].get("jurisdiction") == "tampa")
    # No local facts yet: the answer is Florida's law and national guidance, labelled as such.
    reply = send("org-tampa-after", question)
    assert reply["custom"]["fact_ids"] and all(not f.startswith("orlando") for f in reply["custom"]["fact_ids"])


def test_a_post_without_its_csrf_token_is_refused(sign_in, organizer_url: str) -> None:
    editor = sign_in("eddie")
    editor.goto(f"{organizer_url}/organizer/kb/orlando/facts/orlando-01?lang=fr")
    response = editor.context.request.post(
        f"{organizer_url}/organizer/kb/orlando/facts/orlando-01", form={"language": "fr", "text": "Texte forgé."}
    )
    assert response.status == 403
    forged = editor.context.request.post(
        f"{organizer_url}/organizer/kb/orlando/facts/orlando-01",
        form={"language": "fr", "text": "Texte forgé.", "csrf_token": "not-the-token"},
    )
    assert forged.status == 403


def test_an_editor_cannot_publish_or_change_another_jurisdiction(sign_in, organizer_url: str) -> None:
    editor = sign_in("eddie")
    editor.goto(f"{organizer_url}/organizer/kb/miami_dade/facts/miami_dade-01?lang=es")
    assert editor.locator("textarea[name=text]").count() == 0
    token = csrf(editor)
    elsewhere = editor.context.request.post(
        f"{organizer_url}/organizer/kb/miami_dade/facts/miami_dade-01",
        form={"language": "es", "text": "Cambio no autorizado.", "csrf_token": token, "sources": "x | https://example.org",
              "as_of": "2020", "last_verified": "2026-01-01", "review_by": "2027-01-01"},
    )
    assert elsewhere.status == 403
    editor.goto(f"{organizer_url}/organizer/kb/orlando/facts/orlando-02?lang=fr")
    editor.fill("textarea[name=text]", "Une traduction revue par une bénévole.")
    editor.click("text=Submit for review")
    editor.wait_for_url("**/organizer/drafts/*")
    publish = editor.context.request.post(f"{editor.url}/publish", form={"csrf_token": csrf(editor)})
    assert publish.status == 403
    restore = editor.context.request.post(f"{organizer_url}/organizer/versions/1/restore", form={"csrf_token": csrf(editor)})
    assert restore.status == 403


def test_no_serious_accessibility_violations_on_the_organizer_pages(sign_in, organizer_url: str) -> None:
    reviewer = sign_in("rita", bypass_csp=True)
    found = {}
    for path in (
        "/organizer/", "/organizer/kb", "/organizer/kb/orlando", "/organizer/kb/orlando/facts/orlando-01?lang=ar",
        "/organizer/kb/new", "/organizer/drafts", "/organizer/versions", "/organizer/unanswered", "/organizer/analytics",
    ):
        reviewer.goto(f"{organizer_url}{path}")
        found[path] = serious_violations(reviewer)
    assert {path: v for path, v in found.items() if v} == {}
