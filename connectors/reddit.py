"""Reddit connector: a subreddit the organisation moderates, through praw 8 / prawcore 4.

Polling design (one request when nothing is new, not counting praw's cached OAuth token grant):

* Every poll starts with ONE request to ``/r/<sub>/comments`` (newest comments of the whole
  subreddit). Right after a poll that found something it is anchored (``before=<newest
  fullname>``, which returns only what is newer, oldest-adjacent first, so pages can be
  committed one by one). After an empty answer the next poll is un-anchored (newest 100,
  minus a rotating 0-29 to dodge Reddit's listing cache, as praw's own stream does) and
  filtered by the seen-set and the ``created_utc`` watermark minus an overlap. That is the
  guard against an anchor that was deleted or removed: Reddit then answers ``before=`` with
  an empty listing for ever, and the un-anchored poll finds the new items anyway.
* An un-anchored page made only of new items may hide more new items below it: the same
  pass then sweeps older pages (``after=``) down to known items; progress is promoted only
  when the sweep ends (newest-first results).
* New submissions (``/new``) and the moderation listings (modqueue, reports) cost one
  request each, so they are fetched on a slower cadence (``slow_interval_seconds``, as more
  pages of the same pass). Trade-off: a new post or a report on an item already ingested is
  seen up to that interval later; new comments are seen on every poll.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Final, Literal, TypeVar

import praw
import praw.exceptions
import prawcore
import prawcore.exceptions as pce
from praw.endpoints import API_PATH
from pydantic import Field, field_validator

from connectors.base import (
    Action,
    AuthError,
    Capability,
    ConnectorError,
    ConnectorOptions,
    Cursor,
    FatalError,
    Item,
    ItemGone,
    ItemKind,
    ItemRef,
    NotSupported,
    Page,
    RateLimited,
    TransientError,
    Unreadable,
    Visibility,
)
from connectors.http import CountingSession, make_session, retry_after_seconds
from connectors.registry import secret_env_name

log = logging.getLogger(__name__)

T = TypeVar("T")

CURSOR_VERSION: Final = 1
#: Reddit answers at most 100 things per listing request
PAGE_LIMIT: Final = 100
#: praw's stream lowers the un-anchored limit by 0..29 so repeated polls miss Reddit's cache
LIMIT_ROTATION: Final = 30
#: fullnames remembered to drop re-reads (praw's stream keeps 301)
SEEN_MAX: Final = 300
#: Reddit listings stop at about 1000 things, i.e. 10 pages
MAX_SWEEP_PAGES: Final = 10
#: when a 429 carries no reset header, wait this long
DEFAULT_RATE_LIMIT_WAIT: Final = 60.0
WEB_URL: Final = "https://www.reddit.com"

_FULLNAME = re.compile(r"t[13]_[0-9a-z]{1,13}")
_SUBREDDIT = re.compile(r"[A-Za-z0-9_]{2,21}")
_WAIT = re.compile(r"(\d+)\s*(second|minute|hour)", re.IGNORECASE)

SlowListing = Literal["submissions", "modqueue", "reports", "spam"]
_SLOW_PATHS: Final[Mapping[str, str]] = {
    "submissions": "r/{subreddit}/new/",
    "modqueue": API_PATH["about_modqueue"],
    "reports": API_PATH["about_reports"],
    "spam": API_PATH["about_spam"],
}


class RedditOptions(ConnectorOptions):
    """Non-secret options of a Reddit channel."""

    subreddit: str
    user_agent: str | None = None
    #: API base (default https://oauth.reddit.com); point at an emulator for tests/demos
    oauth_url: str | None = None
    #: token endpoint base (default https://www.reddit.com)
    reddit_url: str | None = None
    #: remove as spam: also trains the subreddit's spam filter against the author
    remove_as_spam: bool = False
    #: removal reason id of the subreddit, recorded with each removal (a second request)
    removal_reason_id: str | None = None
    timeout_seconds: float = Field(default=16.0, gt=0, le=120)
    slow_interval_seconds: int = Field(default=600, ge=0)
    slow_listings: tuple[SlowListing, ...] = ("submissions", "modqueue", "reports")
    overlap_seconds: int = Field(default=300, ge=0, le=86_400)

    @field_validator("subreddit")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        name = value.strip().removeprefix("/").removeprefix("r/")
        if not _SUBREDDIT.fullmatch(name):
            raise ValueError("a subreddit name is 2-21 letters, digits or underscores")
        return name


# --------------------------------------------------------------------------- errors as data


class Outcome(StrEnum):
    """What a platform error means for socmon."""

    TRANSIENT = "transient"
    RATE_LIMITED = "rate_limited"
    AUTH = "auth"
    PERMISSION = "permission"
    GONE = "gone"
    FATAL = "fatal"


#: THE error table: SDK exception classes (resolved along the MRO, so the most specific
#: entry wins), HTTP statuses (for a bare ResponseException) and Reddit API error codes
#: (inside praw's RedditAPIException).
ERROR_TABLE: Final[Mapping[type[BaseException] | int | str, Outcome]] = {
    pce.TooManyRequests: Outcome.RATE_LIMITED,
    pce.InvalidToken: Outcome.AUTH,
    pce.OAuthException: Outcome.AUTH,  # token grant refused (invalid_grant: bad password)
    pce.InsufficientScope: Outcome.PERMISSION,
    pce.Forbidden: Outcome.PERMISSION,
    pce.NotFound: Outcome.GONE,
    pce.ServerError: Outcome.TRANSIENT,  # 5xx, after prawcore's own two retries
    pce.RequestException: Outcome.TRANSIENT,  # timeouts, refused connections (retried twice)
    pce.BadJSON: Outcome.TRANSIENT,
    pce.Redirect: Outcome.FATAL,  # an unknown subreddit redirects to the search page
    pce.BadRequest: Outcome.FATAL,
    pce.Conflict: Outcome.FATAL,
    pce.TooLarge: Outcome.FATAL,
    pce.URITooLong: Outcome.FATAL,
    pce.SpecialError: Outcome.FATAL,
    pce.UnavailableForLegalReasons: Outcome.FATAL,
    pce.InvalidInvocation: Outcome.FATAL,
    praw.exceptions.ClientException: Outcome.FATAL,
    praw.exceptions.RedditAPIException: Outcome.FATAL,
    401: Outcome.AUTH,  # e.g. client id/secret rejected at the token endpoint
    403: Outcome.PERMISSION,
    404: Outcome.GONE,
    408: Outcome.TRANSIENT,
    429: Outcome.RATE_LIMITED,
    500: Outcome.TRANSIENT,
    502: Outcome.TRANSIENT,
    503: Outcome.TRANSIENT,
    504: Outcome.TRANSIENT,
    520: Outcome.TRANSIENT,
    522: Outcome.TRANSIENT,
    # error codes from reddit's API (`{"json": {"errors": [[code, message, field]]}}`)
    "RATELIMIT": Outcome.RATE_LIMITED,
    "USER_REQUIRED": Outcome.AUTH,
    "NO_THING_ID": Outcome.GONE,
    "DELETED_COMMENT": Outcome.GONE,
    "DELETED_LINK": Outcome.GONE,
    "SUBREDDIT_NOEXIST": Outcome.FATAL,
}


def _lookup(exc: BaseException) -> tuple[Outcome, str | None]:
    """The table's outcome for `exc`, with the Reddit error code when one decided it."""
    if isinstance(exc, praw.exceptions.RedditAPIException):
        for item in exc.items:
            outcome = ERROR_TABLE.get(item.error_type)
            if outcome is not None:
                return outcome, item.error_type
    for cls in type(exc).__mro__:
        outcome = ERROR_TABLE.get(cls)
        if outcome is not None:
            return outcome, None
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        outcome = ERROR_TABLE.get(status)
        if outcome is not None:
            return outcome, None
        return (Outcome.TRANSIENT if status >= 500 else Outcome.FATAL), None
    # Anything else escaping praw is a malformed answer it could not digest (a token reply
    # without `access_token` raises KeyError inside prawcore): retry later, say what it was.
    return Outcome.TRANSIENT, None


