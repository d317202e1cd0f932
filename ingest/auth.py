"""Client credentials: one token per scanner, kiosk, operator or administrator; only a hash of it is kept. People
who sign in to the console have a name, a role and a password, kept as a salted scrypt hash."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from config.errors import EdossierError, ExitCode

ROLES = ("device", "operator", "admin")                                # what a token may be
USER_ROLES = ("operator", "judge", "admin")                           # what a person signing in may be
RIGHTS = {
    "device": frozenset({"upload"}),                                  # into its own stacks, and read their state
    "operator": frozenset({"upload", "read", "retry", "cases"}),       # cases: open them, report stages, correct
    "judge": frozenset({"read", "filings"}),                          # filings: accept, return or refuse them
    "admin": frozenset({"upload", "read", "retry", "cases", "filings", "tokens"}),
}
SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
PREFIX = "edo_"


class TokenError(EdossierError):
    exit_code = ExitCode.usage


def create_token(catalogue, name: str, role: str) -> str:
    """A new random token for `name`; the secret is returned once and never stored."""
    if role not in ROLES:
        raise TokenError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if not name or len(name) > 80 or any(c.isspace() for c in name):
        raise TokenError("a token name is 1 to 80 characters without spaces, e.g. scanner-3f")
    if any(t["name"] == name and t["revoked_at"] is None for t in catalogue.token_list()):
        raise TokenError(f"a token named {name} exists already (revoke it, or choose another name)")
    secret = PREFIX + secrets.token_urlsafe(32)
    catalogue.add_token(name, role, secret)
    return secret


def may(role: str, right: str) -> bool:
    return right in RIGHTS.get(role, frozenset())


def create_user(catalogue, name: str, role: str, password: str) -> bool:
    """A person who signs in to the console (again: a new password and role). True when the name is new."""
    if role not in USER_ROLES:
        raise TokenError(f"unknown role {role!r}; one of {', '.join(USER_ROLES)}")
    if not name or len(name) > 80 or any(c.isspace() for c in name):
        raise TokenError("a user name is 1 to 80 characters without spaces, e.g. zhang.wei")
    if len(password) < 10:
        raise TokenError("a password has at least 10 characters")
    return catalogue.add_user(name, role, hash_password(password))


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(stored: str, password: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        found = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(found.hex(), digest)
