"""Session secret and login rate limiting for the web UI (role sets: `monitor.people.roles`)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from monitor.db import transaction
from monitor.models import Setting, utcnow
from monitor.sqlutil import insert_ignoring_conflicts

SECRET_SETTING = "web.secret_key"  # noqa: S105 - a key name, not a secret


def session_secret(settings: Settings, factory: sessionmaker[Session]) -> str:
    """`settings.secret_key`, else a random key kept in the database so restarts keep sessions."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value()
    with transaction(factory) as session:
        # ON CONFLICT DO NOTHING: two replicas starting together agree on the first key written.
        session.execute(insert_ignoring_conflicts(session, Setting, ["key"]).values(
            key=SECRET_SETTING, value=secrets.token_urlsafe(48), updated_at=utcnow()))
        return session.execute(
            select(Setting.value).where(Setting.key == SECRET_SETTING)).scalar_one()


def derive_key(secret: str, purpose: str) -> str:
    """A separate key per purpose (sessions, CSRF), so one leaking does not give the other."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


class LoginLimiter:
    """Failed sign-ins in moving windows, keyed on the username and on the client address.

    A username locks after a few failures from one address, and after more from anywhere
    (guessing spread over many addresses); an address locks only at a generous cap, so one
    person's lockout does not lock out everyone behind the same school or proxy address.
    `lockout` is the username's current lockout generation (`users.lockout_epoch`): counting
    under it means a new one, from `socmon users unlock` or the admin page, lifts the lockout.
    """

    # In-process memory: enough for one web process; replicas each count their own share.
    def __init__(self, *, per_user_address: str = "5/15minutes",
                 per_user: str = "20/15minutes", per_address: str = "100/15minutes") -> None:
        self.storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.per_user_address = parse(per_user_address)
        self.per_user = parse(per_user)
        self.per_address = parse(per_address)

    def _windows(self, address: str, username: str,
                 lockout: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        user = (username, lockout)
        return [(self.per_user_address, (*user, address)), (self.per_user, user),
                (self.per_address, (address,))]

    def allowed(self, address: str, username: str, lockout: str) -> bool:
        """Whether another attempt may be made now (does not count one)."""
        return all(self.limiter.test(item, "login", *key)
                   for item, key in self._windows(address, username, lockout))

    def failed(self, address: str, username: str, lockout: str) -> None:
        """Count a failed attempt."""
        for item, key in self._windows(address, username, lockout):
            self.limiter.hit(item, "login", *key)

    def succeeded(self, address: str, username: str, lockout: str) -> None:
        """A good password clears that user's failures from this address."""
        self.limiter.clear(self.per_user_address, "login", username, lockout, address)


__all__ = ["LoginLimiter", "derive_key", "session_secret"]
