"""The organizer app's security: passwords, TOTP, sign-in, sessions, CSRF, roles, rate limits."""

import asyncio
import hashlib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable, Optional

import pyotp
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from sqlalchemy.engine import Engine

from organizer.admin_cli import create_admin
from organizer.app import build_app
from organizer.auth import accounts, passwords
from organizer.auth.passwords import PasswordTooShort
from organizer.auth.totp import TotpVerifier, provisioning_uri
from storage import organizer_db
from storage.organizer_db import audit_log, now, organizer_sessions, organizer_users

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def insecure_cookies(monkeypatch: pytest.MonkeyPatch) -> None:
    # The test server is plain http, where browsers (and aiohttp's client) drop Secure cookies.
    monkeypatch.setenv("KYR_ORGANIZER_INSECURE_COOKIES", "1")
    monkeypatch.delenv("KYR_ORGANIZER_IDLE_MINUTES", raising=False)
    monkeypatch.delenv("KYR_ORGANIZER_MAX_HOURS", raising=False)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return organizer_db.engine(f"sqlite:///{tmp_path}/o.db")


def run(engine: Engine, scenario: Callable[[TestClient], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with TestClient(TestServer(build_app(engine))) as client:
            return await scenario(client)

    return asyncio.run(main())


def add(engine: Engine, username: str, role: str) -> Optional[str]:
    _, secret = accounts.create_account(
        engine, username, username.title(), role, PASSWORD, ["orlando"], "attorney" if role == "reviewer" else "", "test"
    )
    return secret


async def csrf_of(client: TestClient, path: str) -> str:
    response = await client.get(path)
    match = CSRF.search(await response.text())
    assert match, f"no CSRF token on {path}"
    return match.group(1)


async def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    token = await csrf_of(client, "/organizer/login")
    return await client.post(
        "/organizer/login",
        data={"username": username, "password": password, "csrf_token": token},
        allow_redirects=False,
    )


async def enter_code(client: TestClient, code: str) -> Any:
    token = await csrf_of(client, "/organizer/login/totp")
    return await client.post("/organizer/login/totp", data={"code": code, "csrf_token": token}, allow_redirects=False)


def session_rows(engine: Engine) -> list:
    with engine.connect() as connection:
        return connection.execute(sa.select(organizer_sessions)).all()


def test_passwords_are_argon2id_hashes() -> None:
    stored = passwords.hash_password(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password(stored, PASSWORD)
    assert not passwords.verify_password(stored, PASSWORD + "!")
    assert not passwords.verify_password("not a hash", PASSWORD)
    assert not passwords.needs_rehash(stored)
    assert passwords.needs_rehash(PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD))


def test_short_passwords_are_refused_with_a_clear_message(engine: Engine) -> None:
    with pytest.raises(PasswordTooShort, match="at least 12 characters"):
        passwords.hash_password("elevenchars")
    with pytest.raises(PasswordTooShort):
        accounts.create_account(engine, "ana", "Ana", "editor", "short", [], "", "test")
    assert accounts.list_accounts(engine) == []


def test_totp_codes_verify_once_within_their_window() -> None:
    secret = pyotp.random_base32()
    code_at = pyotp.TOTP(secret).at
    verifier = TotpVerifier()
    moment = 1_700_000_000.0
    valid = {code_at(moment + offset) for offset in (-30, 0, 30)}
    wrong = next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)
    assert not verifier.verify(1, secret, wrong, at=moment)
    assert verifier.verify(1, secret, code_at(moment), at=moment)
    assert not verifier.verify(1, secret, code_at(moment), at=moment), "the same code twice"
    assert not verifier.verify(1, secret, code_at(moment - 30), at=moment), "an older code after a newer one"
    assert verifier.verify(2, secret, code_at(moment), at=moment), "another user's memory is separate"
    assert verifier.verify(1, secret, code_at(moment + 30), at=moment), "one step of clock drift is fine"
    assert not verifier.verify(3, secret, code_at(moment + 90), at=moment), "three steps is not"
    assert "issuer=kyr-bot" in provisioning_uri(secret, "ana")


def test_an_editor_signs_in_with_a_password_only(engine: Engine) -> None:
    assert add(engine, "ed", "editor") is None

    async def scenario(client: TestClient) -> None:
        response = await sign_in(client, "ed")
        assert response.status == 303
        assert response.headers["Location"] == "/organizer/"
        cookie = next(c for c in response.headers.getall("Set-Cookie") if c.startswith("kyr_org="))
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/organizer" in cookie
        token = response.cookies["kyr_org"].value
        assert [row.token_hash for row in session_rows(engine)] == [hashlib.sha256(token.encode()).hexdigest()]

        home = await client.get("/organizer/", allow_redirects=False)
        assert home.status == 200
        assert "Welcome, Ed" in await home.text()
        assert "frame-ancestors 'none'" in home.headers["Content-Security-Policy"]
        assert home.headers["X-Content-Type-Options"] == "nosniff"
        assert home.headers["Referrer-Policy"] == "no-referrer"
        assert home.headers["Cache-Control"] == "no-store"

        css = await client.get("/organizer/static/organizer.css")
        assert css.status == 200 and "Cache-Control" not in css.headers

    run(engine, scenario)


def test_a_reviewer_needs_the_totp_code_before_any_page(engine: Engine) -> None:
    secret = add(engine, "rita", "reviewer")
    assert secret

    async def scenario(client: TestClient) -> None:
        response = await sign_in(client, "rita")
        assert response.headers["Location"] == "/organizer/login/totp"
        first_token = response.cookies["kyr_org"].value
        home = await client.get("/organizer/", allow_redirects=False)
        assert home.status == 303 and home.headers["Location"] == "/organizer/login/totp"
        assert not session_rows(engine)[0].second_factor_done

        assert (await enter_code(client, "12345x")).status == 401
        done = await enter_code(client, pyotp.TOTP(secret).now())
        assert done.status == 303 and done.headers["Location"] == "/organizer/"
        assert done.cookies["kyr_org"].value != first_token, "the session id changes after the second factor"
        rows = session_rows(engine)
        assert len(rows) == 1 and rows[0].second_factor_done
        assert rows[0].token_hash != hashlib.sha256(first_token.encode()).hexdigest()
        assert (await client.get("/organizer/", allow_redirects=False)).status == 200

    run(engine, scenario)


def test_five_wrong_passwords_block_the_username(engine: Engine) -> None:
    add(engine, "ed", "editor")

    async def scenario(client: TestClient) -> None:
        for _ in range(5):
            assert (await sign_in(client, "ed", "wrong password!")).status == 401
        blocked = await sign_in(client, "ed")
        assert blocked.status == 429
        assert "wait 15 minutes" in await blocked.text()
        assert not session_rows(engine)

    run(engine, scenario)


def test_parallel_guesses_cannot_slip_under_the_limit(engine: Engine) -> None:
    add(engine, "ed", "editor")

    async def scenario(client: TestClient) -> None:
        token = await csrf_of(client, "/organizer/login")
        form = {"username": "ed", "password": "wrong password!", "csrf_token": token}
        responses = await asyncio.gather(*(client.post("/organizer/login", data=form) for _ in range(8)))
        assert sorted(r.status for r in responses) == [401] * 5 + [429] * 3

    run(engine, scenario)


def test_posts_without_the_csrf_token_are_refused(engine: Engine) -> None:
    add(engine, "ed", "editor")

    async def scenario(client: TestClient) -> None:
        anonymous = await client.post("/organizer/login", data={"username": "ed", "password": PASSWORD})
        assert anonymous.status == 403
        assert not session_rows(engine)

        assert (await sign_in(client, "ed")).status == 303
        assert (await client.post("/organizer/logout", allow_redirects=False)).status == 403
        wrong = await client.post("/organizer/logout", data={"csrf_token": "guess"}, allow_redirects=False)
        assert wrong.status == 403
        assert len(session_rows(engine)) == 1
        token = await csrf_of(client, "/organizer/")
        by_header = await client.post("/organizer/logout", headers={"X-CSRF-Token": token}, allow_redirects=False)
        assert by_header.status == 303

    run(engine, scenario)


def _age_session(engine: Engine, **values: Any) -> None:
    with engine.begin() as connection:
        connection.execute(organizer_sessions.update().values(**values))


def test_an_idle_session_ends(engine: Engine) -> None:
    add(engine, "ed", "editor")

    async def scenario(client: TestClient) -> None:
        await sign_in(client, "ed")
        _age_session(engine, last_seen=now() - timedelta(minutes=29))
        assert (await client.get("/organizer/", allow_redirects=False)).status == 200
        _age_session(engine, last_seen=now() - timedelta(minutes=31))
        response = await client.get("/organizer/", allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/organizer/login"
        assert not session_rows(engine)

    run(engine, scenario)


def test_a_session_ends_after_its_maximum_age_even_when_busy(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    add(engine, "ed", "editor")
    monkeypatch.setenv("KYR_ORGANIZER_MAX_HOURS", "2")

    async def scenario(client: TestClient) -> None:
        await sign_in(client, "ed")
        _age_session(engine, created_at=now() - timedelta(hours=1, minutes=50))
        assert (await client.get("/organizer/", allow_redirects=False)).status == 200
        _age_session(engine, created_at=now() - timedelta(hours=2, minutes=1))
        response = await client.get("/organizer/", allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/organizer/login"

    run(engine, scenario)


def test_an_editor_cannot_open_the_accounts_page(engine: Engine) -> None:
    add(engine, "ed", "editor")

    async def scenario(client: TestClient) -> None:
        assert (await client.get("/organizer/accounts", allow_redirects=False)).status == 303
        await sign_in(client, "ed")
        response = await client.get("/organizer/accounts")
        assert response.status == 403
        assert "Not available to your account" in await response.text()

    run(engine, scenario)


def test_an_admin_creates_a_reviewer_and_sees_the_secret_once(engine: Engine) -> None:
    admin_secret = create_admin(engine, "admin", "Ada Admin", PASSWORD)

    async def scenario(client: TestClient) -> None:
        await sign_in(client, "admin")
        assert (await enter_code(client, pyotp.TOTP(admin_secret).now())).status == 303
        token = await csrf_of(client, "/organizer/accounts")
        form = {
            "csrf_token": token,
            "username": "rita",
            "display_name": "Rita Reviewer",
            "role": "reviewer",
            "credential": "attorney",
            "jurisdictions": "orlando, orange_county_fl",
            "password": PASSWORD,
        }
        created = await client.post("/organizer/accounts", data=form)
        assert created.status == 200
        page = await created.text()
        with engine.connect() as connection:
            row = connection.execute(sa.select(organizer_users).where(organizer_users.c.username == "rita")).one()
            actors = connection.execute(sa.select(audit_log.c.actor).where(audit_log.c.target == "rita")).scalars().all()
        assert row.totp_secret and row.totp_secret[:4] in page
        assert "otpauth://totp/kyr-bot:rita?secret=" + row.totp_secret in page
        assert row.jurisdictions == '["orlando", "orange_county_fl"]'
        assert actors == ["admin"]
        assert row.totp_secret[:4] not in await (await client.get("/organizer/accounts")).text()

        refused = await client.post("/organizer/accounts", data={**form, "password": "short"})
        assert refused.status == 400 and "at least 12 characters" in await refused.text()

    run(engine, scenario)


def test_disabling_an_account_ends_its_sessions(engine: Engine) -> None:
    admin_secret = create_admin(engine, "admin", "Ada Admin", PASSWORD)
    add(engine, "ed", "editor")
    editor_id = next(a.id for a in accounts.list_accounts(engine) if a.username == "ed")

    async def editor(client: TestClient) -> None:
        await sign_in(client, "ed")

    async def admin(client: TestClient) -> None:
        await sign_in(client, "admin")
        await enter_code(client, pyotp.TOTP(admin_secret).now())
        token = await csrf_of(client, "/organizer/accounts")
        response = await client.post(f"/organizer/accounts/{editor_id}/disable", data={"csrf_token": token})
        assert response.status == 200 and "Disabled" in await response.text()

    run(engine, editor)
    assert editor_id in [row.user_id for row in session_rows(engine)]
    run(engine, admin)
    assert editor_id not in [row.user_id for row in session_rows(engine)]
    assert accounts.authenticate(engine, "ed", PASSWORD) is None


def test_signing_out_ends_the_session(engine: Engine) -> None:
    add(engine, "ed", "editor")

    async def scenario(client: TestClient) -> None:
        token = (await sign_in(client, "ed")).cookies["kyr_org"].value
        csrf = await csrf_of(client, "/organizer/")
        response = await client.post("/organizer/logout", data={"csrf_token": csrf}, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"] == "/organizer/login"
        assert not session_rows(engine)
        client.session.cookie_jar.clear()
        replayed = await client.get("/organizer/", headers={"Cookie": f"kyr_org={token}"}, allow_redirects=False)
        assert replayed.status == 303 and replayed.headers["Location"] == "/organizer/login"

    run(engine, scenario)


def test_a_password_change_needs_the_current_one_and_signs_out_other_sessions(engine: Engine) -> None:
    add(engine, "eddie", "editor")

    async def elsewhere(client: TestClient) -> None:
        await sign_in(client, "eddie")

    run(engine, elsewhere)
    sessions_before = len(session_rows(engine))

    async def scenario(client: TestClient) -> tuple:
        await sign_in(client, "eddie")
        token = await csrf_of(client, "/organizer/account/password")
        wrong = await client.post("/organizer/account/password", data={"current": "nope", "new": "a new long passphrase", "again": "a new long passphrase", "csrf_token": token})
        short = await client.post("/organizer/account/password", data={"current": PASSWORD, "new": "short", "again": "short", "csrf_token": token})
        done = await client.post("/organizer/account/password", data={"current": PASSWORD, "new": "a new long passphrase", "again": "a new long passphrase", "csrf_token": token})
        still_in = await client.get("/organizer/", allow_redirects=False)
        return wrong.status, short.status, done.status, still_in.status

    assert run(engine, scenario) == (400, 400, 200, 200)
    assert sessions_before == 1 and len(session_rows(engine)) == 1  # the other session is gone
    assert accounts.authenticate(engine, "eddie", "a new long passphrase") is not None
    assert accounts.authenticate(engine, "eddie", PASSWORD) is None


def test_an_admin_sets_a_new_password_for_someone_who_forgot_theirs(engine: Engine) -> None:
    secret = add(engine, "ada", "admin")
    add(engine, "eddie", "editor")
    eddie = next(a for a in accounts.list_accounts(engine) if a.username == "eddie")

    async def scenario(client: TestClient) -> int:
        await sign_in(client, "ada")
        await enter_code(client, pyotp.TOTP(secret).now())
        token = await csrf_of(client, "/organizer/accounts")
        response = await client.post(f"/organizer/accounts/{eddie.id}/password", data={"password": "temporary passphrase 1", "csrf_token": token}, allow_redirects=False)
        return response.status

    assert run(engine, scenario) == 303
    assert accounts.authenticate(engine, "eddie", "temporary passphrase 1") is not None
