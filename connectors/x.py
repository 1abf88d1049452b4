"""X (API v2) via tweepy.Client: mentions, replies in the organisation's threads, its own posts."""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal

import requests
import tweepy
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
from connectors.http import make_session, retry_after_seconds
from connectors.registry import secret_env_name

log = logging.getLogger(__name__)

#: tweepy 4.17 hard-codes this host; a channel's `api_url` is reached by rewriting it
API_HOST = "https://api.twitter.com"
CURSOR_VERSION = 1
#: Snowflake ids carry their creation time: (id >> 22) + this epoch, in milliseconds
SNOWFLAKE_EPOCH_MS = 1288834974657
#: recent search reaches back this far; older `since_id`s are replaced by a start time
RECENT_SEARCH_WINDOW = timedelta(days=7)
#: margin so a start time computed here is still inside the window when X receives it
WINDOW_MARGIN = timedelta(minutes=1)
#: cap on remembered conversation roots, to keep the cursor small
MAX_ROOTS = 100
TWEET_FIELDS = [
    "author_id",
    "conversation_id",
    "created_at",
    "in_reply_to_user_id",
    "referenced_tweets",
    "note_tweet",
]
EXPANSIONS = ["author_id"]
USER_FIELDS = ["username", "name"]
OAUTH1_SECRETS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
_DIGITS = re.compile(r"[0-9]{1,20}")
_USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")


class XOptions(ConnectorOptions):
    """Options of an X channel (the organisation's own account)."""

    #: numeric id of the organisation's account (`socmon channels check` prints it)
    user_id: str
    #: handle of the organisation's account, without "@"
    username: str
    #: base URL replacing https://api.twitter.com (a local emulator); None = the real API
    api_url: str | None = None
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    #: page size: 10..100 (the recent-search bounds; mentions accept 5..100)
    max_results: int = Field(default=100, ge=10, le=100)
    #: "search": one recent-search query covers mentions, replies and own posts (default);
    #: "mentions": the mentions timeline only (reaches 800 mentions back, not 7 days)
    poll_mode: Literal["search", "mentions"] = "search"
    #: the access tier's query-length limit (512 Basic, 1024 Pro, 4096 Enterprise)
    max_query_length: int = Field(default=512, ge=128, le=4096)
    #: how long a conversation started by the organisation is searched for replies
    conversation_days: int = Field(default=14, ge=1, le=90)

    @field_validator("user_id", mode="before")
    @classmethod
    def _user_id_digits(cls, value: Any) -> str:
        """Accept a YAML integer; X user ids are decimal digits."""
        text = str(value).strip()
        if not _DIGITS.fullmatch(text):
            raise ValueError("must be the account's numeric id, e.g. 783214")
        return text

    @field_validator("username", mode="before")
    @classmethod
    def _plain_username(cls, value: Any) -> str:
        """Accept "@handle" or "handle"; reject what cannot be a handle."""
        text = str(value).strip().removeprefix("@")
        if not _USERNAME.fullmatch(text):
            raise ValueError("must be an X handle: 1-15 letters, digits or underscores")
        return text


# ---------------------------------------------------------------------------------------
# Errors as data: ONE table, first matching row wins.
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErrorRule:
    """One row of the error table: what an SDK or transport exception means for socmon."""

    exc: type[BaseException] | tuple[type[BaseException], ...]
    #: the HTTP status tweepy raises `exc` for (documentation; None = not an HTTP status)
    status: int | None
    error: type[ConnectorError]
    meaning: str
    #: the row applies only when the API's problem text contains one of these (lowercase)
    detail_contains: tuple[str, ...] = ()


#: 403 problems that are about the app or the token, not about one item
_AUTH_403 = (
    "client-not-enrolled",
    "client forbidden",
    "unsupported authentication",
    "unsupported-authentication",
    "oauth",
    "access level",
    "suspended",
    "not permitted to perform this action",
)

