"""Client credentials: one token per scanner, kiosk, operator or administrator; only a hash of it is kept."""
from __future__ import annotations

import secrets

from config.errors import EdossierError, ExitCode

ROLES = ("device", "operator", "admin")
RIGHTS = {
    "device": frozenset({"upload"}),                                  # into its own stacks, and read their state
    "operator": frozenset({"upload", "read", "retry", "cases"}),       # cases: open them, report their stages
    "admin": frozenset({"upload", "read", "retry", "cases", "tokens"}),
}
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