def _retry_after(exc: BaseException) -> float:
    if isinstance(exc, praw.exceptions.RedditAPIException):
        for item in exc.items:
            match = _WAIT.search(item.message or "")
            if match:
                scale = {"second": 1, "minute": 60, "hour": 3600}[match.group(2).lower()]
                return float(int(match.group(1)) * scale)
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        wait = retry_after_seconds(dict(headers), now_epoch=time.time())
        if wait is not None:
            return wait
    return DEFAULT_RATE_LIMIT_WAIT


def map_error(exc: BaseException, *, doing: str, needs: str = "") -> ConnectorError:
    """Turn a praw/prawcore exception into socmon's error classes, via ERROR_TABLE.

    `doing` says what was attempted ("listing r/x comments"); `needs` names the moderator
    permission or OAuth scope the call requires, for 403 answers.
    """
    outcome, code = _lookup(exc)
    what = f"{type(exc).__name__}{f' {code}' if code else ''}"
    if outcome is Outcome.RATE_LIMITED:
        wait = _retry_after(exc)
        return RateLimited(f"Reddit rate limit while {doing} ({what}); retry in {wait:.0f} s", wait)
    if outcome is Outcome.AUTH:
        return AuthError(f"Reddit rejected the credentials while {doing} ({what}): {exc}")
    if outcome is Outcome.PERMISSION:
        return AuthError(
            f"Reddit refused {doing} ({what}): the account needs {needs or 'more rights'}"
        )
    if outcome is Outcome.GONE:
        return ItemGone(f"Reddit has no such thing while {doing} ({what})")
    if outcome is Outcome.TRANSIENT:
        return TransientError(f"Reddit trouble while {doing} ({what}): {exc}")
    return FatalError(f"Reddit refused {doing} ({what}): {exc}")


