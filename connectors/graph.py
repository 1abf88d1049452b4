"""Graph API plumbing shared by the Facebook Page and Instagram connectors (facebook-sdk 3.1).

One `GraphClient` per channel: a counting session (base-URL rewrite, timeouts, a response
hook that keeps the last status and usage headers, which the SDK hides), the SDK's
`GraphAPI` on top, `appsecret_proof` on every call, and one error table that turns what the
SDK raises into our error classes. Also the small helpers both connectors need: Graph time
parsing, paging URLs made safe to store, and the bounded seen-set of the overlap window.
`GraphChannel` is what each connector composes for the rest they do alike: secrets check,
the per-task pass bookkeeping, listing pages, takedown, visibility and credential checks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import facebook
import requests

from connectors.base import (
    AuthError,
    ConnectorError,
    ConnectorOptions,
    Cursor,
    FatalError,
    Item,
    ItemGone,
    ItemRef,
    Page,
    RateLimited,
    TransientError,
    Unreadable,
    Visibility,
)
from connectors.http import CountingSession, make_session, retry_after_seconds
from connectors.registry import secret_env_name

log = logging.getLogger(__name__)

GRAPH_URL: Final = "https://graph.facebook.com"
#: facebook-sdk 3.1 only accepts versions up to 3.1 in its constructor; the real version is
#: assigned afterwards (it is only the first path segment), see platform-apis.md 1.5.
_SDK_CONSTRUCTOR_VERSION: Final = "3.1"
#: re-read this far behind the last completed pass: clock skew and Meta's read-after-write lag
OVERLAP: Final = timedelta(minutes=10)
#: ids remembered from the overlap window, so a re-read returns nothing twice (store dedupes too)
MAX_SEEN: Final = 500
#: when the platform throttles without saying for how long
DEFAULT_RATE_LIMIT_WAIT: Final = 300.0
CURSOR_VERSION: Final = 1


class GraphOptions(ConnectorOptions):
    """Options both Graph connectors share."""

    graph_url: str | None = None
    """Base URL override (a local emulator or proxy); default https://graph.facebook.com."""
    graph_version: str = "v21.0"
    comment_window_days: int = 14
    """Posts or media older than this are no longer re-read for new comments."""
    timeout_seconds: float = 30.0


OptionsT = TypeVar("OptionsT", bound=GraphOptions)


# --- errors as data --------------------------------------------------------------------------


class Outcome(StrEnum):
    """What a Graph failure means for the caller."""

    RATE_LIMITED = "rate limited"
    AUTH = "token rejected"
    PERMISSION = "permission missing"
    GONE = "object gone"
    TRANSIENT = "temporary failure"
    FATAL = "request will not succeed"


@dataclass(frozen=True, slots=True)
class GraphCode:
    """A Graph error `code`, optionally narrowed by its `error_subcode`."""

    code: int
    subcode: int | None = None


@dataclass(frozen=True, slots=True)
class HttpStatus:
    """An HTTP status, used only when the body carries no Graph error code."""

    status: int


ErrorKey = GraphCode | HttpStatus | type[BaseException]

