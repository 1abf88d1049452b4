"""People who sign in: create, list, disable, reset passwords and authenticate (argon2 hashes)."""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor import audit
from monitor.models import Setting, User, utcnow
from monitor.people.roles import Role
from monitor.sqlutil import insert_ignoring_conflicts

log = logging.getLogger(__name__)

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
#: one demo account per role, for `socmon demo`
DEMO_USERS: tuple[tuple[str, Role], ...] = (
    ("demo-admin", Role.ADMIN),
    ("demo-moderator", Role.MODERATOR),
    ("demo-dsl", Role.SAFEGUARDING_LEAD),
    ("demo-manager", Role.MANAGER),
)

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a miss costs as much time as a hit.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class UserError(ValueError):
    """A request about a user that cannot be carried out (the message says why)."""


class UserExists(UserError):
    """The username is taken."""


class UnknownUser(UserError):
    """No user with that name or id."""


class WeakPassword(UserError):
    """The password is too short or too long."""


class AuthenticationFailed(Exception):
    """Wrong username or password, or a disabled account (deliberately not told apart)."""


def new_password() -> str:
    """A random password to hand over once (about 96 bits)."""
    return secrets.token_urlsafe(12)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"passwords need at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise WeakPassword(f"passwords have at most {MAX_PASSWORD} characters")


def parse_role(value: str) -> Role:
    """The role named `value`, or UserError listing the valid ones."""
    try:
        return Role(value)
    except ValueError:
        raise UserError(f"unknown role {value!r} (expected one of "
                        f"{', '.join(r.value for r in Role)})") from None


def normalise(username: str) -> str:
    """A username as stored and compared: trimmed, lower-case."""
    return username.strip().lower()


# Per-user generations live in settings_kv rather than in users columns, so no migration is
# needed: "sessions" (a session is valid while it matches) and "lockout" (login failures are
# counted under the current one, so a new one lifts a lockout).
def _mark_key(user_id: int, mark: str) -> str:
    return f"user.{user_id}.{mark}"


def _mark(session: Session, user_id: int, mark: str) -> str:
    value = session.execute(select(Setting.value).where(
        Setting.key == _mark_key(user_id, mark))).scalar_one_or_none()
    return value or "initial"


def _new_mark(session: Session, user_id: int, mark: str) -> None:
    # Insert then update: two writers at once cannot clash on the key.
    key, value = _mark_key(user_id, mark), secrets.token_urlsafe(12)
    session.execute(insert_ignoring_conflicts(session, Setting, ["key"]).values(
        key=key, value=value, updated_at=utcnow()))
    session.execute(update(Setting).where(Setting.key == key).values(value=value,
                                                                      updated_at=utcnow()))


def session_epoch(session: Session, user: User) -> str:
    """The user's session generation: a session is valid only while it matches."""
    return _mark(session, user.id, "sessions")


def end_sessions(session: Session, user: User) -> None:
    """End every session the user has (a new generation); they sign in again. Never commits."""
    _new_mark(session, user.id, "sessions")


def lockout_epoch(session: Session, *, username: str) -> str:
    """The generation login failures for `username` are counted under ("" if unknown)."""
    user_id = session.execute(select(User.id).where(
        User.username == normalise(username))).scalar_one_or_none()
    return "" if user_id is None else _mark(session, user_id, "lockout")


def unlock(session: Session, *, username: str, actor: str) -> User:
    """Lift the user's login lockout from every address (a new lockout generation)."""
    user = get(session, username=normalise(username))
    _new_mark(session, user.id, "lockout")
    audit.record(session, actor=actor, action="user.unlock", target_type="user",
                 target_id=user.id, details={"username": user.username})
    return user


def get(session: Session, *, username: str) -> User:
    """The user called `username`, or UnknownUser."""
    user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise UnknownUser(f"no user called {username!r}")
    return user


def get_by_id(session: Session, *, user_id: int) -> User:
    """The user with this id, or UnknownUser."""
    user = session.get(User, user_id)
    if user is None:
        raise UnknownUser(f"no user with id {user_id}")
    return user


def list_users(session: Session) -> Sequence[User]:
    """Every user, by username."""
    return session.execute(select(User).order_by(User.username)).scalars().all()


def create(
    session: Session,
    *,
    username: str,
    role: Role,
    actor: str,
    password: str | None = None,
    display_name: str = "",
    email: str | None = None,
) -> tuple[User, str]:
    """Add a user; returns it and its password (generated when not given). Never commits."""
    username = normalise(username)
    if not USERNAME.match(username):
        raise UserError("usernames are 2-63 characters: lower-case letters, digits, . _ -")
    if session.execute(select(User.id).where(User.username == username)).first():
        raise UserExists(f"user {username!r} already exists")
    password = password if password is not None else new_password()
    _check_password(password)
    user = User(username=username, role=role.value, password_hash=_hasher.hash(password),
                display_name=display_name.strip()[:128] or username,
                email=(email or None), disabled=False, created_at=utcnow())
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user.create", target_type="user",
                 target_id=user.id, details={"username": username, "role": role.value})
    return user, password


def set_disabled(session: Session, *, username: str, actor: str, disabled: bool = True) -> User:
    """Disable (or re-enable) an account; its sessions stop working at the next request."""
    user = get(session, username=username)
    user.disabled = disabled
    if disabled:
        end_sessions(session, user)
    audit.record(session, actor=actor, action="user.disable" if disabled else "user.enable",
                 target_type="user", target_id=user.id, details={"username": user.username})
    return user


def reset_password(session: Session, *, username: str, actor: str,
                   password: str | None = None) -> tuple[User, str]:
    """Set a new password (random unless given); signs the user out everywhere."""
    user = get(session, username=username)
    password = password if password is not None else new_password()
    _check_password(password)
    user.password_hash = _hasher.hash(password)
    end_sessions(session, user)
    audit.record(session, actor=actor, action="user.reset_password", target_type="user",
                 target_id=user.id, details={"username": user.username})
    return user, password


def authenticate(session: Session, *, username: str, password: str) -> User:
    """The user if the password matches and the account is enabled; else AuthenticationFailed."""
    user = session.execute(
        select(User).where(User.username == normalise(username))
    ).scalar_one_or_none()
    if user is None or len(password) > MAX_PASSWORD:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password[:MAX_PASSWORD])
        raise AuthenticationFailed("wrong username or password")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise AuthenticationFailed("wrong username or password") from None
    if user.disabled:
        raise AuthenticationFailed("wrong username or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    audit.record(session, actor=user.username, action="user.login", target_type="user",
                 target_id=user.id, details={})
    return user


def sign_out(session: Session, *, user_id: int) -> None:
    """The user signed out: end their sessions everywhere, so a copied cookie stops working."""
    user = get_by_id(session, user_id=user_id)
    end_sessions(session, user)
    audit.record(session, actor=user.username, action="user.logout", target_type="user",
                 target_id=user.id, details={})


def seed_demo_users(session: Session) -> list[tuple[str, str, str]]:
    """One demo user per role with a fresh random password: (username, password, role)."""
    seeded: list[tuple[str, str, str]] = []
    for username, role in DEMO_USERS:
        existing = session.execute(
            select(User).where(User.username == username)).scalar_one_or_none()
        if existing is None:
            _user, password = create(session, username=username, role=role, actor="demo",
                                     display_name=f"Demo {role.value.replace('_', ' ')}")
        else:
            existing.role = role.value
            existing.disabled = False
            _user, password = reset_password(session, username=username, actor="demo")
        seeded.append((username, password, role.value))
    log.info("demo users ready: %s", ", ".join(name for name, _pw, _role in seeded))
    return seeded