# --------------------------------------------------------------------------- cursor state


@dataclass
class _Pass:
    """An unfinished poll pass (kept in the cursor between pages)."""

    stage: str  # "comments", "sweep", or one of the slow listings
    started: float
    after: str | None = None
    top: str | None = None
    top_utc: float | None = None
    found: list[str] = field(default_factory=list)
    pages: int = 0


@dataclass
class _State:
    """The cursor's state; see docs/connectors/reddit.md for the JSON shape."""

    newest: str | None = None
    newest_utc: float | None = None
    seen: list[str] = field(default_factory=list)
    anchored: bool = False
    probe: int = 0
    slow_at: float | None = None
    slow_seen: list[str] = field(default_factory=list)
    current: _Pass | None = None

    @classmethod
    def load(cls, cursor: Cursor | None) -> _State:
        if cursor is None:
            return cls()
        if cursor.version != CURSOR_VERSION:
            # A cursor from another version of this connector: start over. The first poll
            # then reads the newest page; the store drops whatever was already ingested.
            log.info("reddit cursor version %s unknown; starting over", cursor.version)
            return cls()
        s = cursor.state
        try:
            raw_pass = s.get("pass")
            current = _Pass(**raw_pass) if isinstance(raw_pass, dict) else None
            return cls(
                newest=_opt_str(s.get("newest")),
                newest_utc=_opt_float(s.get("newest_utc")),
                seen=[str(x) for x in s.get("seen") or []],
                anchored=bool(s.get("anchored", False)),
                probe=int(s.get("probe", 0)) % LIMIT_ROTATION,
                slow_at=_opt_float(s.get("slow_at")),
                slow_seen=[str(x) for x in s.get("slow_seen") or []],
                current=current,
            )
        except (TypeError, ValueError):
            log.warning("reddit cursor state unreadable; starting over")
            return cls()

    def dump(self) -> Cursor:
        state: dict[str, Any] = {
            "newest": self.newest,
            "newest_utc": self.newest_utc,
            "seen": self.seen[-SEEN_MAX:],
            "anchored": self.anchored,
            "probe": self.probe,
            "slow_at": self.slow_at,
            "slow_seen": self.slow_seen[-SEEN_MAX:],
            "pass": None,
        }
        if self.current is not None:
            p = self.current
            state["pass"] = {
                "stage": p.stage, "started": p.started, "after": p.after, "top": p.top,
                "top_utc": p.top_utc, "found": p.found, "pages": p.pages,
            }
        return Cursor(version=CURSOR_VERSION, state=state)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_float(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float | str):
        return float(value)
    raise TypeError("not a number")


