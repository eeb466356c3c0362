"""Creating the first admin from the command line (`kyr organizer create-admin`).

There is no default account or password: whoever installs the app creates the first
admin here, and that admin creates everyone else in the app.
"""

from sqlalchemy.engine import Engine

from organizer.auth import accounts

CLI_ACTOR = "command line"


def create_admin(engine: Engine, username: str, display_name: str, password: str) -> str:
    """Create an admin account and return its TOTP secret (to add to an authenticator app).

    Raises accounts.AccountError or passwords.PasswordTooShort with a message to show as is.
    """
    _, secret = accounts.create_account(
        engine, username, display_name, "admin", password, jurisdictions=(), credential="", actor=CLI_ACTOR
    )
    assert secret is not None  # admins always get one
    return secret
