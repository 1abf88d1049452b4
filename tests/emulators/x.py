"""A local emulated X API v2 (the endpoints socmon's X connector uses), with documented shapes.

Run standalone for manual daemon runs: `python -m tests.emulators.x --port 8402`.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.emulators.server import Emulator, Request, Response

SNOWFLAKE_EPOCH_MS = 1288834974657
PROBLEMS = "https://api.twitter.com/2/problems"

ORG_ID = "1500000000000000001"
ORG_USERNAME = "school_org"
VISITOR_ID = "1500000000000000002"
VISITOR_USERNAME = "a_visitor"

BEARER = "emulated-bearer"
CONSUMER_KEY = "emulated-consumer-key"
CONSUMER_SECRET = "emulated-consumer-secret"
ACCESS_TOKEN = "emulated-access-token"
ACCESS_TOKEN_SECRET = "emulated-access-secret"


def secrets() -> dict[str, str]:
    """The secrets the emulator accepts, keyed as the connector's `secret_names`."""
    return {
        "bearer_token": BEARER,
        "consumer_key": CONSUMER_KEY,
        "consumer_secret": CONSUMER_SECRET,
        "access_token": ACCESS_TOKEN,
        "access_token_secret": ACCESS_TOKEN_SECRET,
    }


@dataclass
class Post:
    """One post as the emulator stores it."""

    id: int
    author_id: str
    text: str
    conversation_id: int
    replied_to: int | None = None
    retweet: bool = False
    deleted: bool = False
    hidden: bool = False
    withheld: bool = False

    @property
    def created_at(self) -> datetime:
        """Time encoded in the Snowflake id (as on X)."""
        return datetime.fromtimestamp(((self.id >> 22) + SNOWFLAKE_EPOCH_MS) / 1000, tz=UTC)


def _escape(text: str) -> str:
    # X sends &, < and > as HTML entities in `text`
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def problem(
    status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any
) -> Response:
    """An RFC 7807-style problem body as X sends for non-2xx answers."""
    body = {"title": title, "detail": detail, "type": type_, "status": status, **extra}
    return Response(status, body)


def not_found_error(tweet_id: str) -> dict[str, Any]:
    """The errors[] entry X returns (HTTP 200) for a post that does not exist."""
    return {
        "value": tweet_id,
        "detail": f"Could not find tweet with id: [{tweet_id}].",
        "title": "Not Found Error",
        "resource_type": "tweet",
        "parameter": "id",
        "resource_id": tweet_id,
        "type": f"{PROBLEMS}/resource-not-found",
    }