#: THE error table of both Graph connectors. Lookup order: (code, subcode), code, HTTP status
#: when there is no code, then the exception class (most specific first along its MRO).
ERROR_TABLE: Final[Mapping[ErrorKey, Outcome]] = {
    # throttling: application, user, Page, custom per-endpoint, Pages BUC, Instagram BUC
    GraphCode(4): Outcome.RATE_LIMITED,
    GraphCode(17): Outcome.RATE_LIMITED,
    GraphCode(32): Outcome.RATE_LIMITED,
    GraphCode(613): Outcome.RATE_LIMITED,
    GraphCode(80001): Outcome.RATE_LIMITED,
    GraphCode(80002): Outcome.RATE_LIMITED,
    # token invalid, expired (463), session invalid (467), login required (102)
    GraphCode(190): Outcome.AUTH,
    GraphCode(102): Outcome.AUTH,
    GraphCode(463): Outcome.AUTH,
    GraphCode(467): Outcome.AUTH,
    # permissions: 10 and the whole 200-299 family
    GraphCode(10): Outcome.PERMISSION,
    **{GraphCode(code): Outcome.PERMISSION for code in range(200, 300)},
    # invalid parameter; subcode 33 = the object does not exist (deleted) or is not visible
    GraphCode(100, 33): Outcome.GONE,
    GraphCode(100): Outcome.FATAL,
    # unknown error / service temporarily unavailable
    GraphCode(1): Outcome.TRANSIENT,
    GraphCode(2): Outcome.TRANSIENT,
    HttpStatus(429): Outcome.RATE_LIMITED,
    HttpStatus(401): Outcome.AUTH,
    HttpStatus(403): Outcome.PERMISSION,
    HttpStatus(404): Outcome.GONE,
    HttpStatus(500): Outcome.TRANSIENT,
    HttpStatus(502): Outcome.TRANSIENT,
    HttpStatus(503): Outcome.TRANSIENT,
    HttpStatus(504): Outcome.TRANSIENT,
    requests.Timeout: Outcome.TRANSIENT,
    requests.ConnectionError: Outcome.TRANSIENT,
    # a body that says JSON but is not (truncated by a proxy, an emulated fault)
    requests.exceptions.JSONDecodeError: Outcome.TRANSIENT,
    # the SDK indexes headers["content-type"]: a response without one raises a bare KeyError
    KeyError: Outcome.TRANSIENT,
    # the SDK raises GraphAPIError without a code for non-JSON bodies (an HTML 502 page)
    facebook.GraphAPIError: Outcome.TRANSIENT,
    requests.RequestException: Outcome.TRANSIENT,
}

_PERMISSION_NAME = re.compile(
    r"\b((?:pages|instagram|business|ads|read|publish)_[a-z_]+)\b"
)


