"""Request dependencies: the signed-in user, one role check per role set, database sessions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.templating import Jinja2Templates
from pydantic import AfterValidator
from sqlalchemy.orm import Session, sessionmaker

from monitor import users
from monitor.db import transaction
from monitor.people.roles import (
    ACTORS,
    ADMINS,
    DSL,
    HOLD_KEEPERS,
    OVERSIGHT,
    POLICY_EDITORS,
    RIGHTS_OFFICERS,
    STAFF,
    Role,
)
from monitor.runtime import Runtime
from monitor.storable import is_storable
from monitor.web.security import LoginLimiter


class NotAuthenticated(Exception):
    """No valid session: pages redirect to the login form, the API answers 401."""


class Forbidden(Exception):
    """Signed in, but this role may not do or see this."""


@dataclass
class WebState:
    """What every request needs, built once by `create_app`."""

    runtime: Runtime
    read_factory: sessionmaker[Session]
    templates: Jinja2Templates
    limiter: LoginLimiter
    secure_cookies: bool
    extras: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (no write lock on SQLite)."""
        with self.read_factory() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One committed unit of work; rolled back on any exception."""
        with transaction(self.runtime.factory) as session:
            yield session


@dataclass(frozen=True, slots=True)
class CurrentUser:
    """The signed-in person, as the views need them."""

    id: int
    username: str
    display_name: str
    role: Role

    @property
    def can_act(self) -> bool:
        """May claim, take down, dismiss, escalate and note."""
        return self.role in ACTORS

    @property
    def sees_safeguarding(self) -> bool:
        """May read safeguarding items' content and work that lane."""
        return self.role in DSL

    @property
    def sees_audit(self) -> bool:
        """May read the audit log."""
        return self.role in OVERSIGHT

    @property
    def shapes_policy(self) -> bool:
        """May edit the organisation's rules and promote lab candidates."""
        return self.role in POLICY_EDITORS

    @property
    def is_admin(self) -> bool:
        """May manage accounts."""
        return self.role in ADMINS

    @property
    def keeps_records(self) -> bool:
        """May set legal holds (and so open the records pages)."""
        return self.role in HOLD_KEEPERS

    @property
    def handles_rights(self) -> bool:
        """May export or erase what socmon holds about a person."""
        return self.role in RIGHTS_OFFICERS


def get_state(request: Request) -> WebState:
    """The app's shared state."""
    state: WebState = request.app.state.web
    return state


def current_user(request: Request) -> CurrentUser:
    """The user behind the session cookie, while the user's session generation still matches."""
    uid = request.session.get("uid")
    if not isinstance(uid, int):
        raise NotAuthenticated
    state = get_state(request)
    with state.read() as session:
        try:
            user = users.get_by_id(session, user_id=uid)
        except users.UnknownUser:
            user = None
        if (user is None or user.disabled
                or request.session.get("epoch") != users.session_epoch(session, user)):
            request.session.clear()
            raise NotAuthenticated
        return CurrentUser(id=user.id, username=user.username,
                           display_name=user.display_name or user.username, role=Role(user.role))


def require(roles: frozenset[Role]) -> Callable[..., CurrentUser]:
    """A dependency admitting only `roles`."""

    def check(user: Annotated[CurrentUser, Depends(current_user)]) -> CurrentUser:
        if user.role not in roles:
            raise Forbidden(f"the {user.role.value} role may not do this")
        return user

    check.__name__ = "require_" + "_".join(sorted(r.value for r in roles))
    return check


#: one alias per role set; every route takes exactly one of them
StaffUser = Annotated[CurrentUser, Depends(require(STAFF))]
ActorUser = Annotated[CurrentUser, Depends(require(ACTORS))]
DslUser = Annotated[CurrentUser, Depends(require(DSL))]
OversightUser = Annotated[CurrentUser, Depends(require(OVERSIGHT))]
AdminUser = Annotated[CurrentUser, Depends(require(ADMINS))]
HoldUser = Annotated[CurrentUser, Depends(require(HOLD_KEEPERS))]
RightsUser = Annotated[CurrentUser, Depends(require(RIGHTS_OFFICERS))]
PolicyUser = Annotated[CurrentUser, Depends(require(POLICY_EDITORS))]
State = Annotated[WebState, Depends(get_state)]

def storable_input(value: str) -> str:
    """`value` unchanged if both databases can take it; else a ValueError (answered 422)."""
    # PostgreSQL refuses NUL in text even in a WHERE clause, so a NUL in any field that
    # reaches a query was a 500 there (and stored or matched on SQLite): refuse it up front.
    if not is_storable(value):
        raise ValueError("must not contain NUL characters or unpaired surrogates")
    return value


#: text from a request (path, query, form or JSON): what the databases can store and compare
Text = Annotated[str, AfterValidator(storable_input)]
#: ids are BIGINT on PostgreSQL; larger numbers cannot name a row
MAX_ID = 2**63 - 1
AlertId = Annotated[int, Path(ge=1, le=MAX_ID)]
Username = Annotated[Text, Path(min_length=1, max_length=64)]