class XEmulator(Emulator):
    """Users, posts, hide/delete and search with the operators the connector sends."""

    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, str] = {ORG_ID: ORG_USERNAME, VISITOR_ID: VISITOR_USERNAME}
        self.posts: dict[int, Post] = {}
        self.bearer_tokens = {BEARER}
        self.access_tokens = {ACCESS_TOKEN}
        self._seq = itertools.count()
        self._last_id = 0
        self._state_lock = threading.Lock()
        self.route("GET", r"/2/tweets/search/recent", self._search)
        self.route("GET", r"/2/users/(?P<uid>\d+)/mentions", self._mentions)
        self.route("GET", r"/2/users/(?P<uid>\d+)/tweets", self._user_tweets)
        self.route("GET", r"/2/users/me", self._me)
        self.route("GET", r"/2/tweets/(?P<id>\d+)", self._lookup_one)
        self.route("GET", r"/2/tweets", self._lookup_many)
        self.route("PUT", r"/2/tweets/(?P<id>\d+)/hidden", self._hide)
        self.route("DELETE", r"/2/tweets/(?P<id>\d+)", self._delete)

    # -- platform-side actions used by tests --------------------------------------------

    def _new_id(self) -> int:
        ms = int(time.time() * 1000) - SNOWFLAKE_EPOCH_MS
        candidate = (ms << 22) | (next(self._seq) & 0xFFF)
        self._last_id = max(self._last_id + 1, candidate)
        return self._last_id

    def post(self, author_id: str, text: str, *, reply_to: int | None = None,
             retweet: bool = False) -> str:
        """Publish a post (a reply when `reply_to` is given); return its id."""
        with self._state_lock:
            new_id = self._new_id()
            conversation = new_id
            if reply_to is not None:
                conversation = self.posts[reply_to].conversation_id
            self.posts[new_id] = Post(new_id, author_id, text, conversation, reply_to, retweet)
        return str(new_id)

    def delete_on_platform(self, tweet_id: str) -> None:
        """The author deletes the post."""
        with self._state_lock:
            self.posts[int(tweet_id)].deleted = True

    def revoke(self) -> None:
        """Every token stops working (app suspended, tokens regenerated)."""
        self.bearer_tokens.clear()
        self.access_tokens.clear()

    # -- auth ---------------------------------------------------------------------------

    def _app_or_user(self, req: Request) -> Response | None:
        auth = req.headers.get("authorization", "")
        if auth.startswith("Bearer ") and auth[len("Bearer "):] in self.bearer_tokens:
            return None
        if auth.startswith("OAuth ") and self._oauth_ok(auth):
            return None
        return problem(401, "Unauthorized", "Unauthorized")

    def _user_only(self, req: Request) -> Response | None:
        auth = req.headers.get("authorization", "")
        if auth.startswith("Bearer ") and auth[len("Bearer "):] in self.bearer_tokens:
            return problem(
                403, "Unsupported Authentication",
                "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  "
                "Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User "
                "Context].",
                f"{PROBLEMS}/unsupported-authentication",
            )
        if auth.startswith("OAuth ") and self._oauth_ok(auth):
            return None
        return problem(401, "Unauthorized", "Unauthorized")

    def _oauth_ok(self, header: str) -> bool:
        fields = dict(re.findall(r'(\w+)="([^"]*)"', header))
        return (
            fields.get("oauth_consumer_key") == CONSUMER_KEY
            and fields.get("oauth_token") in self.access_tokens
            and "oauth_signature" in fields
        )

    # -- shapes -------------------------------------------------------------------------

    def _headers(self, limit: int) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(limit - 1),
            "x-rate-limit-reset": str(int(time.time()) + 900),
        }

    def _render(self, post: Post, fields: set[str]) -> dict[str, Any]:
        text = post.text
        out: dict[str, Any] = {"id": str(post.id), "edit_history_tweet_ids": [str(post.id)]}
        if len(text) > 280:
            out["text"] = _escape(text[:280])
            if "note_tweet" in fields:
                out["note_tweet"] = {"text": _escape(text)}
        else:
            out["text"] = _escape(text)
        if "author_id" in fields:
            out["author_id"] = post.author_id
        if "conversation_id" in fields:
            out["conversation_id"] = str(post.conversation_id)
        if "created_at" in fields:
            out["created_at"] = post.created_at.strftime("%Y-%m-%dT%H:%M:%S.") + (
                f"{post.created_at.microsecond // 1000:03d}Z"
            )
        if post.replied_to is not None:
            parent = self.posts.get(post.replied_to)
            if "in_reply_to_user_id" in fields and parent is not None:
                out["in_reply_to_user_id"] = parent.author_id
            if "referenced_tweets" in fields:
                out["referenced_tweets"] = [{"type": "replied_to", "id": str(post.replied_to)}]
        return out

    def _listing(self, req: Request, posts: list[Post], *, token_name: str,
                 min_results: int, limit: int) -> Response:
        try:
            max_results = int(req.query.get("max_results", "10"))
        except ValueError:
            max_results = -1
        if not min_results <= max_results <= 100:
            return self._invalid("max_results", req.query.get("max_results", ""))
        since = int(req.query.get("since_id", "0") or 0)
        until = int(req.query.get("until_id", "0") or 0)
        token = req.query.get(token_name)
        if token:
            try:
                until = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("u"))
            except ValueError:
                return self._invalid(token_name, token)
        start = req.query.get("start_time")
        if start:
            start_dt = datetime.fromisoformat(start.replace("Z", "+00:00"))
            posts = [p for p in posts if p.created_at >= start_dt]
        chosen = sorted(
            (p for p in posts if p.id > since and (not until or p.id < until) and not p.deleted),
            key=lambda p: p.id, reverse=True,
        )
        page, rest = chosen[:max_results], chosen[max_results:]
        if not page:
            return Response(200, {"meta": {"result_count": 0}}, self._headers(limit))
        fields = set(filter(None, req.query.get("tweet.fields", "").split(",")))
        body: dict[str, Any] = {"data": [self._render(p, fields) for p in page]}
        if "author_id" in req.query.get("expansions", ""):
            authors = dict.fromkeys(p.author_id for p in page)
            body["includes"] = {
                "users": [
                    {"id": a, "name": self.users.get(a, "someone").title(),
                     "username": self.users.get(a, "someone")} for a in authors
                ]
            }
        meta: dict[str, Any] = {
            "newest_id": str(page[0].id), "oldest_id": str(page[-1].id), "result_count": len(page),
        }
        if rest:
            # like X's tokens: the next page is "older than this page", so posts that
            # arrive during a pass never shift the pages still to come
            meta["next_token"] = base64.urlsafe_b64encode(f"u{page[-1].id}".encode()).decode()
        body["meta"] = meta
        return Response(200, body, self._headers(limit))

    def _invalid(self, name: str, value: str) -> Response:
        return problem(
            400, "Invalid Request", "One or more parameters to your request was invalid.",
            f"{PROBLEMS}/invalid-request",
            errors=[{"parameters": {name: [value]},
                     "message": f"The `{name}` query parameter value [{value}] is not valid"}],
        )

    # -- search query -------------------------------------------------------------------

    def _matches(self, post: Post, query: str) -> bool:
        """Evaluate the subset of the query language the connector uses.

        Groups in parentheses are OR-ed terms; top-level terms are AND-ed. Terms: @user,
        to:user, from:user, conversation_id:N, is:reply, is:retweet (with optional "-"),
        and plain words (case-insensitive substring).
        """
        groups: list[list[str]] = []
        for group, single in re.findall(r"\(([^)]*)\)|(\S+)", query):
            if group:
                groups.append([t for t in group.split() if t != "OR"])
            else:
                groups.append([single])
        return all(any(self._term(post, t) for t in g) for g in groups)

    def _term(self, post: Post, term: str) -> bool:
        if term.startswith("-"):
            return not self._term(post, term[1:])
        name_of = self.users.get
        if term.startswith("@"):
            return f"@{term[1:].lower()}" in post.text.lower()
        if term.startswith("to:"):
            parent = self.posts.get(post.replied_to or -1)
            return parent is not None and (name_of(parent.author_id) or "") == term[3:]
        if term.startswith("from:"):
            return name_of(post.author_id) == term[5:]
        if term.startswith("conversation_id:"):
            return str(post.conversation_id) == term[16:]
        if term == "is:reply":
            return post.replied_to is not None
        if term == "is:retweet":
            return post.retweet
        return term.lower() in post.text.lower()

    # -- routes -------------------------------------------------------------------------

    def _search(self, req: Request) -> Response:
        if (denied := self._app_or_user(req)) is not None:
            return denied
        query = req.query.get("query", "")
        if not query or len(query) > 512:
            return self._invalid("query", query)
        posts = [p for p in self.posts.values() if self._matches(p, query)]
        return self._listing(req, posts, token_name="next_token", min_results=10, limit=450)

    def _mentions(self, req: Request) -> Response:
        if (denied := self._app_or_user(req)) is not None:
            return denied
        name = self.users.get(req.match["uid"])
        if name is None:
            return Response(200, {"errors": [{"title": "Not Found Error",
                                              "detail": "Could not find user"}]})
        posts = [p for p in self.posts.values() if f"@{name}" in p.text.lower()]
        return self._listing(req, posts, token_name="pagination_token", min_results=5, limit=450)

    def _user_tweets(self, req: Request) -> Response:
        if (denied := self._app_or_user(req)) is not None:
            return denied
        uid = req.match["uid"]
        posts = [p for p in self.posts.values() if p.author_id == uid]
        return self._listing(req, posts, token_name="pagination_token", min_results=5, limit=1500)

    def _me(self, req: Request) -> Response:
        if (denied := self._user_only(req)) is not None:
            return denied
        return Response(200, {"data": {"id": ORG_ID, "name": "Example School",
                                       "username": ORG_USERNAME}}, self._headers(75))

    def _lookup(self, req: Request, ids: list[str]) -> dict[str, Any]:
        fields = set(filter(None, req.query.get("tweet.fields", "").split(",")))
        data, errors = [], []
        for tweet_id in ids:
            post = self.posts.get(int(tweet_id))
            if post is None or post.deleted:
                errors.append(not_found_error(tweet_id))
            elif post.withheld:
                errors.append({
                    "value": tweet_id, "resource_id": tweet_id, "resource_type": "tweet",
                    "parameter": "id", "title": "Authorization Error",
                    "detail": "Sorry, you are not authorized to see the Tweet with id: "
                              f"[{tweet_id}].",
                    "type": f"{PROBLEMS}/not-authorized-for-resource",
                })
            else:
                data.append(self._render(post, fields))
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return body

    def _lookup_one(self, req: Request) -> Response:
        if (denied := self._app_or_user(req)) is not None:
            return denied
        body = self._lookup(req, [req.match["id"]])
        if "data" in body:
            body["data"] = body["data"][0]
        return Response(200, body, self._headers(300))

    def _lookup_many(self, req: Request) -> Response:
        if (denied := self._app_or_user(req)) is not None:
            return denied
        ids = [i for i in req.query.get("ids", "").split(",") if i.isdigit()]
        if not ids:
            return self._invalid("ids", req.query.get("ids", ""))
        return Response(200, self._lookup(req, ids), self._headers(300))

    def _hide(self, req: Request) -> Response:
        if (denied := self._user_only(req)) is not None:
            return denied
        post = self.posts.get(int(req.match["id"]))
        if post is None or post.deleted:
            # not recorded anywhere; an assumption documented in docs/connectors/x.md
            return problem(404, "Not Found Error", "Could not find tweet.",
                           f"{PROBLEMS}/resource-not-found")
        root = self.posts.get(post.conversation_id)
        if post.replied_to is None or root is None or root.author_id != ORG_ID:
            return problem(403, "Forbidden",
                           "You can only hide or unhide replies to conversations you started.")
        wanted = req.json()
        if not isinstance(wanted, dict) or not isinstance(wanted.get("hidden"), bool):
            return self._invalid("hidden", str(wanted))
        post.hidden = wanted["hidden"]
        return Response(200, {"data": {"hidden": post.hidden}}, self._headers(50))

    def _delete(self, req: Request) -> Response:
        if (denied := self._user_only(req)) is not None:
            return denied
        post = self.posts.get(int(req.match["id"]))
        if post is None or post.deleted:
            return problem(404, "Not Found Error", "Could not find tweet.",
                           f"{PROBLEMS}/resource-not-found")
        if post.author_id != ORG_ID:
            return problem(403, "Forbidden", "You are not allowed to delete this Tweet.")
        post.deleted = True
        return Response(200, {"data": {"deleted": True}}, self._headers(50))


def seed(emulator: XEmulator) -> str:
    """A root post by the organisation with a few replies and a mention; returns the root id."""
    root = int(emulator.post(ORG_ID, "Sports day is on Friday! Share your photos."))
    emulator.post(VISITOR_ID, f"@{ORG_USERNAME} Can't wait 🎉", reply_to=root)
    emulator.post(VISITOR_ID, f"@{ORG_USERNAME} will the café be open?", reply_to=root)
    emulator.post(VISITOR_ID, f"Great work by @{ORG_USERNAME} this week")
    return str(root)


def main() -> None:
    """Serve a seeded emulator on 127.0.0.1 until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8402)
    args = parser.parse_args()
    emulator = XEmulator()
    seed(emulator)
    emulator.start(args.port)
    print(f"X emulator on {emulator.url}")
    print(f"options: user_id={ORG_ID} username={ORG_USERNAME} api_url={emulator.url}")
    print("secrets: " + " ".join(f"{k}={v}" for k, v in secrets().items()))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