ERROR_TABLE: tuple[ErrorRule, ...] = (
    ErrorRule(tweepy.TooManyRequests, 429, RateLimited,
              "X rate limit reached; the channel waits until x-rate-limit-reset"),
    ErrorRule(tweepy.Unauthorized, 401, AuthError,
              "X rejected the credentials (expired, revoked or wrong token): re-authorise"),
    ErrorRule(tweepy.Forbidden, 403, AuthError,
              "X refused the app or token (access level, project enrolment or auth type)",
              detail_contains=_AUTH_403),
    ErrorRule(tweepy.Forbidden, 403, FatalError, "X refused this action on this item"),
    ErrorRule(tweepy.NotFound, 404, ItemGone, "the post no longer exists on X"),
    ErrorRule(tweepy.BadRequest, 400, FatalError, "X rejected the request as invalid"),
    ErrorRule(tweepy.TwitterServerError, 500, TransientError, "X had a server error; retry later"),
    ErrorRule(tweepy.HTTPException, None, FatalError, "X answered with an unexpected HTTP status"),
    ErrorRule(requests.Timeout, None, TransientError, "X did not answer in time"),
    ErrorRule(requests.ConnectionError, None, TransientError, "could not connect to X"),
    ErrorRule(requests.JSONDecodeError, None, TransientError, "X sent a body that is not JSON"),
    ErrorRule(requests.RequestException, None, TransientError, "HTTP transport error talking to X"),
    # tweepy itself trips on some malformed answers (a 429 whose reset header is not a
    # number, an error body that is a JSON list): still a bad answer, not a bug of ours.
    ErrorRule((ValueError, TypeError, AttributeError, KeyError), None, TransientError,
              "X sent an answer tweepy could not read"),
)


def _problem_text(exc: BaseException) -> str:
    """The API's own words about a failed request (title, detail, reason, type), lowercased."""
    parts = [str(exc)]
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            parts.extend(str(body.get(key, "")) for key in ("title", "detail", "reason", "type"))
    return " ".join(parts).lower()


def map_error(exc: BaseException, *, now_epoch: float) -> ConnectorError:
    """Translate an SDK or transport exception through ERROR_TABLE."""
    for rule in ERROR_TABLE:
        if not isinstance(exc, rule.exc):
            continue
        if rule.detail_contains and not any(s in _problem_text(exc) for s in rule.detail_contains):
            continue
        # str(exc) is tweepy's "<status> <reason>\n<detail>": the API's words, never post text
        said = " ".join(str(exc).split())[:300]
        message = f"{rule.meaning} ({type(exc).__name__}: {said})" if said else rule.meaning
        if issubclass(rule.error, TransientError):
            response = getattr(exc, "response", None)
            headers = getattr(response, "headers", None) or {}
            wait = retry_after_seconds(headers, now_epoch=now_epoch)
            return rule.error(message, retry_after=wait)
        return rule.error(message)
    return FatalError(f"unexpected error talking to X ({type(exc).__name__})")


_CAUGHT: tuple[type[BaseException], ...] = (
    tweepy.TweepyException,
    requests.RequestException,
    ValueError,
    TypeError,
    AttributeError,
    KeyError,
)


# ---------------------------------------------------------------------------------------
# Snowflake ids and the cursor
# ---------------------------------------------------------------------------------------


