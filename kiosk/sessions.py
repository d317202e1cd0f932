"""Who is at the screen. A console user signs in with name and password and holds a session cookie whose secret is
never stored (only its hash); the session ends after `console.idle_minutes` unused or `console.hours` in all, and
every console action checks the user's role on the server (`ingest.auth.RIGHTS`), whatever the page shows. Scripts
may send an operator's or administrator's `Authorization: Bearer` token instead; a device token opens no console page.

A kiosk is enrolled once with its device token (kept in an HttpOnly cookie on the kiosk's browser); each person filing
there gets a filing session of their own, ended when they finish or after `kiosk.idle_s` without a touch.
"""
from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from fastapi import Request, Response

from ingest.auth import check_password, may

CONSOLE_COOKIE = "edossier_console"
KIOSK_COOKIE = "edossier_kiosk"
FILING_COOKIE = "edossier_filing"
REFRESH_HEADER = "x-edossier-refresh"      # a page refreshing itself: not a person using the console


class SignInNeeded(Exception):
    """No live console session: the page sends the browser to sign in, then back to `next`."""

    def __init__(self, next_url: str, reason: str = ""):
        super().__init__(reason)
        self.next_url, self.reason = next_url, reason


class Forbidden(Exception):
    """Signed in, or holding a token, whose role may not do this."""


class KioskNotEnrolled(Exception):
    """A browser that is not an enrolled kiosk asked for a kiosk page."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    via: str = "session"             # session | token

    def require(self, right: str) -> "User":
        if not may(self.role, right):
            raise Forbidden(f"the {self.role} role may not do this")
        return self

    def can(self, right: str) -> bool:
        return may(self.role, right)


def sign_in(ctx, response: Response, name: str, password: str) -> User | None:
    row = ctx.catalogue.user(name)
    if row is None or row["disabled_at"] is not None or not check_password(row["password_hash"], password):
        return None
    secret = secrets.token_urlsafe(32)
    ctx.catalogue.add_session(secret, "console", name, row["role"], time.time() + ctx.settings.console.hours * 3600)
    response.set_cookie(CONSOLE_COOKIE, secret, httponly=True, samesite="strict", path="/console")
    return User(name, row["role"])


def sign_out(ctx, request: Request, response: Response) -> None:
    if secret := request.cookies.get(CONSOLE_COOKIE):
        ctx.catalogue.end_session(secret)
    response.delete_cookie(CONSOLE_COOKIE, path="/console")


def console_user(ctx, request: Request) -> User:
    """The user behind the request, or SignInNeeded / Forbidden."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    touch = REFRESH_HEADER not in request.headers
    if scheme.lower() == "bearer" and token:
        row = ctx.catalogue.token_by_secret(token.strip())
        if row is None:
            raise SignInNeeded(_here(request), "unknown or revoked token")
        if row["role"] == "device":
            raise Forbidden("a device token does not open the console")
        return User(row["name"], row["role"], via="token")
    secret = request.cookies.get(CONSOLE_COOKIE)
    session = ctx.catalogue.live_session(secret, "console", ctx.settings.console.idle_minutes * 60, touch) \
        if secret else None
    if session is None:
        raise SignInNeeded(_here(request), "your session has ended: sign in again" if secret else "")
    return User(session["subject"], session["role"])


def kiosk_client(ctx, request: Request) -> str:
    """The enrolled kiosk's name (its device token's)."""
    secret = request.cookies.get(KIOSK_COOKIE)
    row = ctx.catalogue.token_by_secret(secret) if secret else None
    if row is None or row["role"] != "device":
        raise KioskNotEnrolled()
    return row["name"]


def enrol(ctx, response: Response, token: str) -> str | None:
    row = ctx.catalogue.token_by_secret(token.strip())
    if row is None or row["role"] != "device":
        return None
    response.set_cookie(KIOSK_COOKIE, token.strip(), httponly=True, samesite="strict", path="/kiosk",
                        max_age=3650 * 86400)
    return row["name"]


def start_filing(ctx, response: Response, filing_id: int) -> None:
    secret = secrets.token_urlsafe(32)
    ctx.catalogue.add_session(secret, "filing", str(filing_id), "device", time.time() + 4 * 3600)
    response.set_cookie(FILING_COOKIE, secret, httponly=True, samesite="strict", path="/kiosk")


def current_filing(ctx, request: Request, touch: bool = True) -> int | None:
    """The filing of the person at the kiosk now; None once it is done or they walked away. `touch`: the person's
    own request (a page polling on its own keeps nobody's session alive)."""
    secret = request.cookies.get(FILING_COOKIE)
    session = ctx.catalogue.live_session(secret, "filing", ctx.settings.kiosk.idle_s, touch) if secret else None
    return int(session["subject"]) if session else None


def end_filing(ctx, request: Request, response: Response) -> int | None:
    """End the browser's filing session, live or not; answers the filing it was for."""
    response.delete_cookie(FILING_COOKIE, path="/kiosk")
    secret = request.cookies.get(FILING_COOKIE)
    if not secret:
        return None
    session = ctx.catalogue.session(secret, "filing")
    ctx.catalogue.end_session(secret)
    return int(session["subject"]) if session else None


def _here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")
