"""Roles and their permissions: the one place that says who may see and do what.

Adding a role is a change here (a member of `Role` and its row in `PERMISSIONS`) plus its
tests; the config schema, the web UI's route guards, assignment and the notification
recipients all read this module. It imports nothing from socmon, so the config may use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Role(StrEnum):
    """Who a person is in socmon; decides what they may see and do."""

    ADMIN = "admin"
    MODERATOR = "moderator"
    SAFEGUARDING_LEAD = "safeguarding_lead"
    MANAGER = "manager"


class Permission(StrEnum):
    """One thing a role may do."""

    #: sign in: dashboard, channel health, the queue and item views (read)
    READ = "read"
    #: act on alerts (claim, hide, delete, dismiss, escalate, note, bulk) and be assigned them
    ACT = "act"
    #: read safeguarding items' content and work the safeguarding lane
    SAFEGUARDING = "safeguarding"
    #: read the audit log
    AUDIT = "audit"
    #: manage accounts
    MANAGE_USERS = "manage_users"
    #: set and lift legal holds (they stop every purge and erasure that would touch their target)
    LEGAL_HOLD = "legal_hold"
    #: answer people's rights requests: export or erase what socmon holds about an author
    #: (an export holds safeguarding records: grant it only with SAFEGUARDING; a test checks)
    PEOPLES_RIGHTS = "peoples_rights"
    #: shape the policy: organisation rules and settings in the lab, promote and discard
    SHAPE_POLICY = "shape_policy"


#: each role's permissions (every role must have a row: the tests check it)
PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MODERATOR: frozenset({Permission.READ, Permission.ACT}),
    Role.SAFEGUARDING_LEAD: frozenset(
        {Permission.READ, Permission.ACT, Permission.SAFEGUARDING, Permission.AUDIT,
         Permission.LEGAL_HOLD}
    ),
    Role.MANAGER: frozenset({Permission.READ, Permission.AUDIT}),
}


def may(role: Role, permission: Permission) -> bool:
    """Whether `role` has `permission`."""
    return permission in PERMISSIONS[role]


def holders(permission: Permission) -> frozenset[Role]:
    """Every role with `permission`."""
    return frozenset(role for role in Role if may(role, permission))


#: every signed-in role
STAFF = holders(Permission.READ)
#: who may act on alerts
ACTORS = holders(Permission.ACT)
#: who sees safeguarding content and works the safeguarding lane (the DSL and admins)
DSL = holders(Permission.SAFEGUARDING)
#: who reads the audit log
OVERSIGHT = holders(Permission.AUDIT)
#: who manages accounts
ADMINS = holders(Permission.MANAGE_USERS)
#: who sets and lifts legal holds (admins and the DSL)
HOLD_KEEPERS = holders(Permission.LEGAL_HOLD)
#: who exports or erases what socmon holds about a person (admins)
RIGHTS_OFFICERS = holders(Permission.PEOPLES_RIGHTS)
#: who edits the organisation's rules and promotes or discards lab candidates
POLICY_EDITORS = holders(Permission.SHAPE_POLICY)