def snowflake_time(tweet_id: int) -> datetime:
    """The creation time encoded in a Snowflake id."""
    return datetime.fromtimestamp(((tweet_id >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, tz=UTC)


def snowflake_floor(moment: datetime) -> int:
    """The smallest Snowflake id X can give a post created at `moment`."""
    return max(0, int(moment.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS) << 22


@dataclass
class _Pass:
    """A poll pass in progress: which query, which page, what it has seen so far."""

    started: datetime
    phase: Literal["main", "backfill"] = "main"
    query: str | None = None
    since_id: str | None = None
    start_time: str | None = None
    token: str | None = None
    newest_id: str | None = None
    new_roots: list[str] = field(default_factory=list)
    backfill: list[list[str]] = field(default_factory=list)

    def dump(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "started": self.started.isoformat(), "phase": self.phase, "query": self.query,
            "since_id": self.since_id, "start_time": self.start_time, "token": self.token,
            "newest_id": self.newest_id, "new_roots": self.new_roots, "backfill": self.backfill,
        }

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> _Pass:
        """Parse, raising ValueError on anything odd."""
        started = datetime.fromisoformat(str(data["started"]))
        if started.tzinfo is None:
            raise ValueError("naive pass start")
        phase = data.get("phase")
        if phase not in ("main", "backfill"):
            raise ValueError("unknown phase")
        return cls(
            started=started,
            phase=phase,
            query=_opt_str(data.get("query")),
            since_id=_opt_id(data.get("since_id")),
            start_time=_opt_str(data.get("start_time")),
            token=_opt_str(data.get("token")),
            newest_id=_opt_id(data.get("newest_id")),
            new_roots=[_id(x) for x in data.get("new_roots", [])],
            backfill=[[_id(x) for x in chunk] for chunk in data.get("backfill", [])],
        )


@dataclass
class _State:
    """What the cursor holds: the committed watermark, known roots, a pass in progress."""

    since_id: str | None = None
    roots: list[str] = field(default_factory=list)
    current: _Pass | None = None

    def to_cursor(self) -> Cursor:
        """Serialise into a versioned cursor."""
        state: dict[str, Any] = {"since_id": self.since_id, "roots": self.roots}
        if self.current is not None:
            state["pass"] = self.current.dump()
        return Cursor(version=CURSOR_VERSION, state=state)


def _id(value: Any) -> str:
    text = str(value)
    if not _DIGITS.fullmatch(text):
        raise ValueError("not a post id")
    return text


def _opt_id(value: Any) -> str | None:
    return None if value is None else _id(value)


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


class _UnreadableError(ValueError):
    """One post in a page could not be read; the message names fields, never text."""


class XConnector:
    """The organisation's X account: mentions, replies in its conversations, its own posts."""

    platform: ClassVar[str] = "x"
    #: pages come newest first, so the watermark is promoted only when a pass completes
    sorted_results: ClassVar[bool] = False
    min_poll_interval: ClassVar[timedelta] = timedelta(minutes=1)
    options_model: ClassVar[type[ConnectorOptions]] = XOptions
    secret_names: ClassVar[tuple[str, ...]] = (
        "bearer_token", "consumer_key", "consumer_secret", "access_token", "access_token_secret",
    )

    def __init__(
        self, *, channel: str, options: ConnectorOptions, secrets: Mapping[str, str]
    ) -> None:
        """Build the tweepy client on a counting session pointed at `options.api_url`."""
        if not isinstance(options, XOptions):
            raise TypeError("XConnector needs XOptions")
        self.channel = channel
        self.options = options
        self._secrets = dict(secrets)
        # No wait_on_rate_limit: the daemon reschedules the channel instead of sleeping.
        self._client = tweepy.Client(
            bearer_token=secrets.get("bearer_token"),
            consumer_key=secrets.get("consumer_key"),
            consumer_secret=secrets.get("consumer_secret"),
            access_token=secrets.get("access_token"),
            access_token_secret=secrets.get("access_token_secret"),
            return_type=dict,  # raw JSON: one malformed post must not sink the whole page
            wait_on_rate_limit=False,
        )
        self._session = make_session(
            rewrites={API_HOST: options.api_url}, timeout=options.timeout_seconds
        )
        self._client.session = self._session
        # X has no read-back of a reply's hidden state; the PUT answer is the record.
        self._hidden: set[str] = set()

    # -- the SDK boundary --------------------------------------------------------------

    def _call(
        self, method: Callable[..., Any], *args: Any, now_epoch: float | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Call one tweepy method; map its failures through ERROR_TABLE; demand a JSON object."""
        try:
            body = method(*args, **kwargs)
        except _CAUGHT as exc:
            raise map_error(exc, now_epoch=time.time() if now_epoch is None else now_epoch) from exc
        if not isinstance(body, dict):
            raise TransientError("X sent a JSON answer that is not an object")
        return body

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far by this connector."""
        return self._session.request_count

    # -- capabilities ------------------------------------------------------------------

    def capabilities(self) -> Sequence[Capability]:
        """Hide replies in the organisation's conversations; delete its own posts."""
        return (
            Capability(
                Action.HIDE,
                "Hides a reply in a conversation the organisation's account started: it leaves "
                "the thread but anyone can still open it under 'View hidden replies', and its "
                "author is not told. Mentions outside those conversations cannot be hidden.",
                verifiable=False,  # X's lookup does not say whether a reply is hidden
            ),
            Capability(
                Action.DELETE,
                "Deletes a post for everyone, but only the organisation's OWN posts: X lets an "
                "account delete nothing else. Other people's posts can only be hidden (if they "
                "are replies in its conversations) or reported on X.",
                own_only=True,
            ),
        )

    # -- polling -----------------------------------------------------------------------

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Page:
        """Fetch one page of the current pass (one HTTP request)."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        before = self._session.request_count
        state = self._load(cursor)
        if state.current is None:
            state.current = self._begin(state, now)
        current = state.current
        body = self._request_page(current, now)
        items, unreadable, meta = self._parse_page(body)

        if current.phase == "main":
            current.newest_id = _max_id(
                current.newest_id, _opt_meta_id(meta, "newest_id"),
                *(i.external_id for i in items),
            )
            known = set(state.roots) | set(current.new_roots)
            for item in items:
                if item.is_own and item.kind is ItemKind.POST and item.external_id not in known:
                    current.new_roots.append(item.external_id)
                    known.add(item.external_id)

        token = meta.get("next_token")
        if token is not None and not isinstance(token, str):
            raise TransientError("X sent a page whose meta.next_token is not a string")
        more = self._advance(state, current, token)
        return Page(
            items=items,
            cursor=state.to_cursor(),
            more=more,
            requests=self._session.request_count - before,
            unreadable=unreadable,
        )

    def _load(self, cursor: Cursor | None) -> _State:
        """Parse the stored cursor; an unknown version or odd content starts over safely."""
        if cursor is None:
            return _State()
        if cursor.version != CURSOR_VERSION:
            log.warning(
                "channel %s: cursor version %s unknown (expected %s); starting over",
                self.channel, cursor.version, CURSOR_VERSION,
            )
            return _State()
        data = cursor.state
        try:
            raw_pass = data.get("pass")
            return _State(
                since_id=_opt_id(data.get("since_id")),
                roots=[_id(r) for r in data.get("roots", [])][:MAX_ROOTS],
                current=_Pass.load(raw_pass) if isinstance(raw_pass, Mapping) else None,
            )
        except (ValueError, TypeError, KeyError):
            log.warning("channel %s: cursor unreadable; starting over", self.channel)
            return _State()

    def _begin(self, state: _State, now: datetime) -> _Pass:
        """Start a pass: the query and the lower bound it will use for all its pages."""
        current = _Pass(started=now.astimezone(UTC), since_id=state.since_id)
        if self.options.poll_mode == "search":
            current.query = self._main_query(state.roots)
            oldest_reachable = now - RECENT_SEARCH_WINDOW + WINDOW_MARGIN
            last = state.since_id
            if last is not None and snowflake_time(int(last)) < oldest_reachable:
                # Recent search refuses a since_id older than its window: after a long outage
                # read the whole window instead, and say that older items are out of reach.
                log.warning(
                    "channel %s: last poll is older than X's 7-day search window; "
                    "posts older than that cannot be fetched", self.channel,
                )
                current.since_id = None
                current.start_time = oldest_reachable.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return current

    def _main_query(self, roots: Sequence[str]) -> str:
        """One query for mentions, replies to the account, its own posts and its threads."""
        name = self.options.username
        terms = [f"@{name}", f"to:{name}", f"from:{name}"]
        terms += [f"conversation_id:{root}" for root in self._fitting_roots(roots)]
        return "(" + " OR ".join(terms) + ") -is:retweet"

    def _fitting_roots(self, roots: Sequence[str]) -> list[str]:
        """The newest roots whose conversation_id terms fit the query-length limit."""
        name = self.options.username
        # "(@n OR to:n OR from:n" + ") -is:retweet", then " OR conversation_id:<id>" per root
        length = len(f"(@{name} OR to:{name} OR from:{name}) -is:retweet")
        kept: list[str] = []
        for root in roots:  # newest first, so the most recent conversations stay in
            length += len(f" OR conversation_id:{root}")
            if length > self.options.max_query_length:
                break
            kept.append(root)
        return kept

    def _backfill_chunks(self, roots: Sequence[str]) -> list[list[str]]:
        """Group new roots into conversation searches that fit the query-length limit."""
        chunks: list[list[str]] = []
        for root in roots:
            limit = self.options.max_query_length
            if chunks and len(_backfill_query([*chunks[-1], root])) <= limit:
                chunks[-1].append(root)
            else:
                chunks.append([root])
        return chunks

    def _request_page(self, current: _Pass, now: datetime) -> dict[str, Any]:
        """Send the one request this page costs."""
        common: dict[str, Any] = {
            "max_results": self.options.max_results,
            "tweet_fields": TWEET_FIELDS,
            "expansions": EXPANSIONS,
            "user_fields": USER_FIELDS,
        }
        now_epoch = now.timestamp()
        if current.phase == "backfill":
            chunk = current.backfill[0]
            # Replies have larger ids than their root, so the oldest root bounds the search.
            return self._call(
                self._client.search_recent_tweets, _backfill_query(chunk),
                since_id=min(chunk, key=int), next_token=current.token,
                now_epoch=now_epoch, **common,
            )
        if self.options.poll_mode == "mentions":
            return self._call(
                self._client.get_users_mentions, self.options.user_id,
                since_id=current.since_id, pagination_token=current.token,
                now_epoch=now_epoch, **common,
            )
        params: dict[str, Any] = {"next_token": current.token}
        if current.since_id is not None:
            params["since_id"] = current.since_id
        if current.start_time is not None:
            params["start_time"] = current.start_time
        return self._call(
            self._client.search_recent_tweets, current.query, now_epoch=now_epoch,
            **params, **common,
        )

    def _advance(self, state: _State, current: _Pass, token: str | None) -> bool:
        """Move the pass on after a page; promote the watermark when it completes."""
        if token:
            current.token = token
            return True
        current.token = None
        if current.phase == "main":
            if self.options.poll_mode == "search" and current.new_roots:
                # Conversations found in this pass were not in its query yet: read their
                # replies once now, so a reply that does not @mention the account is not missed.
                current.phase = "backfill"
                current.backfill = self._backfill_chunks(current.new_roots)
                return True
        elif current.backfill:
            current.backfill.pop(0)
            if current.backfill:
                return True
        self._complete(state, current)
        return False

    def _complete(self, state: _State, current: _Pass) -> None:
        """Promote the main phase's newest id (never past the pass start) and forget the pass."""
        newest = _max_id(state.since_id, current.newest_id)
        if newest is not None:
            # the largest id X can have given a post in the millisecond the pass started
            ceiling = snowflake_floor(current.started + timedelta(milliseconds=1)) - 1
            if int(newest) > ceiling:
                # our clock is behind X's: re-read a little next time rather than skip
                newest = str(max(ceiling, int(state.since_id or 0)))
        state.since_id = newest
        horizon = snowflake_floor(current.started - timedelta(days=self.options.conversation_days))
        roots = sorted(set(state.roots) | set(current.new_roots), key=int, reverse=True)
        recent = [r for r in roots if int(r) >= horizon][:MAX_ROOTS]
        state.roots = self._fitting_roots(recent)
        if len(state.roots) < len(recent):
            log.info(
                "channel %s: %d older conversations no longer searched (query length %d); "
                "replies there are still found when they mention the account",
                self.channel, len(recent) - len(state.roots), self.options.max_query_length,
            )
        state.current = None

    def _parse_page(
        self, body: Mapping[str, Any]
    ) -> tuple[list[Item], list[Unreadable], Mapping[str, Any]]:
        """Items, unreadable posts (logged without their text) and meta of one list page."""
        data = body.get("data")
        if data is None:
            data = []
        if not isinstance(data, list):
            raise TransientError("X sent a page whose 'data' is not a list")
        meta = body.get("meta")
        if not isinstance(meta, Mapping):
            raise TransientError("X sent a page without 'meta'")
        includes = body.get("includes")
        users: dict[str, Mapping[str, Any]] = {}
        if isinstance(includes, Mapping) and isinstance(includes.get("users"), list):
            for user in includes["users"]:
                if isinstance(user, Mapping) and isinstance(user.get("id"), str):
                    users[user["id"]] = user
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            # partial errors (a referenced post withheld, say) do not stop the page
            log.info("channel %s: X reported %d partial errors", self.channel, len(errors))
        items: list[Item] = []
        unreadable: list[Unreadable] = []
        for raw in data:
            try:
                items.append(self._to_item(raw, users))
            except _UnreadableError as exc:
                log.warning("channel %s: set aside an unreadable X post: %s", self.channel, exc)
                the_id = raw.get("id") if isinstance(raw, Mapping) else None
                unreadable.append(Unreadable(str(exc), raw, the_id
                                             if isinstance(the_id, str) else None))
        return items, unreadable, meta

    def _to_item(self, raw: Any, users: Mapping[str, Mapping[str, Any]]) -> Item:
        """Normalise one v2 post object."""
        if not isinstance(raw, Mapping):
            raise _UnreadableError("entry is not an object")
        tweet_id = raw.get("id")
        if not isinstance(tweet_id, str) or not _DIGITS.fullmatch(tweet_id):
            raise _UnreadableError("missing or non-numeric 'id'")
        text = raw.get("text")
        note = raw.get("note_tweet")
        if isinstance(note, Mapping) and isinstance(note.get("text"), str):
            text = note["text"]  # a long post: `text` is only its first 280 characters
        if not isinstance(text, str):
            raise _UnreadableError(f"post {tweet_id} has no 'text'")
        author_id = raw.get("author_id") if isinstance(raw.get("author_id"), str) else None
        replied_to = None
        refs = raw.get("referenced_tweets")
        if isinstance(refs, list):
            for ref in refs:
                if isinstance(ref, Mapping) and ref.get("type") == "replied_to":
                    parent = ref.get("id")
                    replied_to = parent if isinstance(parent, str) else None
        conversation = raw.get("conversation_id")
        thread_id = conversation if isinstance(conversation, str) else (replied_to or tweet_id)
        if replied_to is None:
            kind = ItemKind.POST
        elif replied_to == thread_id:
            kind = ItemKind.COMMENT
        else:
            kind = ItemKind.REPLY
        created_at = snowflake_time(int(tweet_id))
        stamp = raw.get("created_at")
        if isinstance(stamp, str):
            try:
                created_at = datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)
            except (ValueError, OverflowError):  # not a time, or one outside the calendar
                log.warning("channel %s: post %s: unreadable created_at", self.channel, tweet_id)
        user = users.get(author_id or "", {})
        username = user.get("username") if isinstance(user.get("username"), str) else None
        name = user.get("name") if isinstance(user.get("name"), str) else None
        url = (
            f"https://x.com/{username}/status/{tweet_id}" if username
            else f"https://x.com/i/web/status/{tweet_id}"
        )
        return Item(
            platform=self.platform,
            external_id=tweet_id,
            kind=kind,
            # X sends &, < and > as HTML entities and escapes every "&", so this is exact
            text=html.unescape(text),
            created_at=created_at,
            author_id=author_id,
            author_name=username or name,
            url=url,
            parent_id=replied_to,
            thread_id=thread_id,
            is_own=author_id == self.options.user_id,
            raw=dict(raw),
        )

    # -- takedown ----------------------------------------------------------------------

    def _require_user_context(self, action: str) -> None:
        missing = [name for name in OAUTH1_SECRETS if not self._secrets.get(name)]
        if missing:
            raise AuthError(
                f"{action} on X needs the account's OAuth 1.0a user credentials; missing: "
                + ", ".join(missing)
            )

    def hide(self, ref: ItemRef) -> None:
        """Hide a reply in one of the organisation's conversations; idempotent."""
        if ref.kind is ItemKind.POST:
            raise NotSupported(
                "X can hide only replies in conversations the organisation's account started; "
                "this is a standalone post (report it on X, or delete it if it is the "
                "organisation's own)"
            )
        self._require_user_context("hiding a reply")
        tweet_id = _checked_id(ref)
        body = self._call(self._client.hide_reply, tweet_id)
        _raise_if_not_found(body, tweet_id)
        data = body.get("data")
        if not isinstance(data, Mapping) or data.get("hidden") is not True:
            raise FatalError(f"X did not confirm hiding reply {tweet_id}")
        self._hidden.add(tweet_id)
        log.info("channel %s: hid reply %s", self.channel, tweet_id)

    def delete(self, ref: ItemRef) -> None:
        """Delete one of the organisation's own posts; ItemGone when it is already gone."""
        self._require_user_context("deleting a post")
        tweet_id = _checked_id(ref)
        try:
            body = self._call(self._client.delete_tweet, tweet_id)
        except FatalError as exc:
            if isinstance(exc.__cause__, tweepy.Forbidden) and not isinstance(exc, NotSupported):
                # X refuses to delete anyone else's post; say so plainly, not as a bare 403
                raise NotSupported(
                    f"X lets the organisation delete only its own posts; post {tweet_id} is "
                    "someone else's: hide it if it is a reply in the organisation's "
                    "conversation, otherwise report it on X"
                ) from exc
            raise
        _raise_if_not_found(body, tweet_id)
        answer = body.get("data")
        if isinstance(answer, Mapping) and answer.get("deleted") is True:
            log.info("channel %s: deleted own post %s", self.channel, tweet_id)
            return
        # "deleted": false: find out whether it is already gone (done) or still there
        if self._lookup(tweet_id) is Visibility.GONE:
            raise ItemGone(f"post {tweet_id} no longer exists on X")
        raise FatalError(f"X did not confirm deleting post {tweet_id}")

    def check(self, ref: ItemRef) -> Visibility:
        """Look the post up: GONE when X says Not Found, REMOVED when withheld, else visible.

        X exposes no hidden flag on a post; HIDDEN is reported for replies this connector
        hid (the PUT answer is the record, and re-hiding is harmless).
        """
        tweet_id = _checked_id(ref)
        found = self._lookup(tweet_id)
        if found is Visibility.VISIBLE and tweet_id in self._hidden:
            return Visibility.HIDDEN
        return found

    def _lookup(self, tweet_id: str) -> Visibility:
        """One post lookup (GET /2/tweets?ids=, usable for batches): VISIBLE, REMOVED or GONE."""
        body = self._call(self._client.get_tweets, [tweet_id])
        data = body.get("data")
        if isinstance(data, list) and any(
            isinstance(t, Mapping) and t.get("id") == tweet_id for t in data
        ):
            return Visibility.VISIBLE
        titles = _error_titles(body, tweet_id)
        if "not found error" in titles:
            return Visibility.GONE
        if titles:
            # "Authorization Error": the post exists but is withheld (protected or suspended)
            return Visibility.REMOVED
        raise TransientError(f"X sent a lookup of post {tweet_id} that does not mention it")

    # -- credentials -------------------------------------------------------------------

    def check_credentials(self) -> Sequence[str]:
        """Check the app token (reading) and the user tokens (hide/delete), one call each."""
        problems = [
            f"secret {name!r} is missing (environment variable "
            f"{secret_env_name(self.channel, name)})"
            for name in self.secret_names if not self._secrets.get(name)
        ]
        if self._secrets.get("bearer_token"):
            try:
                self._call(self._client.get_users_tweets, self.options.user_id, max_results=5)
            except (AuthError, FatalError, ItemGone) as exc:
                problems.append(
                    f"bearer_token cannot read @{self.options.username}'s posts "
                    f"(needs an app in a Project with read access): {exc}"
                )
        if all(self._secrets.get(name) for name in OAUTH1_SECRETS):
            try:
                me = self._call(self._client.get_me)
            except (AuthError, FatalError, ItemGone) as exc:
                problems.append(
                    "the OAuth 1.0a user credentials (consumer_key, consumer_secret, "
                    f"access_token, access_token_secret) were refused; hide and delete need "
                    f"them with Read and Write permission: {exc}"
                )
            else:
                data = me.get("data")
                user_id = data.get("id") if isinstance(data, Mapping) else None
                if user_id != self.options.user_id:
                    handle = data.get("username") if isinstance(data, Mapping) else None
                    problems.append(
                        f"access_token belongs to @{handle} (id {user_id}), not to the "
                        f"configured user_id {self.options.user_id}: hide and delete would act "
                        "as the wrong account"
                    )
        return problems


def _backfill_query(roots: Sequence[str]) -> str:
    """Replies in the given conversations (the issue's conversation_id search)."""
    return "(" + " OR ".join(f"conversation_id:{r}" for r in roots) + ") is:reply -is:retweet"


def _max_id(*ids: str | None) -> str | None:
    present = [int(i) for i in ids if i is not None]
    return str(max(present)) if present else None


def _opt_meta_id(meta: Mapping[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        raise TransientError(f"X sent a page whose meta.{key} is not a post id")
    return value


def _checked_id(ref: ItemRef) -> str:
    if not _DIGITS.fullmatch(ref.external_id):
        raise FatalError(f"{ref.external_id!r} is not an X post id")
    return ref.external_id


def _error_titles(body: Mapping[str, Any], tweet_id: str) -> set[str]:
    """Lowercased titles of the errors[] entries about `tweet_id` (or about no id at all)."""
    errors = body.get("errors")
    titles: set[str] = set()
    if isinstance(errors, list):
        for error in errors:
            if not isinstance(error, Mapping):
                continue
            about = error.get("resource_id", error.get("value"))
            if about is None or str(about) == tweet_id:
                titles.add(str(error.get("title", "")).lower())
    return titles


def _raise_if_not_found(body: Mapping[str, Any], tweet_id: str) -> None:
    if "data" not in body and "not found error" in _error_titles(body, tweet_id):
        raise ItemGone(f"post {tweet_id} no longer exists on X")
