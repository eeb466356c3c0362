"""Organizer accounts: editors change drafts, reviewers approve them, admins manage accounts.

Every change to an account writes a row in the audit log naming who made it.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Iterable, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from organizer.auth import passwords, totp
from storage.organizer_db import audit_log, now, organizer_sessions, organizer_users

ROLES = ("editor", "reviewer", "admin")
# Roles that can publish or hand out access sign in with a TOTP code too.
SECOND_FACTOR_ROLES = frozenset({"reviewer", "admin"})

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")
_JURISDICTION_ID = re.compile(r"^[a-z0-9_]{1,100}$")


class AccountError(ValueError):
    """A refused account change; the message can be shown to the organizer as is."""


@dataclass(frozen=True)
class Account:
    """One organizer, without the password hash or TOTP secret (safe to hand to templates)."""

    id: int
    username: str
    display_name: str
    role: str
    credential: str
    jurisdictions: Tuple[str, ...]
    created_at: datetime
    disabled: bool

    @property
    def needs_second_factor(self) -> bool:
        """Whether this account signs in with a TOTP code after the password."""
        return self.role in SECOND_FACTOR_ROLES


def _account(row: sa.engine.Row) -> Account:
    return Account(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        credential=row.credential,
        jurisdictions=tuple(json.loads(row.jurisdictions or "[]")),
        created_at=row.created_at,
        disabled=bool(row.disabled),
    )


def _audit(connection: Connection, actor: str, action: str, target: str, detail: str = "") -> None:
    connection.execute(audit_log.insert().values(at=now(), actor=actor, action=action, target=target, detail=detail))


def audit(engine: Engine, actor: str, action: str, target: str, detail: str = "") -> None:
    """Write one audit-log row on its own (changes made here write theirs in the same transaction)."""
    with engine.begin() as connection:
        _audit(connection, actor, action, target, detail)


def clean_jurisdictions(jurisdictions: Iterable[str]) -> List[str]:
    """Jurisdiction ids trimmed, lower-cased and de-duplicated; AccountError for a malformed one."""
    cleaned: List[str] = []
    for raw in jurisdictions:
        jid = raw.strip().lower()
        if not jid:
            continue
        if not _JURISDICTION_ID.match(jid):
            raise AccountError(f"“{raw.strip()}” is not a jurisdiction id (ids look like orlando or new_york_city).")
        if jid not in cleaned:
            cleaned.append(jid)
    return cleaned


def create_account(
    engine: Engine,
    username: str,
    display_name: str,
    role: str,
    password: str,
    jurisdictions: Iterable[str],
    credential: str,
    actor: str,
) -> Tuple[Account, Optional[str]]:
    """Create an account; returns it and, for reviewers and admins, its new TOTP secret.

    Raises AccountError (bad username, role or jurisdictions, username taken) or
    passwords.PasswordTooShort.
    """
    username = username.strip().lower()
    display_name = display_name.strip()
    if not _USERNAME.match(username):
        raise AccountError(
            "Usernames are 2 to 100 characters: lower-case letters, digits, dots, dashes or "
            "underscores, starting with a letter or digit."
        )
    if not display_name:
        raise AccountError("Please give the person's name as others should see it.")
    if role not in ROLES:
        raise AccountError(f"The role must be one of: {', '.join(ROLES)}.")
    if role == "reviewer" and not credential.strip():
        # Each publication records the reviewer's credential, so it cannot be blank.
        raise AccountError("Reviewers need a credential, for example attorney or accredited representative.")
    jurisdiction_ids = clean_jurisdictions(jurisdictions)
    password_hash = passwords.hash_password(password)
    secret = totp.new_secret() if role in SECOND_FACTOR_ROLES else None
    try:
        with engine.begin() as connection:
            new_id = connection.execute(
                organizer_users.insert().values(
                    username=username,
                    display_name=display_name[:200],
                    password_hash=password_hash,
                    role=role,
                    credential=credential.strip()[:200],
                    totp_secret=secret,
                    jurisdictions=json.dumps(jurisdiction_ids),
                    created_at=now(),
                    disabled=False,
                )
            ).inserted_primary_key[0]
            _audit(connection, actor, "account_created", username, f"role={role} jurisdictions={','.join(jurisdiction_ids)}")
    except IntegrityError:
        raise AccountError(f"There is already an account named “{username}”.") from None
    account = get(engine, new_id)
    assert account is not None
    return account, secret


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checked when the username is unknown, so a wrong username takes as long as a
    # wrong password and response times don't reveal which accounts exist.
    return passwords.hash_password("not-a-real-password-" + totp.new_secret())


def authenticate(engine: Engine, username: str, password: str) -> Optional[Account]:
    """The enabled account with this username and password, or None."""
    with engine.connect() as connection:
        row = connection.execute(
            sa.select(organizer_users).where(organizer_users.c.username == username.strip().lower())
        ).first()
    if row is None:
        passwords.verify_password(_dummy_hash(), password)
        return None
    if not passwords.verify_password(row.password_hash, password) or row.disabled:
        return None
    if passwords.needs_rehash(row.password_hash):
        # Only now is the plain password at hand to re-hash with today's parameters.
        with engine.begin() as connection:
            connection.execute(
                organizer_users.update()
                .where(organizer_users.c.id == row.id)
                .values(password_hash=passwords.hash_password(password))
            )
    return _account(row)


def totp_secret(engine: Engine, account_id: int) -> Optional[str]:
    """The account's TOTP secret (None for editors); never put it in a page after creation."""
    with engine.connect() as connection:
        return connection.execute(
            sa.select(organizer_users.c.totp_secret).where(organizer_users.c.id == account_id)
        ).scalar()


