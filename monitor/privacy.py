"""The record of what socmon holds and why, for a data protection officer, from the config.

`CATEGORIES` is the one list of the kinds of data socmon holds. Who may see each is derived
from `monitor.people.roles.PERMISSIONS`; how long each is kept is read from `retention` in
the configuration (`retention()`, the periods the daily purge applies); the channels, digest
and database come from the configuration in force. `docs/privacy.md` is this record for the
default configuration (`socmon privacy record --markdown`), and a test keeps them equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from config.settings import Retention, Settings
from monitor.people.roles import Permission, Role, holders
from monitor.removals.policy import WORKERS_PERMISSION

#: the lawful bases a school or charity would usually rely on (guidance, not legal advice)
PUBLIC_TASK = ("public task (UK GDPR Art. 6(1)(e)) for a maintained school or academy; "
               "legitimate interests (Art. 6(1)(f)) for an independent school or a charity")
SAFEGUARDING_BASIS = ("as above, with the substantial public interest condition for "
                      "safeguarding of children and individuals at risk (DPA 2018 Sch. 1 "
                      "para. 18) for special category data; Keeping Children Safe in "
                      "Education expects concerns to be recorded and kept")
CONTRACT_BASIS = ("legitimate interests (or public task) in running the service securely; "
                  "staff accounts are part of their employment")
#: what the record says when no retention period applies to a category
NO_PERIOD = "kept until an administrator deletes it (no automatic purge is configured)"
#: what the record says of a period while the daily purge is turned off
PURGE_OFF = "nothing is purged automatically: the daily purge is off (retention.enabled is false)"


@dataclass(frozen=True, slots=True)
class Category:
    """One kind of data socmon holds."""

    key: str
    title: str
    what: str
    where: str
    #: who may see it in socmon; None: nobody through the web UI (server operators only)
    permission: Permission | None
    basis: str
    note: str = ""


#: every kind of data socmon holds, in the order the record lists them
CATEGORIES: tuple[Category, ...] = (
    Category("comments", "Comments read",
             "every post, comment and reply socmon reads on a watched channel: its text, "
             "author's platform id and display name, link, time and the platform's raw "
             "payload; and the classifier's verdict on it",
             "database tables items and verdicts", Permission.READ, PUBLIC_TASK,
             "Comments that raise no flag are only read to be checked; staff see them only "
             "as the context (thread, author history) of a flagged one."),
    Category("flagged", "Flagged comments and evidence",
             "alerts on flagged comments (labels, severity, deadline, who handled them and "
             "how), and the evidence snapshot taken at detection with its SHA-256",
             "database tables alerts and evidence; evidence packs exported as ZIP files",
             Permission.READ, PUBLIC_TASK,
             "Evidence packs can be exported only by roles that act on alerts."),
    Category("safeguarding", "Safeguarding records",
             "alerts in the safeguarding lane (disclosures, concerns about a child) and "
             "their content, notes and acknowledgements",
             "database tables alerts, items, evidence and alert_notes (safeguarding lane)",
             Permission.SAFEGUARDING, SAFEGUARDING_BASIS,
             "Never quoted in e-mails, notifications, digests or the annual review."),
    Category("notes", "Moderators' notes",
             "free-text notes written on alerts",
             "database table alert_notes", Permission.READ, PUBLIC_TASK,
             "Notes on safeguarding alerts are seen only by the roles for safeguarding records."),
    Category("audit", "Audit trail",
             "who did what and when (alert actions, takedowns, logins, configuration and "
             "model changes): ids and hashes, never comment text",
             "database table audit_events (hash-chained)", Permission.AUDIT, PUBLIC_TASK),
    Category("users", "Staff accounts",
             "username, display name, e-mail address, role, password hash, last sign-in",
             "database table users", Permission.MANAGE_USERS, CONTRACT_BASIS),
    Category("names", "Register of protected names",
             "first and last names, aliases and role (pupil, staff) of the people whose "
             "names must not appear on the channels",
             "database table protected_names", None, SAFEGUARDING_BASIS,
             "Never shown in the web UI; `socmon names list` prints counts only. An entry "
             "may be marked photo consent withdrawn (the family withdrew consent to the "
             "child appearing in the organisation's photos): the organisation's own posts "
             "that name or tag that child are then flagged."),
    Category("removals", "Removal requests",
             "requests to take something down: who asked and in what role, what and why, "
             "the page's address and host, the deadline, and each contact with the host "
             "of a page elsewhere (what was sent or said)",
             "database tables removal_requests and removal_contacts",
             WORKERS_PERMISSION, PUBLIC_TASK,
             "The requester is often a parent naming their child: managers see the list and "
             "its deadlines, not who asked or why; about a safeguarding item, only the roles "
             "for safeguarding records do. The audit trail holds hashes of the free "
             "text, never the text; the annual review counts requests only."),
    Category("holds", "Legal holds",
             "holds on an alert, an author (platform and account id) or a channel: the "
             "reason given, who set and lifted each and when",
             "database table legal_holds", Permission.LEGAL_HOLD, PUBLIC_TASK,
             "While a hold is in force nothing it covers is purged or erased, whatever its "
             "period below."),
    Category("org_rules", "The organisation's rules",
             "watched words and phrases, allow-lists (which may hold staff names and local "
             "place names) and author rules (a platform account id), with every version, "
             "who wrote it and the reason given",
             "database tables org_rules and org_rule_versions", Permission.AUDIT, PUBLIC_TASK,
             "The audit trail keeps a hash of each rule's words, never the words."),
    Category("shadow", "Shadow verdicts",
             "what a candidate in the policy lab said about each new comment while it ran "
             "in shadow (labels and severity; no text: it points at the comment read)",
             "database table lab_shadow_verdicts", Permission.AUDIT, PUBLIC_TASK,
             "They open no alert and reach no moderator; the comments they point at follow "
             "the retention of comments read."),
    Category("policy_cases", "The organisation's policy test cases",
             "comments kept as test cases of the organisation's policy (typed in, or made "
             "from an alert in one click): the text, the labels it must and must not get, "
             "the clause it tests, who added it",
             "database table policy_cases", Permission.READ, PUBLIC_TASK,
             "A case about safeguarding is shown only to the roles for safeguarding records; "
             "the audit trail keeps a hash of each case's text, never the text."),
    Category("series", "Signals across comments",
             "which comments by one author (or to one person) form a series, the alert that "
             "links them, and the links a moderator made between accounts on different "
             "platforms",
             "database tables series_signals, series_alerts, alert_items and author_links",
             Permission.READ, PUBLIC_TASK,
             "A comment linked to a series alert is never purged as a clean comment; the "
             "purge does not yet apply the flagged period to linked comments, so they stay "
             "until an administrator removes them."),
    Category("digests", "Weekly digests and the annual review",
             "counts and rates; account names and redacted quotations only if the digest "
             "settings allow them, never from safeguarding items",
             "database table digest_runs (which week went to whom); the e-mails themselves "
             "in the recipients' mailboxes; review packs where they are saved",
             Permission.AUDIT, PUBLIC_TASK),
    Category("quarantine", "Quarantined items",
             "the whole payload of items that could not be read, stored or classified",
             "database table quarantined_items", None, PUBLIC_TASK,
             "Kept so that no comment goes unchecked; reviewed by the server operators."),
    Category("models", "Retrained models",
             "classifier models retrained on moderators' decisions (derived from comment "
             "texts; no text is kept in the model's files)",
             "the data directory's models folder; table model_versions",
             None, PUBLIC_TASK),
)

#: how to answer a subject access request, step by step (other tools add steps here)
SAR_STEPS: list[str] = [
    "Confirm the requester's identity and which platform account(s) they use; note the "
    "one-month deadline (UK GDPR Art. 12(3)).",
    "Find what socmon holds on each account: the author's platform id in the queue's "
    "search and the item views, and the audit trail (`socmon audit export`) for what was "
    "done about each flagged comment.",
    "Ask the designated safeguarding lead before disclosing anything from the safeguarding "
    "lane: information may be withheld where disclosure would be likely to cause serious "
    "harm or prejudice the safeguarding of a child (DPA 2018 Sch. 3).",
    "Remove other people's personal data (other authors, staff notes naming others) "
    "unless they consent or it is reasonable to disclose.",
    "Send the copy securely and record the request and the answer.",
]


@dataclass(frozen=True, slots=True)
class Entry:
    """One category as the record shows it for a given configuration."""

    category: Category
    retention: str
    viewers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Record:
    """The whole record for one configuration."""

    entries: tuple[Entry, ...]
    channels: tuple[str, ...]
    database: str
    classifier: str
    digest: str
    sar_steps: tuple[str, ...]


def role_title(role: Role) -> str:
    """A role as people write it ("safeguarding lead")."""
    return role.value.replace("_", " ")


def viewers(permission: Permission | None) -> tuple[str, ...]:
    """Who may see a category, from the roles' permissions (in the order of `Role`)."""
    if permission is None:
        return ("server operators only (not shown in the web UI)",)
    allowed = holders(permission)
    return tuple(role_title(role) for role in Role if role in allowed)


