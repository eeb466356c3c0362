"""The organizer app's knowledge-base, spreadsheet and usage pages over a test client:
every page renders, an edit goes draft -> review -> published, a spreadsheet upload shows
its diff before anything is applied, and usage pages show scrubbed, grouped data."""

import asyncio
import io
import re
from pathlib import Path
from typing import Any, Awaitable, Callable

import openpyxl
import pyotp
import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import Engine

from bot.kb.loader import DEFAULT_ROOT
from organizer import kb_pages, spreadsheet_pages, usage_pages
from organizer.app import build_app
from organizer.auth import accounts
from storage import analytics, organizer_db, unanswered
from storage.kb_versions import KnowledgeBaseStore
from tests.test_organizer_auth import PASSWORD, csrf_of, enter_code, sign_in

NEW_TEXT = "Texto revisado por una voluntaria para la prueba."


@pytest.fixture(autouse=True)
def insecure_cookies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KYR_ORGANIZER_INSECURE_COOKIES", "1")


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    database = organizer_db.engine(f"sqlite:///{tmp_path}/o.db")
    KnowledgeBaseStore(database).seed(DEFAULT_ROOT)
    return database


def run(engine: Engine, scenario: Callable[[TestClient], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        app = build_app(engine, extra_routes=[kb_pages.add_routes, spreadsheet_pages.add_routes, usage_pages.add_routes])
        async with TestClient(TestServer(app)) as client:
            return await scenario(client)

    return asyncio.run(main())


def add(engine: Engine, username: str, role: str, places: list) -> str:
    _, secret = accounts.create_account(
        engine, username, username.title(), role, PASSWORD, places, "attorney" if role == "reviewer" else "", "test"
    )
    return secret or ""


async def signed_in(client: TestClient, username: str, secret: str = "") -> None:
    await sign_in(client, username)
    if secret:
        await enter_code(client, pyotp.TOTP(secret).now())


async def post(client: TestClient, path: str, data: Any, token_from: str) -> Any:
    token = await csrf_of(client, token_from)
    if isinstance(data, FormData):
        data.add_field("csrf_token", token)
    else:
        data = {**data, "csrf_token": token}
    return await client.post(path, data=data, allow_redirects=False)


def test_every_page_renders_for_a_reviewer(engine: Engine) -> None:
    secret = add(engine, "rita", "reviewer", [])
    unanswered.record(engine, "twilio", "es", "orlando", "me llamo Maria Lopez y mi numero es 407-555-0134, que hago", None, 0.3)
    analytics.count_turn(engine, "twilio", "es", "police_status_questions", "orlando", False)

    async def scenario(client: TestClient) -> dict:
        await signed_in(client, "rita", secret)
        pages = {}
        for path in (
            "/organizer/", "/organizer/kb", "/organizer/kb/orlando", "/organizer/kb/orlando/facts/orlando-01?lang=ar",
            "/organizer/kb/new", "/organizer/drafts", "/organizer/versions", "/organizer/audit",
            "/organizer/unanswered", "/organizer/analytics", "/organizer/kb/orlando/import", "/organizer/training",
        ):
            response = await client.get(path)
            pages[path] = (response.status, await response.text())
        return pages

    pages = run(engine, scenario)
    assert {path: status for path, (status, _) in pages.items() if status != 200} == {}
    fact_page = pages["/organizer/kb/orlando/facts/orlando-01?lang=ar"][1]
    assert 'dir="rtl"' in fact_page and "segment(s)" in fact_page
    unanswered_page = pages["/organizer/unanswered"][1]
    assert "[phone]" in unanswered_page and "407-555-0134" not in unanswered_page and "Maria" not in unanswered_page
    assert "<svg" in pages["/organizer/analytics"][1]


def test_an_edit_is_a_draft_until_a_reviewer_publishes_it(engine: Engine) -> None:
    add(engine, "eddie", "editor", ["orlando"])
    secret = add(engine, "rita", "reviewer", [])
    store = KnowledgeBaseStore(engine)

    async def editor(client: TestClient) -> str:
        await signed_in(client, "eddie")
        form = "/organizer/kb/orlando/facts/orlando-01?lang=es"
        page = await (await client.get(form)).text()
        sources = re.search(r'<textarea name="sources"[^>]*>([^<]*)</textarea>', page).group(1)
        response = await post(
            client, "/organizer/kb/orlando/facts/orlando-01",
            {"language": "es", "text": NEW_TEXT, "sources": sources.replace("&#39;", "'").replace("&amp;", "&"),
             "as_of": "2018-07-23", "last_verified": "2026-11-22", "review_by": "2027-02-22", "status": "may_have_changed"},
            form,
        )
        assert response.status == 303
        draft = response.headers["Location"]
        refused = await post(client, f"{draft}/publish", {}, draft)
        assert refused.status == 403
        return draft

    draft = run(engine, editor)
    assert store.latest_id() == 1

    async def reviewer(client: TestClient) -> int:
        await signed_in(client, "rita", secret)
        page = await (await client.get(draft)).text()
        assert NEW_TEXT in page and "Approve and publish" in page
        response = await post(client, f"{draft}/publish", {}, draft)
        assert response.status == 303
        return store.latest_id()

    assert run(engine, reviewer) == 2
    fact = next(f for f in store.documents()[1]["jurisdictions/orlando.yml"]["facts"] if f["id"] == "orlando-01")
    assert fact["translations"]["es"] == {**fact["translations"]["es"], "text": NEW_TEXT, "review": "reviewed"}
    assert store.info(2).reviewer_credential == "attorney"


def test_a_spreadsheet_upload_shows_its_diff_and_applies_nothing_until_published(engine: Engine) -> None:
    add(engine, "eddie", "editor", ["orlando"])
    store = KnowledgeBaseStore(engine)

    async def scenario(client: TestClient) -> str:
        await signed_in(client, "eddie")
        exported = await client.get("/organizer/kb/orlando/export.xlsx")
        assert exported.status == 200
        book = openpyxl.load_workbook(io.BytesIO(await exported.read()))
        sheet = book.active
        header = [c.value for c in sheet[1]]
        row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "fact:orlando-01")
        row[header.index("es")].value = NEW_TEXT
        upload = io.BytesIO()
        book.save(upload)
        form = FormData()
        form.add_field("file", upload.getvalue(), filename="orlando.xlsx")
        response = await post(client, "/organizer/kb/orlando/import", form, "/organizer/kb/orlando/import")
        page = await response.text()
        assert response.status == 200 and "1 change(s)" in page and NEW_TEXT in page
        other = await client.get("/organizer/kb/miami_dade/import")
        assert other.status == 403
        return page

    run(engine, scenario)
    assert store.latest_id() == 1  # nothing applied: a draft waits to be submitted and reviewed


def test_cookies_are_secure_except_over_plain_http_on_this_machine(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KYR_ORGANIZER_INSECURE_COOKIES")

    async def scenario(client: TestClient) -> list:
        out = []
        for headers in ({}, {"Host": "kyr.example.org"}, {"X-Forwarded-Proto": "https"}):
            client.session.cookie_jar.clear()  # a first visit, so the CSRF cookie is set
            response = await client.get("/organizer/login", headers=headers)
            assert response.status == 200
            out.append("Secure" in response.headers["Set-Cookie"])
        return out

    assert run(engine, scenario) == [False, True, True]


def test_an_unanswered_question_becomes_a_training_example_but_only_reviewers_retrain(engine: Engine) -> None:
    add(engine, "eddie", "editor", ["orlando"])
    unanswered.record(engine, "rest", "es", "orlando", "mi patron dice que va a llamar a la migra que hago", None, 0.2)

    async def scenario(client: TestClient) -> tuple:
        await signed_in(client, "eddie")
        page = await (await client.get("/organizer/unanswered")).text()
        assert "Add as a training example" in page
        added = await post(
            client, "/organizer/training/examples",
            {"text": "mi patron dice que va a llamar a la migra que hago", "intent": "legal_help", "language": "es"},
            "/organizer/unanswered",
        )
        refused = await post(client, "/organizer/training/examples", {"text": "llama al [phone]", "intent": "legal_help", "language": "es"}, "/organizer/unanswered")
        retrain = await post(client, "/organizer/training/retrain", {}, "/organizer/training")
        listing = await (await client.get("/organizer/training")).text()
        return added.status, refused.status, retrain.status, listing

    added, refused, retrain, listing = run(engine, scenario)
    assert (added, refused, retrain) == (303, 400, 403)
    assert "mi patron dice que va a llamar a la migra que hago" in listing and "Retrain now" not in listing