def get(engine: Engine, account_id: int) -> Optional[Account]:
    """The account with this id, or None."""
    with engine.connect() as connection:
        row = connection.execute(sa.select(organizer_users).where(organizer_users.c.id == account_id)).first()
    return _account(row) if row is not None else None


def list_accounts(engine: Engine) -> List[Account]:
    """Every account, by username."""
    with engine.connect() as connection:
        rows = connection.execute(sa.select(organizer_users).order_by(organizer_users.c.username)).all()
    return [_account(row) for row in rows]


def _require(connection: Connection, account_id: int) -> sa.engine.Row:
    row = connection.execute(sa.select(organizer_users).where(organizer_users.c.id == account_id)).first()
    if row is None:
        raise AccountError("That account does not exist.")
    return row


def set_disabled(engine: Engine, account_id: int, disabled: bool, actor: str) -> Account:
    """Disable (and sign out everywhere) or re-enable an account."""
    with engine.begin() as connection:
        row = _require(connection, account_id)
        connection.execute(
            organizer_users.update().where(organizer_users.c.id == account_id).values(disabled=disabled)
        )
        if disabled:
            connection.execute(organizer_sessions.delete().where(organizer_sessions.c.user_id == account_id))
        _audit(connection, actor, "account_disabled" if disabled else "account_enabled", row.username)
    account = get(engine, account_id)
    assert account is not None
    return account


def set_jurisdictions(engine: Engine, account_id: int, jurisdictions: Iterable[str], actor: str) -> Account:
    """Replace the jurisdictions the account may change."""
    jurisdiction_ids = clean_jurisdictions(jurisdictions)
    with engine.begin() as connection:
        row = _require(connection, account_id)
        connection.execute(
            organizer_users.update()
            .where(organizer_users.c.id == account_id)
            .values(jurisdictions=json.dumps(jurisdiction_ids))
        )
        _audit(connection, actor, "account_jurisdictions", row.username, ",".join(jurisdiction_ids))
    account = get(engine, account_id)
    assert account is not None
    return account


def set_password(engine: Engine, account_id: int, password: str, actor: str, keep_session: Optional[str] = None) -> None:
    """Replace an account's password and sign it out everywhere except `keep_session`
    (the token hash of the session that made the change, if it is the account's own)."""
    passwords.check_length(password)
    hashed = passwords.hash_password(password)
    with engine.begin() as connection:
        row = _require(connection, account_id)
        connection.execute(organizer_users.update().where(organizer_users.c.id == account_id).values(password_hash=hashed))
        others = organizer_sessions.delete().where(organizer_sessions.c.user_id == account_id)
        if keep_session:
            others = others.where(organizer_sessions.c.token_hash != keep_session)
        connection.execute(others)
        _audit(connection, actor, "password_changed", row.username)
