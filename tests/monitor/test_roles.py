"""Roles and permissions have one home: every role has a row, and the sets keep their meaning."""

from __future__ import annotations

from config.settings import Notifications
from monitor.people import roles
from monitor.people.roles import Permission, Role


def test_every_role_has_its_permissions() -> None:
    assert set(roles.PERMISSIONS) == set(Role)
    assert all(Permission.READ in granted for granted in roles.PERMISSIONS.values())


def test_the_role_sets_say_what_they_always_said() -> None:
    a, m, s, g = Role.ADMIN, Role.MODERATOR, Role.SAFEGUARDING_LEAD, Role.MANAGER
    assert {a, m, s, g} == roles.STAFF
    assert {a, m, s} == roles.ACTORS
    assert {a, s} == roles.DSL
    assert {a, s, g} == roles.OVERSIGHT
    assert {a} == roles.ADMINS
    assert roles.may(s, Permission.SAFEGUARDING)
    assert not roles.may(m, Permission.SAFEGUARDING)


def test_the_config_validates_roles_against_the_same_enum() -> None:
    parsed = Notifications.model_validate({"email": {"safeguarding_lead": ["dsl@school.test"]}})
    assert list(parsed.email) == [Role.SAFEGUARDING_LEAD]
