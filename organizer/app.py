"""The organizer web app: sign-in, accounts, and the security every page shares.

Every page lives under /organizer. Middlewares add security headers, load the session
from the `kyr_org` cookie into request["session"] and the fully signed-in Account into
request["account"], and check a CSRF token on every request that changes something.
Pages that need a signed-in organizer use `require_role`. Other modules add their
pages through `build_app(engine, extra_routes=[...])`.
"""

import asyncio
import hmac
import os
import secrets
import time
import warnings
from collections import defaultdict, deque
from functools import wraps
from pathlib import Path
from typing import Awaitable, Callable, Deque, Dict, Iterable, Optional
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.web_app import NotAppKeyWarning
from multidict import MultiDictProxy
from sqlalchemy.engine import Engine

from organizer.auth import accounts, sessions, totp
from organizer.auth.passwords import PasswordTooShort
from organizer.pages import error_page, render

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

STATIC_DIR = Path(__file__).resolve().parent / "static"
COOKIE_PATH = "/organizer"
HOME_PATH = "/organizer/"
LOGIN_PATH = "/organizer/login"
TOTP_PATH = "/organizer/login/totp"
ACCOUNTS_PATH = "/organizer/accounts"
STATIC_PREFIX = "/organizer/static/"
# Before sign-in there is no session to hold a CSRF token, so the login form's token is
# also sent as this cookie and the two must match (double submit).
CSRF_COOKIE = "kyr_org_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

FAILURE_WINDOW = 15 * 60
# Per username (and per account for TOTP codes): enough for typos, far too few to guess.
FAILURES_PER_ACCOUNT = 5
# Per client address: higher, because an organization's office, or a reverse proxy in
# front of this app, puts several organizers behind one address.
FAILURES_PER_ADDRESS = 20


class FailureLimit:
    """At most `limit` failures per `window` seconds per key.

    Not channels.ratelimit.RateLimit: that counts every attempt, while here only
    failures count and asking whether a key is blocked must not count as one.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._failures: Dict[str, Deque[float]] = defaultdict(deque)

    def _recent(self, key: str, moment: float) -> Deque[float]:
        times = self._failures[key]
        while times and times[0] <= moment - self.window:
            times.popleft()
        if not times:
            # Keys nobody is failing with are dropped, so memory follows current attacks only.
            del self._failures[key]
        return times

    def blocked(self, key: str, moment: Optional[float] = None) -> bool:
        """Whether the key has used up its failures in the current window."""
        return len(self._recent(key, moment if moment is not None else time.monotonic())) >= self.limit

    def failed(self, key: str, moment: Optional[float] = None) -> None:
        """Count one failure for the key."""
        moment = moment if moment is not None else time.monotonic()
        self._recent(key, moment)
        self._failures[key].append(moment)

    def clear(self, key: str) -> None:
        """Forget the key's failures (after it succeeded)."""
        self._failures.pop(key, None)

    def forgive(self, key: str, moment: float) -> None:
        """Take back the failure counted at `moment` (an attempt that turned out to succeed)."""
        times = self._failures.get(key)
        if times and moment in times:
            times.remove(moment)


ACCOUNT_FAILURES = web.AppKey("account_failures", FailureLimit)
ADDRESS_FAILURES = web.AppKey("address_failures", FailureLimit)
TOTP_VERIFIER = web.AppKey("totp_verifier", totp.TotpVerifier)


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def _secure_cookies(request: web.Request) -> bool:
    """Secure cookies, except for plain http on this machine itself (`make run`).

    Browsers never send a Secure cookie over plain http. Reached from elsewhere the app
    sits behind an HTTPS proxy, which names the public host (or says https in
    X-Forwarded-Proto), so its cookies are Secure. KYR_ORGANIZER_INSECURE_COOKIES=1
    drops the flag everywhere (the tests' http server).
    """
    if os.environ.get("KYR_ORGANIZER_INSECURE_COOKIES") == "1":
        return False
    forwarded_https = request.headers.get("X-Forwarded-Proto", "").lower() == "https"
    # request.host, not request.url: aiohttp 3.9 with this yarl fails to build a URL from a host with a port.
    hostname = urlsplit(f"//{request.host}").hostname or ""
    local_http = request.scheme == "http" and hostname in {h.strip("[]") for h in LOOPBACK_HOSTS}
    return forwarded_https or not local_http