def _graph_error(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, facebook.GraphAPIError) and isinstance(exc.result, dict):
        error = exc.result.get("error")
        if isinstance(error, dict):
            return error
    return {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def classify(exc: BaseException, status: int | None) -> Outcome:
    """Look an SDK exception (and the HTTP status seen with it) up in `ERROR_TABLE`."""
    error = _graph_error(exc)
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    if code is not None:
        for key in (GraphCode(code, subcode), GraphCode(code)):
            if key in ERROR_TABLE:
                return ERROR_TABLE[key]
        if error.get("is_transient") is True:
            return Outcome.TRANSIENT
        return Outcome.FATAL
    if status is not None and status >= 400 and HttpStatus(status) in ERROR_TABLE:
        return ERROR_TABLE[HttpStatus(status)]
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return Outcome.FATAL


def buc_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds until access returns, from `X-Business-Use-Case-Usage` (minutes in the header)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    raw = lowered.get("x-business-use-case-usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [
        float(entry.get("estimated_time_to_regain_access") or 0)
        for entries in (usage.values() if isinstance(usage, dict) else [])
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]
    longest = max(minutes, default=0.0)
    return longest * 60.0 if longest > 0 else None


def usage_percent(headers: Mapping[str, str]) -> float | None:
    """The highest usage percentage in `X-App-Usage` / `X-Page-Usage` / BUC headers, if any."""
    lowered = {k.lower(): v for k, v in headers.items()}
    values: list[float] = []
    for name in ("x-app-usage", "x-page-usage", "x-business-use-case-usage"):
        try:
            data = json.loads(lowered.get(name) or "null")
        except ValueError:
            continue
        blocks = [data] if isinstance(data, dict) and name != "x-business-use-case-usage" else [
            entry
            for entries in (data.values() if isinstance(data, dict) else [])
            if isinstance(entries, list)
            for entry in entries
        ]
        for block in blocks:
            if isinstance(block, dict):
                for key in ("call_count", "total_cputime", "total_time"):
                    number = block.get(key)
                    if isinstance(number, int | float):
                        values.append(float(number))
    return max(values) if values else None


def rate_limit_wait(headers: Mapping[str, str]) -> float:
    """How long a throttled channel waits: BUC estimate, else Retry-After, else a default."""
    buc = buc_retry_after(headers)
    if buc is not None:
        return buc
    other = retry_after_seconds(headers, now_epoch=time.time())
    return other if other is not None else DEFAULT_RATE_LIMIT_WAIT


def missing_permission(message: str) -> str | None:
    """The permission a Graph error message names, e.g. 'pages_read_engagement'."""
    found = _PERMISSION_NAME.search(message)
    return found.group(1) if found else None


def to_connector_error(
    exc: BaseException,
    *,
    status: int | None,
    headers: Mapping[str, str],
    what: str,
    needs: Iterable[str] = (),
) -> ConnectorError:
    """Our error for an SDK/transport exception raised while doing `what`."""
    error = _graph_error(exc)
    message = str(error.get("message") or exc or type(exc).__name__)
    code, subcode = error.get("code"), error.get("error_subcode")
    label = f"Graph error {code}" + (f"/{subcode}" if subcode else "") if code else "Graph API"
    outcome = classify(exc, status)
    # Two code-100 answers are really credential problems; the message is the only tell.
    if outcome in {Outcome.FATAL, Outcome.GONE} and "appsecret_proof" in message:
        return AuthError(
            f"{what}: the app_secret does not match the app that issued the access token "
            f"({label}: {message})"
        )
    named = missing_permission(message)
    if outcome is Outcome.FATAL and named and "permission" in message.lower():
        outcome = Outcome.PERMISSION
    if outcome is Outcome.RATE_LIMITED:
        wait = rate_limit_wait(headers)
        return RateLimited(f"{what}: throttled ({label}: {message}); retry in {wait:.0f}s", wait)
    if outcome is Outcome.AUTH:
        return AuthError(
            f"{what}: the access token was rejected, expired or revoked ({label}: {message}); "
            "issue a new token and re-authorise the channel"
        )
    if outcome is Outcome.PERMISSION:
        permission = named or " / ".join(needs) or "unknown"
        return AuthError(f"{what}: missing permission {permission} ({label}: {message})")
    if outcome is Outcome.GONE:
        return ItemGone(f"{what}: the object no longer exists or is not visible ({label})")
    if outcome is Outcome.TRANSIENT:
        if isinstance(exc, requests.exceptions.JSONDecodeError):
            message = "malformed JSON in the answer"
        elif isinstance(exc, KeyError):
            message = "answer without a Content-Type header"
        retry = retry_after_seconds(headers, now_epoch=time.time())
        return TransientError(f"{what}: {label} {message} (HTTP {status})", retry)
    return FatalError(f"{what}: {label}: {message} (HTTP {status})")


# --- the client ------------------------------------------------------------------------------


def appsecret_proof(access_token: str, app_secret: str) -> str:
    """HMAC-SHA256 of the token keyed by the app secret, hex (Meta's `appsecret_proof`)."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


class GraphClient:
    """facebook-sdk's `GraphAPI` on a counting session, with proof, status and usage capture."""

    def __init__(
        self, *, access_token: str, app_secret: str, options: GraphOptions
    ) -> None:
        self.session: CountingSession = make_session(
            {GRAPH_URL: options.graph_url}, timeout=options.timeout_seconds
        )
        # The SDK never shows the status or headers; the hook keeps them for the error table.
        self.session.hooks["response"].append(self._remember)
        self.api = facebook.GraphAPI(
            access_token=access_token,
            session=self.session,
            timeout=options.timeout_seconds,
            version=_SDK_CONSTRUCTOR_VERSION,
        )
        self.api.version = options.graph_version
        self._proof = appsecret_proof(access_token, app_secret)
        self.last_status: int | None = None
        self.last_headers: dict[str, str] = {}

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.last_status = response.status_code
        self.last_headers = dict(response.headers)

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far through this client."""
        return self.session.request_count

    def _call(
        self, call: Callable[[], Any], *, what: str, needs: Iterable[str]
    ) -> dict[str, Any]:
        self.last_status, self.last_headers = None, {}
        try:
            result = call()
        except (facebook.GraphAPIError, requests.RequestException, ValueError, KeyError) as exc:
            raise to_connector_error(
                exc, status=self.last_status, headers=self.last_headers, what=what, needs=needs
            ) from exc
        status = self.last_status or 200
        if status >= 400:
            # A JSON body without an `error` key on an error status: go by the status.
            raise to_connector_error(
                requests.HTTPError(f"HTTP {status}"),
                status=status, headers=self.last_headers, what=what, needs=needs,
            )
        if not isinstance(result, dict):
            raise TransientError(f"{what}: the Graph API answer is not a JSON object")
        percent = usage_percent(self.last_headers)
        if percent is not None and percent >= 80:
            log.warning("Graph API usage at %.0f%% of the allowance (%s)", percent, what)
        return result

    def get(self, path: str, args: Mapping[str, Any], *, what: str, needs: Iterable[str] = ()
            ) -> dict[str, Any]:
        """GET `{version}/{path}` with `args` (the SDK adds the token, we add the proof)."""
        query = {**args, "appsecret_proof": self._proof}
        return self._call(
            lambda: self.api.request(f"{self.api.version}/{path}", query), what=what, needs=needs
        )

    def get_object(self, object_id: str, *, fields: str, what: str, needs: Iterable[str] = ()
                   ) -> dict[str, Any]:
        """`GraphAPI.get_object` with the proof."""
        return self._call(
            lambda: self.api.get_object(object_id, fields=fields, appsecret_proof=self._proof),
            what=what, needs=needs,
        )

    def get_connections(
        self, object_id: str, edge: str, args: Mapping[str, Any], *, what: str,
        needs: Iterable[str] = (),
    ) -> dict[str, Any]:
        """`GraphAPI.get_connections` with the proof."""
        return self._call(
            lambda: self.api.get_connections(
                object_id, edge, **args, appsecret_proof=self._proof
            ),
            what=what, needs=needs,
        )

    def post(self, object_id: str, data: Mapping[str, str], *, what: str,
             needs: Iterable[str] = ()) -> dict[str, Any]:
        """POST form `data` to `{version}/{object_id}` (the proof goes in the form body)."""
        form = {**data, "appsecret_proof": self._proof}
        return self._call(
            lambda: self.api.request(f"{self.api.version}/{object_id}", post_args=form),
            what=what, needs=needs,
        )

    def delete(self, object_id: str, *, what: str, needs: Iterable[str] = ()) -> dict[str, Any]:
        """DELETE `{version}/{object_id}`; `delete_object` takes no arguments, so via `request`."""
        return self._call(
            lambda: self.api.request(
                f"{self.api.version}/{object_id}",
                args={"appsecret_proof": self._proof},
                method="DELETE",
            ),
            what=what, needs=needs,
        )

    def follow(self, stored: str, *, what: str, needs: Iterable[str] = ()) -> dict[str, Any]:
        """GET a paging link kept by `storable_next`, on the configured base URL and version."""
        path, _, query = stored.partition("?")
        return self.get(path, dict(parse_qsl(query)), what=what, needs=needs)


# --- paging, time and seen-set helpers -------------------------------------------------------

_VERSION_SEGMENT = re.compile(r"^v\d+(\.\d+)?$")
_SECRET_PARAMS = frozenset({"access_token", "appsecret_proof"})


def storable_next(next_url: str | None) -> str | None:
    """A `paging.next` URL as `path?query` without host, version or token, safe in a cursor.

    Like the SDK's own `get_all_connections`, the configured base URL and version win over
    the ones in the link; unlike it, the token never reaches the database.
    """
    if not next_url:
        return None
    parts = urlsplit(next_url)
    segments = [s for s in parts.path.split("/") if s]
    if segments and _VERSION_SEGMENT.match(segments[0]):
        segments = segments[1:]
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in _SECRET_PARAMS]
    return "/".join(segments) + ("?" + urlencode(query) if query else "")


def parse_time(value: Any) -> datetime | None:
    """A Graph timestamp ('2021-06-30T21:21:18+0000') as an aware UTC datetime, or None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        # A time whose UTC equivalent leaves the calendar (year 1 at +01:00) overflows here.
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    except (ValueError, OverflowError):
        return None


def iso(moment: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC, for cursors."""
    return moment.astimezone(UTC).isoformat()


def from_iso(value: Any) -> datetime | None:
    """The inverse of `iso`, tolerant of junk (returns None)."""
    return parse_time(value)


def prune_seen(seen: Mapping[str, int], *, keep_from: datetime) -> dict[str, int]:
    """Ids whose item time is still inside the next overlap window, newest `MAX_SEEN` kept."""
    floor = int(keep_from.timestamp())
    kept = sorted(((t, i) for i, t in seen.items() if t >= floor), reverse=True)[:MAX_SEEN]
    return {i: t for t, i in kept}


def epoch(moment: datetime) -> int:
    """Whole seconds since the epoch (what Graph `since`/`until` take)."""
    return int(moment.timestamp())


def data_list(answer: Mapping[str, Any], what: str) -> list[Any]:
    """The `data` list of a Graph answer; TransientError naming `what` when it is missing."""
    data = answer.get("data")
    if not isinstance(data, list):
        raise TransientError(f"{what}: the Graph API answer has no 'data' list")
    return data


def nested_list(entry: Mapping[str, Any], edge: str) -> list[Any] | None:
    """The `data` list of a connection nested in an entry by field expansion (`comments`,
    `replies`); [] when the entry has none; None when it is there but cannot be read."""
    if edge not in entry:
        return []
    nested = entry[edge]
    data = nested.get("data") if isinstance(nested, dict) else None
    return data if isinstance(data, list) else None


def edge_link(object_id: str, edge: str, params: Mapping[str, Any]) -> str:
    """A stored paging link (see `storable_next`) to the first page of `object_id/edge`: how
    an entry's nested connection that could not be read is read on its own."""
    return f"{object_id}/{edge}?{urlencode(params)}"


def next_link(answer: Mapping[str, Any]) -> str | None:
    """`paging.next` of a Graph answer, if any."""
    paging = answer.get("paging")
    value = paging.get("next") if isinstance(paging, dict) else None
    return value if isinstance(value, str) else None


def require_success(answer: Mapping[str, Any], what: str) -> None:
    """Write calls answer `{"success": true}`; anything else is a refusal."""
    if answer.get("success") is not True:
        raise FatalError(f"{what}: the Graph API did not confirm success ({sorted(answer)})")


def as_str(value: Any) -> str | None:
    """A non-empty id or name as a string, else None."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def as_text(value: Any) -> str:
    """Message text exactly as sent (no normalisation); empty when absent."""
    return value if isinstance(value, str) else ""


def as_dict(value: Any) -> dict[str, Any]:
    """A nested object of a payload, or an empty one when absent or malformed."""
    return value if isinstance(value, dict) else {}


# --- pass bookkeeping shared by both connectors ---------------------------------------------
#
# Cursor state (version CURSOR_VERSION):
#   "wm":   start time of the last COMPLETED pass; the next pass reads from wm - OVERLAP
#   "seen": {id: item epoch} of items already returned inside that overlap (bounded)
#   "pass": the pass in progress, if any: its start, since and window times, the task list
#           still to run (paging links without tokens) and the ids it returned so far;
#           promoted into "wm"/"seen" only when its last task has run.
# Platform extras (Instagram's per-media comment counts) ride along under their own keys.


def load_state(cursor: Cursor | None, *, label: str) -> dict[str, Any]:
    """A private, mutable copy of a cursor's state; an unknown version starts over."""
    if cursor is None:
        return {}
    if cursor.version != CURSOR_VERSION:
        # A layout we do not know cannot be trusted: re-read the window; the store dedupes.
        log.warning("%s: cursor version %s unknown, starting over", label, cursor.version)
        return {}
    state: dict[str, Any] = json.loads(json.dumps(dict(cursor.state)))
    if not isinstance(state.get("seen", {}), dict):
        state["seen"] = {}
    run = state.get("pass")
    if run is not None and not (isinstance(run, dict) and run.get("tasks")):
        state.pop("pass")
    return state


def start_pass(state: Mapping[str, Any], *, now: datetime, window_days: int,
               first_task: dict[str, Any]) -> dict[str, Any]:
    """A new pass from `now`: reads from the last pass's start minus the overlap."""
    window_start = now - timedelta(days=window_days)
    watermark = from_iso(state.get("wm"))
    since = max(window_start, watermark - OVERLAP) if watermark else window_start
    return {"start": iso(now), "since": iso(since), "window": iso(window_start),
            "tasks": [first_task], "seen": {}}


def finish_pass(state: Mapping[str, Any], run: Mapping[str, Any], *, now: datetime
                ) -> dict[str, Any]:
    """The state after a completed pass: its start becomes the watermark (never `now`)."""
    started = from_iso(run.get("start")) or now
    merged = {**state.get("seen", {}), **run.get("seen", {})}
    return {"wm": iso(started), "seen": prune_seen(merged, keep_from=started - OVERLAP)}


def is_new(item_id: str, run: Mapping[str, Any], state: Mapping[str, Any]) -> bool:
    """Whether an id was not yet returned by this pass or inside the last overlap."""
    return item_id not in state.get("seen", {}) and item_id not in run["seen"]


def emit(items: list[Item], item: Item, run: dict[str, Any], state: Mapping[str, Any]) -> None:
    """Append `item` unless this pass or the last overlap already returned it; remember it."""
    if is_new(item.external_id, run, state):
        run["seen"][item.external_id] = epoch(item.created_at)
        items.append(item)


def queue_next_page(run: dict[str, Any], answer: Mapping[str, Any], *, task: str,
                    reached_old: bool) -> None:
    """Queue the listing's next page, unless the newest-first listing left the window."""
    following = storable_next(next_link(answer))
    if following and not reached_old:
        run["tasks"].append({"t": task, "next": following})


# --- one channel's plumbing, composed by each connector --------------------------------------

#: what one task of a pass does: (task, run, state, now) -> the items it returns
TaskRunner = Callable[[Mapping[str, Any], dict[str, Any], dict[str, Any], datetime], list[Item]]


def coerce_options(options: ConnectorOptions, model: type[OptionsT]) -> OptionsT:
    """`options` as the connector's own model (the registry may hand over a base instance)."""
    if isinstance(options, model):
        return options
    return model.model_validate(options.model_dump())


class GraphChannel:
    """What both Graph connectors do alike for one channel, used by composition.

    Holds the client and the secrets check, runs one task of a poll pass with the cursor
    bookkeeping around it, and does the takedown, check and credential plumbing. What a
    task reads, what hide sends and which field says hidden stay with each connector.
    """

    def __init__(
        self, *, platform: str, channel: str, options: GraphOptions,
        secrets: Mapping[str, str], secret_names: Iterable[str], logger: logging.Logger,
    ) -> None:
        self.platform, self.channel, self.options = platform, channel, options
        # The connector's own logger, so its records keep the platform module's name.
        self.log = logger
        self.missing = [name for name in secret_names if not secrets.get(name)]
        #: the current page's entries that could not be read (see `set_aside`)
        self.unreadable: list[Unreadable] = []
        self.client = GraphClient(
            access_token=secrets.get("access_token", ""),
            app_secret=secrets.get("app_secret", ""),
            options=options,
        )

    # --- secrets ---------------------------------------------------------------------------

    def env(self, secret: str) -> str:
        """The environment variable this channel's `secret` is read from."""
        return secret_env_name(self.channel, secret)

    def missing_sentence(self) -> str:
        """'missing secret: name (ENV), ...' for the secrets that were not provided."""
        names = ", ".join(f"{n} ({self.env(n)})" for n in self.missing)
        return f"missing secret: {names}"

    def require_secrets(self) -> None:
        """AuthError naming the missing secrets before any request is sent."""
        if self.missing:
            raise AuthError(self.missing_sentence())

    # --- polling ---------------------------------------------------------------------------

    def step(
        self, cursor: Cursor | None, *, now: datetime, first_task: dict[str, Any],
        run_task: TaskRunner, carry: Iterable[str] = (),
    ) -> Page:
        """Run the next task of the current pass (or of a new one) and return its page.

        `carry`: keys of the pass that outlive it (Instagram's comment counts), copied
        into the state when the pass completes.
        """
        self.require_secrets()
        self.unreadable = []
        state = load_state(cursor, label=f"{self.platform} {self.channel}")
        run = state.get("pass") or start_pass(
            state, now=now, window_days=self.options.comment_window_days, first_task=first_task,
        )
        before = self.client.request_count
        task = run["tasks"].pop(0)
        items = run_task(task, run, state, now)
        more = bool(run["tasks"])
        if more:
            state["pass"] = run
        else:
            kept = {key: run[key] for key in carry if key in run}
            state = {**finish_pass(state, run, now=now), **kept}
        spent = self.client.request_count - before
        self.log.info("%s %s: %d items in %d requests (more=%s)",
                      self.platform, self.channel, len(items), spent, more)
        return Page(items, Cursor(CURSOR_VERSION, state), more=more, requests=spent,
                    unreadable=tuple(self.unreadable))

    def set_aside(self, what: str, raw: Any, *, external_id: str | None = None) -> None:
        """An entry of the current page that cannot be read as an item: returned with the
        page, for the monitor to quarantine, and logged by `what` (never by its text)."""
        self.log.warning("%s %s: set aside %s", self.platform, self.channel, what)
        self.unreadable.append(Unreadable(what, raw, external_id))

    def listing(
        self, task: Mapping[str, Any], *, object_id: str, edge: str, args: Mapping[str, Any],
        what: str, needs: Iterable[str], not_found: str,
    ) -> dict[str, Any]:
        """The first page of `object_id/edge` or the stored next page; FatalError if gone."""
        try:
            if task["next"] is None:
                return self.client.get_connections(object_id, edge, args, what=what, needs=needs)
            return self.client.follow(task["next"], what=what, needs=needs)
        except ItemGone as exc:
            raise FatalError(not_found) from exc

    def dated_entries(
        self, answer: Mapping[str, Any], what: str, *, entry: str, time_key: str,
        window: datetime,
    ) -> tuple[list[tuple[dict[str, Any], str, datetime]], bool]:
        """Entries inside the window as (entry, id, time), and whether an older one was seen.

        The listing is newest-first, so once an entry is older than the window the rest is
        too. Malformed entries are set aside (`set_aside`).
        """
        inside: list[tuple[dict[str, Any], str, datetime]] = []
        reached_old = False
        for raw in data_list(answer, what):
            entry_id = as_str(raw.get("id")) if isinstance(raw, dict) else None
            created = parse_time(raw.get(time_key)) if isinstance(raw, dict) else None
            if entry_id is None or created is None:
                self.set_aside(f"a {entry} without id or {time_key}", raw, external_id=entry_id)
                continue
            if created < window:
                reached_old = True
                continue
            inside.append((raw, entry_id, created))
        return inside, reached_old

    # --- takedown and checks ---------------------------------------------------------------

    def hide(self, ref: ItemRef, form: Mapping[str, str], *, needs: Iterable[str]) -> None:
        """POST the platform's hide `form` to the item; the answer must confirm success."""
        self.require_secrets()
        what = f"hide {ref.external_id}"
        require_success(self.client.post(ref.external_id, form, what=what, needs=needs), what)

    def delete(self, ref: ItemRef, *, needs: Iterable[str]) -> None:
        """DELETE the item; ItemGone when it was already gone (the caller treats as done)."""
        self.require_secrets()
        what = f"delete {ref.external_id}"
        require_success(self.client.delete(ref.external_id, what=what, needs=needs), what)

    def check(self, ref: ItemRef, *, hidden_field: str, needs: Iterable[str]) -> Visibility:
        """GET the item's `hidden_field`: HIDDEN, VISIBLE, or GONE (error 100/33)."""
        self.require_secrets()
        try:
            answer = self.client.get_object(
                ref.external_id, fields=hidden_field, what=f"check {ref.external_id}",
                needs=needs,
            )
        except ItemGone:
            return Visibility.GONE
        return Visibility.HIDDEN if answer.get(hidden_field) is True else Visibility.VISIBLE

    def credential_problems(
        self, object_id: str, edge: str, args: Mapping[str, Any], *, what: str,
        needs: Iterable[str], not_found: str,
        inspect: Callable[[Mapping[str, Any]], list[str]] | None = None,
    ) -> list[str]:
        """One listing call; what is missing (secrets, token, permission, the object)."""
        if self.missing:
            return [self.missing_sentence()]
        try:
            answer = self.client.get_connections(object_id, edge, args, what=what, needs=needs)
        except AuthError as exc:
            return [f"{exc} (secret {self.env('access_token')})"]
        except ItemGone:
            return [not_found]
        except FatalError as exc:
            return [str(exc)]
        return inspect(answer) if inspect is not None else []