def retention(settings: Settings) -> dict[str, str]:
    """Each category's retention period in words, read from `retention` in the settings."""
    periods = {c.key: NO_PERIOD for c in CATEGORIES}
    periods["holds"] = ("for as long as socmon is used: a lifted hold stays as the account of "
                        "what was kept and why (no automatic purge)")
    periods["policy_cases"] = ("for as long as socmon is used: socmon cannot yet delete a "
                               "case (a known limit; an erasure request needs a server "
                               "operator to remove the row)")
    periods["org_rules"] = ("for as long as socmon is used: every version is the history of "
                            "how the organisation judges (no automatic purge)")
    periods.update(_purged(settings.retention))
    return periods


def _purged(r: Retention) -> dict[str, str]:
    """The categories the daily purge (`monitor.records.purge`) applies a period to."""
    flagged = _duration(r.flagged)
    periods = {
        "comments": (f"{_duration(r.clean)} from when read, for comments nothing was flagged "
                     "in; flagged ones as below"),
        "flagged": (f"{flagged} from the alert, once it is closed (open alerts wait), "
                    "evidence with it"),
        "quarantine": f"the payload: {flagged} from when it was set aside",
        "notes": f"{_duration(r.notes)} from when written",
        "safeguarding": (f"{_duration(r.safeguarding)} from the alert, then the DSL's review; "
                         "purged only once signed off"),
        "audit": (f"details only, after {_duration(r.audit_details)}; who, what and when are "
                  "kept"),
        "removals": (f"who asked, what, why, the address and the contact notes: {flagged} "
                     "from when the request was closed (open requests, and those whose "
                     "alert or item a legal hold covers, are kept); the dates, status and host are "
                     "kept"),
    }
    if not r.enabled:
        # `socmon records purge` still works by hand, with the same periods
        return {key: f"{PURGE_OFF}; `socmon records purge`, run by hand, applies: {period}"
                for key, period in periods.items()}
    return periods