def _remember(seen: list[str], names: Sequence[str]) -> list[str]:
    """Append `names` (oldest first) to a bounded, duplicate-free recency list."""
    fresh = [n for n in names if n not in set(seen)]
    return (seen + fresh)[-SEEN_MAX:]


# --------------------------------------------------------------------------- parsed things


@dataclass(frozen=True, slots=True)
class _Thing:
    item: Item
    utc: float


def _order_key(thing: _Thing) -> tuple[float, int]:
    # Base-36 ids are handed out in increasing order: a tiebreak within one second.
    return thing.utc, int(thing.item.external_id[3:], 36)


class RedditConnector:
    """A moderated subreddit: new comments and posts, the modqueue and reports; remove/approve."""

    platform: ClassVar[str] = "reddit"
    sorted_results: ClassVar[bool] = False
    min_poll_interval: ClassVar[timedelta] = timedelta(seconds=60)
    options_model: ClassVar[type[ConnectorOptions]] = RedditOptions
    secret_names: ClassVar[tuple[str, ...]] = ("client_id", "client_secret", "username", "password")

    def __init__(
        self, *, channel: str, options: ConnectorOptions, secrets: Mapping[str, str]
    ) -> None:
        """Build praw for one channel; no request is made until the first call."""
        if not isinstance(options, RedditOptions):
            raise FatalError(
                f"channel {channel}: expected RedditOptions, got {type(options).__name__}"
            )
        missing = [name for name in self.secret_names if not secrets.get(name)]
        if missing:
            raise AuthError(
                f"channel {channel}: missing Reddit secrets "
                + ", ".join(secret_env_name(channel, m) for m in missing)
            )
        self.channel = channel
        self.options = options
        #: the current page's entries that could not be read (see `_set_aside`)
        self.unreadable: list[Unreadable] = []
        self._username = secrets["username"]
        self.session: CountingSession = make_session(timeout=options.timeout_seconds)
        endpoints: dict[str, str] = {}
        if options.oauth_url:
            endpoints["oauth_url"] = options.oauth_url.rstrip("/")
        if options.reddit_url:
            endpoints["reddit_url"] = options.reddit_url.rstrip("/")
        user_agent = options.user_agent or f"python:socmon.{channel}:1.0 (by /u/{self._username})"
        self.reddit = praw.Reddit(
            client_id=secrets["client_id"],
            client_secret=secrets["client_secret"],
            username=self._username,
            password=secrets["password"],
            user_agent=user_agent,
            requestor_class=_TimeoutRequestor,
            requestor_kwargs={"session": self.session, "timeout": options.timeout_seconds},
            check_for_updates=False,
            check_for_async=False,
            **endpoints,
        )

    # ------------------------------------------------------------------ capabilities

    def capabilities(self) -> Sequence[Capability]:
        """Only delete (moderator remove): Reddit has no hide."""
        sub = self.options.subreddit
        spam = (
            " It is removed as spam, which also trains r/{sub}'s spam filter against the author."
            if self.options.remove_as_spam
            else ""
        ).format(sub=sub)
        return [
            Capability(
                Action.DELETE,
                f"Moderator removal on r/{sub}: the item disappears for everyone else, but its "
                "author still sees it (on their profile and in the thread) and is not told; "
                "moderators can approve it back to undo a false positive." + spam,
            )
        ]

    # ------------------------------------------------------------------ polling

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Page:
        """One page of the current pass: comments first, then the slow listings when due."""
        state = _State.load(cursor)
        now_epoch = now.timestamp()
        start = self.session.request_count
        self.unreadable = []
        if state.current is None:
            state.current = _Pass(stage="comments", started=now_epoch)
        stage = state.current.stage
        if stage == "comments":
            items = self._comments_page(state, now_epoch)
        elif stage == "sweep":
            items = self._sweep_page(state, now_epoch)
        else:
            items = self._slow_page(state, stage)
        more = state.current is not None
        return Page(
            items=items, cursor=state.dump(), more=more,
            requests=self.session.request_count - start, unreadable=tuple(self.unreadable),
        )

    def _comments_page(self, state: _State, now_epoch: float) -> list[Item]:
        current = state.current
        assert current is not None
        path = API_PATH["subreddit"].format(subreddit=self.options.subreddit) + "comments/"
        if state.anchored and state.newest:
            params: dict[str, str | int] = {"before": state.newest, "limit": PAGE_LIMIT}
            things = self._listing(path, params)
            fresh = [t for t in things if t.item.external_id not in set(state.seen)]
            if not fresh:
                # Nothing new, or the anchor was deleted/removed (Reddit then answers an
                # empty listing for ever): the next poll asks un-anchored.
                state.anchored = False
                self._comments_done(state, now_epoch)
                return []
            # `before=` pages are contiguous and adjacent to the anchor, so each page's
            # progress can be kept at once; a full page means more may follow.
            self._promote(state, fresh, now_epoch)
            if len(things) < PAGE_LIMIT:
                self._comments_done(state, now_epoch)
            return self._items(fresh)
        limit = PAGE_LIMIT - state.probe
        state.probe = (state.probe + 1) % LIMIT_ROTATION
        things = self._listing(path, {"limit": limit})
        fresh = [t for t in things if self._is_new(state, t)]
        state.anchored = bool(fresh)
        gap = (
            state.newest_utc is not None
            and len(things) >= limit
            and len(fresh) == len(things)
        )
        if gap:
            # Every item of the newest page is new: more new items may lie below it. Sweep
            # older pages; the watermark moves only when the sweep reaches known items.
            top = max(fresh, key=_order_key)
            current.stage = "sweep"
            current.after = things[-1].item.external_id
            current.top, current.top_utc = top.item.external_id, top.utc
            current.found = [t.item.external_id for t in fresh]
            current.pages = 1
            return self._items(fresh)
        if fresh:
            self._promote(state, fresh, now_epoch)
        self._comments_done(state, now_epoch)
        return self._items(fresh)

    def _sweep_page(self, state: _State, now_epoch: float) -> list[Item]:
        current = state.current
        assert current is not None
        path = API_PATH["subreddit"].format(subreddit=self.options.subreddit) + "comments/"
        params: dict[str, str | int] = {"after": current.after or "", "limit": PAGE_LIMIT}
        things = self._listing(path, params)
        already = set(current.found)
        fresh = [t for t in things if self._is_new(state, t) and t.item.external_id not in already]
        current.found.extend(t.item.external_id for t in fresh)
        current.pages += 1
        if not things and current.pages < MAX_SWEEP_PAGES and current.after in current.found:
            # The `after=` anchor was deleted since the last page (Reddit then lists
            # nothing): step back to the next newer item of this pass and ask again.
            position = current.found.index(current.after)
            if position > 0:
                current.after = current.found[position - 1]
                return []
        done = (
            len(fresh) < len(things)
            or len(things) < PAGE_LIMIT
            or current.pages >= MAX_SWEEP_PAGES
        )
        if not done:
            current.after = things[-1].item.external_id
            return self._items(fresh)
        if current.pages >= MAX_SWEEP_PAGES and len(fresh) == len(things):
            log.warning(
                "reddit %s: more new comments than Reddit lists (%d pages); older ones skipped",
                self.channel, current.pages,
            )
        # Promote the pass: newest = the top of the first page (capped at the poll start).
        state.newest = current.top
        state.newest_utc = min(current.top_utc or now_epoch, current.started)
        state.seen = _remember(state.seen, list(reversed(current.found)))
        state.anchored = True
        self._comments_done(state, now_epoch)
        return self._items(fresh)

    def _comments_done(self, state: _State, now_epoch: float) -> None:
        """Comments are up to date: go on to the slow listings when due, else end the pass."""
        current = state.current
        assert current is not None
        listings = self.options.slow_listings
        due = listings and (
            state.slow_at is None
            or now_epoch - state.slow_at >= self.options.slow_interval_seconds
        )
        if due:
            current.stage, current.after, current.found, current.pages = listings[0], None, [], 0
        else:
            state.current = None

    def _slow_page(self, state: _State, stage: str) -> list[Item]:
        current = state.current
        assert current is not None
        listings = list(self.options.slow_listings)
        path = _SLOW_PATHS.get(stage)
        if path is None or stage not in listings:
            # The options changed between two pages of a pass: end the slow part.
            state.slow_at, state.current = current.started, None
            return []
        things = self._listing(path.format(subreddit=self.options.subreddit), {"limit": PAGE_LIMIT})
        known = set(state.seen) | set(state.slow_seen)
        fresh = [t for t in things if t.item.external_id not in known]
        ordered = sorted(fresh, key=_order_key)
        state.slow_seen = _remember(state.slow_seen, [t.item.external_id for t in ordered])
        position = listings.index(stage)
        if position + 1 < len(listings):
            current.stage = listings[position + 1]
        else:
            state.slow_at, state.current = current.started, None
        return self._items(fresh)

    def _is_new(self, state: _State, thing: _Thing) -> bool:
        if thing.item.external_id in set(state.seen):
            return False
        if state.newest_utc is None:
            return True
        return thing.utc >= state.newest_utc - self.options.overlap_seconds

    @staticmethod
    def _promote(state: _State, fresh: Sequence[_Thing], now_epoch: float) -> None:
        ordered = sorted(fresh, key=_order_key)
        newest = ordered[-1]
        if state.newest_utc is None or newest.utc >= state.newest_utc:
            state.newest = newest.item.external_id
            # never move the watermark past the poll's start (clock skew on either side)
            state.newest_utc = min(newest.utc, now_epoch)
        state.seen = _remember(state.seen, [t.item.external_id for t in ordered])

    @staticmethod
    def _items(things: Sequence[_Thing]) -> list[Item]:
        return [t.item for t in sorted(things, key=_order_key)]

    def _listing(self, path: str, params: dict[str, str | int]) -> list[_Thing]:
        """GET one listing page (raw JSON, so `Item.raw` keeps Reddit's payload verbatim)."""
        doing = f"listing {path}"
        needs = "moderator permission 'posts' (Manage Posts & Comments) and the OAuth scope 'read'"
        try:
            payload = self._call(
                doing, needs, lambda: self.reddit.request(method="GET", path=path, params=params)
            )
        except ItemGone as exc:
            # A listing that is not there means the subreddit is gone or banned, not an item.
            raise FatalError(f"r/{self.options.subreddit} not found while {doing}") from exc
        data = payload.get("data") if isinstance(payload, dict) else None
        children = data.get("children") if isinstance(data, dict) else None
        if not isinstance(children, list):
            raise TransientError(f"Reddit answered {doing} without a listing (no data.children)")
        things: list[_Thing] = []
        for child in children:
            thing = self._parse(child)
            if thing is not None:
                things.append(thing)
        return things

    def _parse(self, child: object) -> _Thing | None:
        """One listing child as an Item; None (logged without text) when it can't be read."""
        kind = child.get("kind") if isinstance(child, dict) else None
        data = child.get("data") if isinstance(child, dict) else None
        name = data.get("name") if isinstance(data, dict) else None
        if not isinstance(child, dict) or kind not in {"t1", "t3"} or not isinstance(data, dict):
            self._set_aside(f"a listing entry of kind {repr(kind)[:40]}", child)
            return None
        created = data.get("created_utc")
        if (
            not isinstance(name, str)
            or not _FULLNAME.fullmatch(name)
            or isinstance(created, bool)
            or not isinstance(created, int | float)
        ):
            shown = repr(name)[:40]  # the platform's id field, cut short: never a text
            self._set_aside(f"{kind} {shown}: no valid name/created_utc", child,
                            name if isinstance(name, str) else None)
            return None
        try:
            created_at = datetime.fromtimestamp(float(created), tz=UTC)
        except (OverflowError, ValueError, OSError):  # NaN, or outside the calendar
            self._set_aside(f"{kind} {name}: created_utc out of range", child, name)
            return None
        author = data.get("author")
        author_name = author if isinstance(author, str) else None
        permalink = data.get("permalink")
        linked = isinstance(permalink, str) and permalink[:1] == "/"
        url = f"{WEB_URL}{permalink}" if linked else None
        if kind == "t1":
            parent = _opt_str(data.get("parent_id"))
            item_kind = ItemKind.REPLY if parent and parent.startswith("t1_") else ItemKind.COMMENT
            text = str(data.get("body") or "")
            thread = _opt_str(data.get("link_id"))
            if url is None and thread and thread.startswith("t3_"):
                # older answers carry no permalink; Reddit resolves this short form
                url = f"{WEB_URL}/comments/{thread[3:]}/_/{name[3:]}/"
        else:
            parent, item_kind, thread = None, ItemKind.POST, name
            title, selftext = str(data.get("title") or ""), str(data.get("selftext") or "")
            text = f"{title}\n\n{selftext}" if selftext else title
            url = url or f"{WEB_URL}/comments/{name[3:]}/"
        item = Item(
            platform=self.platform,
            external_id=name,
            kind=item_kind,
            text=text,
            created_at=created_at,
            author_id=_opt_str(data.get("author_fullname")),
            author_name=author_name,
            url=url,
            parent_id=parent,
            thread_id=thread,
            is_own=author_name is not None and author_name.lower() == self._username.lower(),
            raw=child,
        )
        return _Thing(item=item, utc=float(created))

    def _set_aside(self, what: str, raw: object, external_id: str | None = None) -> None:
        """A listing entry that cannot be read as an item: returned with the page, for the
        monitor to quarantine, and logged by `what` (never by its text)."""
        log.warning("reddit %s: set aside %s", self.channel, what)
        self.unreadable.append(Unreadable(what, raw, external_id))

    # ------------------------------------------------------------------ takedown

    def hide(self, ref: ItemRef) -> None:
        """Reddit has no hide: always NotSupported (use delete, a moderator removal)."""
        raise NotSupported(
            "Reddit has no hide; delete removes it as a moderator (its author still sees it)"
        )

    def delete(self, ref: ItemRef) -> None:
        """Remove as a moderator (spam per options); removing a removed item is a no-op on Reddit.

        One request (two with a removal reason). A fullname Reddit does not know -> ItemGone.
        """
        thing = self._thing(ref)
        spam = self.options.remove_as_spam
        reason = self.options.removal_reason_id
        self._call(
            f"removing {ref.external_id}",
            "moderator permission 'posts' (Manage Posts & Comments) and the OAuth scope 'modposts'",
            lambda: thing.mod.remove(spam=spam, reason_id=reason),
        )
        log.info("reddit %s: removed %s (spam=%s)", self.channel, ref.external_id, spam)

    def approve(self, ref: ItemRef) -> None:
        """Approve an item (undo a removal that was a false positive); idempotent."""
        thing = self._thing(ref)
        self._call(
            f"approving {ref.external_id}",
            "moderator permission 'posts' (Manage Posts & Comments) and the OAuth scope 'modposts'",
            lambda: thing.mod.approve(),
        )
        log.info("reddit %s: approved %s", self.channel, ref.external_id)

    def check(self, ref: ItemRef) -> Visibility:
        """Look the item up with /api/info: removed, gone, or still visible."""
        _fullname(ref)
        found = self._call(
            f"looking up {ref.external_id}",
            "the OAuth scope 'read'",
            lambda: list(self.reddit.info(fullnames=[ref.external_id])),
        )
        if not found:
            return Visibility.GONE
        return visibility_of(vars(found[0]))

    def _thing(self, ref: ItemRef) -> Any:
        fullname = _fullname(ref)
        kind, _, base36 = fullname.partition("_")
        return self.reddit.comment(base36) if kind == "t1" else self.reddit.submission(base36)

    # ------------------------------------------------------------------ credentials

    def check_credentials(self) -> Sequence[str]:
        """One call (the moderator list of the subreddit, filtered to our account)."""
        sub = self.options.subreddit
        path = API_PATH["list_moderator"].format(subreddit=sub)
        env = {name: secret_env_name(self.channel, name) for name in self.secret_names}
        try:
            payload = self.reddit.request(method="GET", path=path, params={"user": self._username})
        except pce.OAuthException as exc:
            return [
                f"Reddit refused the login of u/{self._username} ({exc.error}): check "
                f"{env['username']} and {env['password']} (a script app needs the password of "
                "one of its developers, and no two-factor authentication)"
            ]
        except pce.ResponseException as exc:
            status = exc.response.status_code
            if status == 401 and exc.response.url.endswith("/access_token"):
                return [
                    "Reddit rejected the app credentials: check "
                    f"{env['client_id']} and {env['client_secret']}"
                ]
            doing = f"reading the moderators of r/{sub}"
            return [str(map_error(exc, doing=doing, needs="the OAuth scope 'read'"))]
        except Exception as exc:  # turned into a sentence for the operator, not swallowed
            return [str(map_error(exc, doing=f"reading the moderators of r/{sub}"))]
        problems: list[str] = []
        data = payload.get("data") if isinstance(payload, dict) else None
        children = data.get("children") if isinstance(data, dict) else None
        mods = [c for c in children or [] if isinstance(c, dict)]
        me = next((m for m in mods if str(m.get("name", "")).lower() == self._username.lower()),
                  None)
        if me is None:
            problems.append(
                f"u/{self._username} is not a moderator of r/{sub}: invite it with the "
                "'Manage Posts & Comments' (posts) permission"
            )
        else:
            perms = {str(p) for p in me.get("mod_permissions") or []}
            if not perms & {"all", "posts"}:
                problems.append(
                    f"u/{self._username} moderates r/{sub} without the 'Manage Posts & Comments' "
                    "(posts) permission needed to read the modqueue and to remove or approve"
                )
        scopes = self._call("reading the token scopes", "", self.reddit.auth.scopes)
        wanted = {"read", "modposts"}
        if "*" not in scopes and not wanted <= scopes:
            problems.append(
                "the OAuth token lacks the scopes " + ", ".join(sorted(wanted - scopes))
            )
        return problems

    # ------------------------------------------------------------------ plumbing

    def _wait_pending(self) -> float:
        """Seconds prawcore would sleep before its next request (0 when none)."""
        # prawcore sleeps inside the request until its rate-limit window resets (up to ten
        # minutes); asleep there, a poll or a takedown would block the daemon's worker. Its
        # limiter is private API, read defensively: if it moves, we simply never pre-empt.
        waits = [0.0]
        for core in (getattr(self.reddit, "_authorized_core", None),
                     getattr(self.reddit, "_read_only_core", None)):
            limiter = getattr(core, "_rate_limiter", None)
            next_ns = getattr(limiter, "next_request_timestamp_ns", None)
            if isinstance(next_ns, int):
                waits.append((next_ns - time.monotonic_ns()) / 1e9)
        return max(waits)

    def _call(self, doing: str, needs: str, fn: Callable[[], T]) -> T:
        """Run one SDK call, mapping its exceptions through ERROR_TABLE."""
        pending = self._wait_pending()
        if pending > 1.0:
            raise RateLimited(f"reddit rate limit: {doing} must wait {pending:.0f}s",
                              retry_after=pending)
        try:
            return fn()
        except ConnectorError:
            raise
        except Exception as exc:
            error = map_error(exc, doing=doing, needs=needs)
            log.warning("reddit %s: %s", self.channel, error)
            raise error from exc