def _set_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: Optional[int] = None
) -> None:
    response.set_cookie(
        name, value, path=COOKIE_PATH, httponly=True, secure=_secure_cookies(request), samesite="Strict", max_age=max_age
    )


def _clear_cookie(request: web.Request, response: web.StreamResponse, name: str) -> None:
    _set_cookie(request, response, name, "", max_age=0)


def _redirect(location: str) -> web.Response:
    # 303: the browser follows with a GET, so reloading the next page never re-posts a form.
    return web.Response(status=303, headers={"Location": location})


def _field(form: MultiDictProxy, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Add the security headers to every response; pages (not the stylesheet) are never cached."""

    def add(response: web.StreamResponse) -> None:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.path.startswith(STATIC_PREFIX):
            response.headers["Cache-Control"] = "no-store"

    try:
        response = await handler(request)
    except web.HTTPException as exc:
        add(exc)
        raise
    add(response)
    return response


@web.middleware
async def load_session(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Set request["session"], request["account"] and request["csrf_token"] from the cookies.

    request["account"] is the Account only once sign-in is complete (password, and the
    TOTP code for reviewers and admins); request["session"] is also set half-way.
    """
    request["session"] = None
    request["account"] = None
    request["csrf_token"] = ""
    if request.path.startswith(STATIC_PREFIX):
        return await handler(request)
    engine: Engine = request.app["engine"]
    token = request.cookies.get(sessions.COOKIE_NAME)
    if token:
        session = sessions.load(engine, token)
        account = accounts.get(engine, session.user_id) if session else None
        if session and (account is None or account.disabled):
            sessions.delete(engine, token)
        elif session and account:
            request["session"] = session
            if session.second_factor_done or not account.needs_second_factor:
                request["account"] = account
    minted = None
    if request["session"] is not None:
        request["csrf_token"] = request["session"].csrf_token
    else:
        request["csrf_token"] = request.cookies.get(CSRF_COOKIE) or ""
        if not request["csrf_token"]:
            minted = request["csrf_token"] = secrets.token_urlsafe(32)
    response = await handler(request)
    if minted and CSRF_COOKIE not in response.cookies:
        _set_cookie(request, response, CSRF_COOKIE, minted)
    if token and request["session"] is None and sessions.COOKIE_NAME not in response.cookies:
        # An expired or unknown token: drop it so the browser stops sending it.
        _clear_cookie(request, response, sessions.COOKIE_NAME)
    return response


@web.middleware
async def check_csrf(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse any non-GET request without the right CSRF token (form field or header)."""
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            # aiohttp keeps the parsed form, so handlers can still call request.post().
            sent = _field(await request.post(), CSRF_FIELD)
        expected = request["csrf_token"]
        if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            return error_page(
                request,
                403,
                "This form has expired",
                "For your safety, forms stop working after a while or after signing in or out. "
                "Please go back, reload the page and try again.",
            )
    return await handler(request)


def require_role(*roles: str) -> Callable[[Handler], Handler]:
    """Decorate a handler so only signed-in organizers with one of `roles` (any role if none) get in.

    Not signed in: redirect to the login page (or to the TOTP step when half-way).
    Signed in with another role: a 403 page. Inside the handler, request["account"]
    is the Account.
    """
    unknown = set(roles) - set(accounts.ROLES)
    if unknown:
        raise ValueError(f"Unknown roles: {sorted(unknown)}")

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            account: Optional[accounts.Account] = request.get("account")
            if account is None:
                return _redirect(TOTP_PATH if request.get("session") else LOGIN_PATH)
            if roles and account.role not in roles:
                return error_page(
                    request,
                    403,
                    "Not available to your account",
                    "Your account cannot open this page. If you need it, ask an admin of your organization.",
                )
            return await handler(request)

        return guarded

    return decorate


def _too_many(request: web.Request) -> web.Response:
    response = error_page(
        request,
        429,
        "Too many attempts",
        "There were too many unsuccessful sign-in attempts. To keep accounts safe, please wait "
        "15 minutes and try again. If you forgot your password, ask an admin of your organization.",
    )
    response.headers["Retry-After"] = str(FAILURE_WINDOW)
    return response


def _client_address(request: web.Request) -> str:
    # The peer address: behind a reverse proxy, every organizer shares the proxy's.
    return request.remote or "unknown"


async def login_form(request: web.Request) -> web.StreamResponse:
    """GET /organizer/login: the username and password form."""
    if request["account"] is not None:
        return _redirect(HOME_PATH)
    return render(request, "login.html")


async def login_submit(request: web.Request) -> web.StreamResponse:
    """POST /organizer/login: check the password, then go home or to the TOTP step."""
    engine: Engine = request.app["engine"]
    form = await request.post()
    username = _field(form, "username").strip().lower()[:100]
    account_key = f"user:{username}"
    address_key = f"address:{_client_address(request)}"
    per_account, per_address = request.app[ACCOUNT_FAILURES], request.app[ADDRESS_FAILURES]
    if per_account.blocked(account_key) or per_address.blocked(address_key):
        return _too_many(request)
    # Counted as failed before checking: other attempts run while this one hashes, and
    # must not all slip in under the limit together.
    attempt = time.monotonic()
    per_account.failed(account_key, attempt)
    per_address.failed(address_key, attempt)
    # Hashing takes a noticeable fraction of a second: off the event loop, so other pages stay quick.
    account = await asyncio.to_thread(accounts.authenticate, engine, username, _field(form, "password"))
    if account is None:
        return render(
            request, "login.html", status=401, username=username, error="That username and password don't match."
        )
    per_account.clear(account_key)
    per_address.forgive(address_key, attempt)
    old_token = request.cookies.get(sessions.COOKIE_NAME)
    if old_token:
        sessions.delete(engine, old_token)
    token, _ = sessions.create(engine, account.id, second_factor_done=not account.needs_second_factor)
    if account.needs_second_factor:
        response = _redirect(TOTP_PATH)
    else:
        accounts.audit(engine, account.username, "signed_in", account.username)
        response = _redirect(HOME_PATH)
    _set_cookie(request, response, sessions.COOKIE_NAME, token)
    _clear_cookie(request, response, CSRF_COOKIE)
    return response


async def totp_form(request: web.Request) -> web.StreamResponse:
    """GET /organizer/login/totp: the six-digit code form (reviewers and admins, after the password)."""
    if request["account"] is not None:
        return _redirect(HOME_PATH)
    if request["session"] is None:
        return _redirect(LOGIN_PATH)
    return render(request, "totp.html")


async def totp_submit(request: web.Request) -> web.StreamResponse:
    """POST /organizer/login/totp: check the code and finish signing in under a new session id."""
    if request["account"] is not None:
        return _redirect(HOME_PATH)
    session: Optional[sessions.Session] = request["session"]
    if session is None:
        return _redirect(LOGIN_PATH)
    engine: Engine = request.app["engine"]
    code = _field(await request.post(), "code")
    key = f"totp:{session.user_id}"
    per_account = request.app[ACCOUNT_FAILURES]
    # No await from here to the failure count, so parallel guesses cannot pass this check together.
    if per_account.blocked(key):
        return _too_many(request)
    secret = accounts.totp_secret(engine, session.user_id)
    if not secret or not request.app[TOTP_VERIFIER].verify(session.user_id, secret, code):
        per_account.failed(key)
        return render(
            request,
            "totp.html",
            status=401,
            error="That code didn't work. Codes change every 30 seconds and each works only once: "
            "please enter the newest one from your authenticator app.",
        )
    per_account.clear(key)
    token, _ = sessions.complete_second_factor(engine, session)
    account = accounts.get(engine, session.user_id)
    if account is not None:
        accounts.audit(engine, account.username, "signed_in", account.username)
    response = _redirect(HOME_PATH)
    _set_cookie(request, response, sessions.COOKIE_NAME, token)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    """POST /organizer/logout: end the session on the server and forget the cookie."""
    token = request.cookies.get(sessions.COOKIE_NAME)
    if token:
        sessions.delete(request.app["engine"], token)
    response = _redirect(LOGIN_PATH)
    _clear_cookie(request, response, sessions.COOKIE_NAME)
    return response


async def to_home(_request: web.Request) -> web.StreamResponse:
    """GET /organizer (no slash): the home page's address is /organizer/."""
    return _redirect(HOME_PATH)


@require_role()
async def home(request: web.Request) -> web.StreamResponse:
    """GET /organizer/: the start page after sign-in."""
    return render(request, "home.html")


def _accounts_page(request: web.Request, status: int = 200, **context: object) -> web.Response:
    return render(
        request,
        "accounts.html",
        status=status,
        accounts=accounts.list_accounts(request.app["engine"]),
        roles=accounts.ROLES,
        **context,
    )


@require_role("admin")
async def accounts_list(request: web.Request) -> web.StreamResponse:
    """GET /organizer/accounts: every account, and the form to add one."""
    return _accounts_page(request)


@require_role("admin")
async def accounts_create(request: web.Request) -> web.StreamResponse:
    """POST /organizer/accounts: add an account; a new reviewer's or admin's TOTP secret is shown once."""
    form = await request.post()
    entered = {name: _field(form, name) for name in ("username", "display_name", "role", "credential", "jurisdictions")}
    try:
        created, secret = await asyncio.to_thread(
            accounts.create_account,
            request.app["engine"],
            entered["username"],
            entered["display_name"],
            entered["role"],
            _field(form, "password"),
            entered["jurisdictions"].split(","),
            entered["credential"],
            request["account"].username,
        )
    except (accounts.AccountError, PasswordTooShort) as error:
        return _accounts_page(request, status=400, error=str(error), entered=entered)
    return _accounts_page(
        request,
        created=created,
        totp_secret=secret,
        totp_uri=totp.provisioning_uri(secret, created.username) if secret else None,
    )


async def _change_account(request: web.Request, change: Callable[[Engine, int, str], object]) -> web.StreamResponse:
    account_id = int(request.match_info["id"])
    try:
        change(request.app["engine"], account_id, request["account"].username)
    except accounts.AccountError as error:
        return _accounts_page(request, status=400, error=str(error))
    return _redirect(ACCOUNTS_PATH)


@require_role("admin")
async def account_disable(request: web.Request) -> web.StreamResponse:
    """POST /organizer/accounts/{id}/disable: block the account and end its sessions."""
    if int(request.match_info["id"]) == request["account"].id:
        return _accounts_page(request, status=400, error="You can't disable your own account.")
    return await _change_account(request, lambda engine, id_, actor: accounts.set_disabled(engine, id_, True, actor))


@require_role("admin")
async def account_enable(request: web.Request) -> web.StreamResponse:
    """POST /organizer/accounts/{id}/enable: let a disabled account sign in again."""
    return await _change_account(request, lambda engine, id_, actor: accounts.set_disabled(engine, id_, False, actor))


@require_role("admin")
async def account_jurisdictions(request: web.Request) -> web.StreamResponse:
    """POST /organizer/accounts/{id}/jurisdictions: replace the jurisdictions an account may change."""
    ids = _field(await request.post(), "jurisdictions").split(",")
    return await _change_account(request, lambda engine, id_, actor: accounts.set_jurisdictions(engine, id_, ids, actor))


@require_role("admin")
async def account_password(request: web.Request) -> web.StreamResponse:
    """POST /organizer/accounts/{id}/password: an admin sets a new password (the person
    forgot theirs); the account is signed out everywhere."""
    password = _field(await request.post(), "password")
    try:
        return await _change_account(request, lambda engine, id_, actor: accounts.set_password(engine, id_, password, actor))
    except PasswordTooShort as error:
        return _accounts_page(request, status=400, error=str(error))


@require_role()
async def own_password_form(request: web.Request) -> web.StreamResponse:
    """GET /organizer/account/password: change one's own password."""
    return render(request, "password.html", error=None, done=False)


@require_role()
async def own_password_submit(request: web.Request) -> web.StreamResponse:
    """POST /organizer/account/password: the current password, then the new one twice;
    every other session of the account is signed out."""
    form = await request.post()
    account = request["account"]
    engine = request.app["engine"]
    current, new, again = (_field(form, name) for name in ("current", "new", "again"))
    if await asyncio.to_thread(accounts.authenticate, engine, account.username, current) is None:
        return render(request, "password.html", status=400, error="The current password is not right.", done=False)
    if new != again:
        return render(request, "password.html", status=400, error="The two new passwords differ.", done=False)
    token = request.cookies.get(sessions.COOKIE_NAME, "")
    try:
        await asyncio.to_thread(accounts.set_password, engine, account.id, new, account.username, sessions.token_hash(token))
    except PasswordTooShort as error:
        return render(request, "password.html", status=400, error=str(error), done=False)
    return render(request, "password.html", error=None, done=True)


def add_routes(app: web.Application) -> None:
    """Sign-in, sign-out, home, accounts and the stylesheet."""
    app.router.add_get("/organizer", to_home)
    app.router.add_get(HOME_PATH, home)
    app.router.add_get(LOGIN_PATH, login_form)
    app.router.add_post(LOGIN_PATH, login_submit)
    app.router.add_get(TOTP_PATH, totp_form)
    app.router.add_post(TOTP_PATH, totp_submit)
    app.router.add_post("/organizer/logout", logout)
    app.router.add_get(ACCOUNTS_PATH, accounts_list)
    app.router.add_post(ACCOUNTS_PATH, accounts_create)
    app.router.add_post(ACCOUNTS_PATH + r"/{id:\d+}/disable", account_disable)
    app.router.add_post(ACCOUNTS_PATH + r"/{id:\d+}/enable", account_enable)
    app.router.add_post(ACCOUNTS_PATH + r"/{id:\d+}/jurisdictions", account_jurisdictions)
    app.router.add_post(ACCOUNTS_PATH + r"/{id:\d+}/password", account_password)
    app.router.add_get("/organizer/account/password", own_password_form)
    app.router.add_post("/organizer/account/password", own_password_submit)
    app.router.add_static(STATIC_PREFIX, STATIC_DIR)


def build_app(engine: Engine, extra_routes: Iterable[Callable[[web.Application], None]] = ()) -> web.Application:
    """The organizer app on `engine`; each of `extra_routes` is called with the app to add its pages."""
    app = web.Application(middlewares=[security_headers, load_session, check_csrf])
    with warnings.catch_warnings():
        # Pages in other modules look the engine up by this plain name, so no web.AppKey.
        warnings.simplefilter("ignore", NotAppKeyWarning)
        app["engine"] = engine
    app[ACCOUNT_FAILURES] = FailureLimit(FAILURES_PER_ACCOUNT, FAILURE_WINDOW)
    app[ADDRESS_FAILURES] = FailureLimit(FAILURES_PER_ADDRESS, FAILURE_WINDOW)
    app[TOTP_VERIFIER] = totp.TotpVerifier()
    add_routes(app)
    for add in extra_routes:
        add(app)
    return app