def _duration(value: timedelta) -> str:
    hours = value.total_seconds() / 3600
    if hours >= 48 and hours % 24 == 0:
        return f"{hours / 24:g} days"
    return f"{hours:g} hour{'' if hours == 1 else 's'}"


def build(settings: Settings) -> Record:
    """The record for `settings`."""
    periods = retention(settings)
    entries = tuple(Entry(c, periods[c.key], viewers(c.permission)) for c in CATEGORIES)
    channels = tuple(f"{c.name} ({c.platform}{'' if c.enabled else ', disabled'})"
                     for c in settings.channels)
    database = ("PostgreSQL" if (settings.database_url or "").startswith("postgresql")
                else "SQLite, a file in socmon's data directory" if not settings.database_url
                else "the database at the configured database_url")
    deadlines = settings.routing.deadlines
    classifier = (f"{settings.classifier.name} classifier, sensitivity "
                  f"{settings.classifier.sensitivity:g}; deadlines: critical "
                  f"{_duration(deadlines.critical)}, high {_duration(deadlines.high)}, low "
                  f"{_duration(deadlines.low)}")
    d = settings.digest
    digest = (("weekly, to " + (f"{len(d.recipients)} recipient(s)" if d.recipients
                                else "no recipients yet")) if d.enabled else "not sent")
    digest += (f"; quotations {'allowed' if d.quote_abusive_text else 'off'}, account names "
               f"{'shown' if d.show_account_names else 'off'}")
    return Record(entries, channels, database, classifier, digest, tuple(SAR_STEPS))


def markdown(record: Record) -> str:
    """The record as Markdown (docs/privacy.md is this for the default configuration)."""
    lines = [
        "# What socmon holds and why",
        "",
        "<!-- Generated by `socmon privacy record --markdown` from the default configuration;"
        " do not edit by hand (a test compares them). -->",
        "",
        "A record for the data protection officer: each kind of data socmon holds, where, for "
        "how long, who can see it, and the lawful basis a school or charity would usually "
        "rely on. The lawful bases are guidance, not legal advice: confirm them with your "
        "data protection officer. Run `socmon privacy record` with your own configuration "
        "(or open Records → What we hold and why in the web UI) for the record of your "
        "installation.",
        "",
        "## This installation",
        "",
        "- Channels watched: " + (", ".join(record.channels) or "none configured"),
        f"- Database: {record.database}",
        f"- Judging: {record.classifier}",
        f"- Digest: {record.digest}",
        "",
        "## What is held",
        "",
    ]
    for entry in record.entries:
        c = entry.category
        lines += [
            f"### {c.title}",
            "",
            f"- What: {c.what}",
            f"- Where: {c.where}",
            f"- Kept for: {entry.retention}",
            f"- Who can see it: {', '.join(entry.viewers)}",
            f"- Lawful basis (guidance): {c.basis}",
        ]
        if c.note:
            lines.append(f"- Note: {c.note}")
        lines.append("")
    lines += ["## Answering a subject access request", ""]
    lines += [f"{n}. {step}" for n, step in enumerate(record.sar_steps, start=1)]
    return "\n".join(lines) + "\n"