def _fullname(ref: ItemRef) -> str:
    if not _FULLNAME.fullmatch(ref.external_id):
        raise FatalError(f"not a Reddit comment or post fullname: {ref.external_id!r}")
    return ref.external_id


def visibility_of(data: Mapping[str, Any]) -> Visibility:
    """Visibility of a thing's data (raw JSON, or `vars()` of a praw object) as a moderator sees it.

    Moderators see `removed`, `banned_by` (the remover) and `spam`; others see "[removed]".
    """
    body = data.get("body")
    category = data.get("removed_by_category")
    # An author's deletion keeps the thing with "[deleted]" text; a comment whose *account*
    # was deleted (author None, text intact) is still visible, so the author alone says nothing.
    if "[deleted]" in {body, data.get("selftext")} or category == "deleted":
        return Visibility.GONE
    if (
        data.get("removed")
        or data.get("banned_by")
        or data.get("spam")
        or body == "[removed]"
        or category is not None
    ):
        return Visibility.REMOVED
    return Visibility.VISIBLE


class _TimeoutRequestor(prawcore.Requestor):
    """prawcore passes its fixed 16 s default on every API call; use the channel's timeout."""

    def request(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        """Send with the configured timeout."""
        return super().request(*args, timeout=self.timeout, **kwargs)
