"""An emulated Reddit API (token grant, subreddit listings, modqueue, info, remove/approve).

Shapes follow `shared/reference/platform-apis.md` section 4 and the recorded cassettes:
Listings `{"kind": "Listing", "data": {"children": [{"kind": "t1", "data": {...}}], ...}}`,
401 with `www-authenticate: Bearer ... error="invalid_token"`, x-ratelimit-* headers.
Modelled Reddit behaviours the connector must survive:

* `/r/<sub>/comments` lists neither author-deleted nor removed/filtered comments, so a
  `before=` anchor that was deleted or removed gets an empty listing for ever;
* `before=X` returns the things just newer than X (adjacent to X), `after=X` the older ones;
* an author's deletion keeps the thing with body/author "[deleted]"; a purge erases it, and
  `/api/remove` on a fullname Reddit does not know answers 404.

Run standalone for manual daemon runs: `python -m tests.emulators.reddit --port 8765`.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import threading
import time
from typing import Any

from tests.emulators.server import Emulator, Request, Response

RATE_HEADERS = {
    "x-ratelimit-used": "1", "x-ratelimit-remaining": "599.0", "x-ratelimit-reset": "300",
}


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


class RedditEmulator(Emulator):
    """One subreddit moderated by one account, behind Reddit's OAuth password grant."""

    def __init__(
        self,
        *,
        subreddit: str = "orgsub",
        moderator: str = "orgmod",
        client_id: str = "emu-client",
        client_secret: str = "emu-secret",
        password: str = "emu-password",
    ) -> None:
        super().__init__()
        self.subreddit = subreddit
        self.moderator = moderator
        self.client_id = client_id
        self.client_secret = client_secret
        self.password = password
        self.mod_permissions: list[str] = ["all"]
        self.scope = "*"
        self.things: dict[str, dict[str, Any]] = {}
        self.deleted: set[str] = set()
        self.filtered: set[str] = set()
        self.tokens: set[str] = set()
        self.token_grants = 0
        self.listed_as_moderator = True
        #: query parameters of every /comments request, to see anchored vs un-anchored polls
        self.comment_queries: list[dict[str, str]] = []
        self._ids = itertools.count(int("k0000", 36))
        # created_utc: strictly increasing seconds, always in the past
        self._clock = float(int(time.time()) - 200_000)
        self._state = threading.Lock()
        self._install()

    # ---------------------------------------------------------------- test controls

    def add_post(self, title: str, *, author: str | None = None, selftext: str = "") -> str:
        """Create a self post; return its fullname."""
        with self._state:
            id36 = _b36(next(self._ids))
            self._clock += 1
            data = {
                "id": id36, "name": f"t3_{id36}", "title": title, "selftext": selftext,
                "author": author or self.moderator, "author_fullname": f"t2_{author or 'mod'}",
                "subreddit": self.subreddit, "subreddit_id": "t5_emu", "created_utc": self._clock,
                "permalink": f"/r/{self.subreddit}/comments/{id36}/post/", "is_self": True,
                "url": f"https://www.reddit.com/r/{self.subreddit}/comments/{id36}/post/",
                "num_comments": 0, **self._mod_fields(),
            }
            self.things[data["name"]] = data
            return str(data["name"])

    def add_comment(self, body: str, *, parent: str, author: str = "visitor") -> str:
        """Create a comment under a post or a comment; return its fullname."""
        with self._state:
            parent_data = self.things[parent]
            link_id = parent if parent.startswith("t3_") else parent_data["link_id"]
            id36 = _b36(next(self._ids))
            self._clock += 1
            data = {
                "id": id36, "name": f"t1_{id36}", "body": body, "author": author,
                "author_fullname": f"t2_{author}", "subreddit": self.subreddit,
                "subreddit_id": "t5_emu", "link_id": link_id, "parent_id": parent,
                "created_utc": self._clock, "score": 1, "edited": False,
                "permalink": f"/r/{self.subreddit}/comments/{link_id[3:]}/post/{id36}/",
                **self._mod_fields(),
            }
            self.things[data["name"]] = data
            return str(data["name"])

    def delete_by_author(self, fullname: str) -> None:
        """The author deletes it: the thing stays with "[deleted]" body and author."""
        with self._state:
            data = self.things[fullname]
            data["author"] = "[deleted]"
            data.pop("author_fullname", None)
            data["body" if fullname.startswith("t1_") else "selftext"] = "[deleted]"
            self.deleted.add(fullname)

    def purge(self, fullname: str) -> None:
        """The thing vanishes entirely (as after an admin purge): unknown to every endpoint."""
        with self._state:
            self.things.pop(fullname, None)

    def report(self, fullname: str, reason: str = "harassment") -> None:
        """A user reports the thing (it enters the modqueue and the reports listing)."""
        with self._state:
            data = self.things[fullname]
            data["num_reports"] = int(data["num_reports"]) + 1
            data["user_reports"] = [[reason, 1]]

    def filter_as_spam(self, fullname: str) -> None:
        """Reddit's spam filter holds it: out of public listings, into the modqueue."""
        with self._state:
            self.filtered.add(fullname)

    def expire_tokens(self) -> None:
        """Every issued access token stops working (prawcore then fetches a new one)."""
        with self._state:
            self.tokens.clear()

    def revoke_password(self) -> None:
        """The account's password changes: new token grants answer invalid_grant."""
        with self._state:
            self.password = "changed-" + self.password
            self.tokens.clear()

    # ---------------------------------------------------------------- routes

    def _install(self) -> None:
        sub = r"/r/(?P<sub>[A-Za-z0-9_]+)"
        self.route("POST", r"/api/v1/access_token/?", self._token)
        self.route("GET", sub + r"/comments/?", self._authed(self._comments))
        self.route("GET", sub + r"/new/?", self._authed(self._new))
        mod_listing = sub + r"/about/(?P<which>modqueue|reports|spam)/?"
        self.route("GET", mod_listing, self._authed(self._mod))
        self.route("GET", sub + r"/about/moderators/?", self._authed(self._moderators))
        self.route("GET", r"/api/info/?", self._authed(self._info))
        self.route("GET", r"/api/v1/me/?", self._authed(self._me))
        self.route("POST", r"/api/remove/?", self._authed(self._remove))
        self.route("POST", r"/api/approve/?", self._authed(self._approve))
        self.route("POST", r"/api/v1/modactions/removal_reasons/?", self._authed(self._reason))

    def _token(self, req: Request) -> Response:
        # prawcore sends `Connection: close` on token grants and the server then closes the
        # socket; saying so in the answer keeps urllib3 from reusing the dead connection.
        response = self._grant(req)
        response.headers["Connection"] = "close"
        return response

    def _grant(self, req: Request) -> Response:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if req.headers.get("authorization") != f"Basic {expected}":
            return Response(401, {"message": "Unauthorized", "error": 401})
        form = req.form()
        if form.get("username") != self.moderator or form.get("password") != self.password:
            return Response(200, {"error": "invalid_grant"})
        with self._state:
            self.token_grants += 1
            token = f"emu-token-{self.token_grants}"
            self.tokens.add(token)
        return Response(200, {"access_token": token, "token_type": "bearer",
                              "expires_in": 86400, "scope": self.scope})

    def _authed(self, handler: Any) -> Any:
        def wrapped(req: Request) -> Response:
            auth = req.headers.get("authorization", "")
            if not auth.startswith("bearer ") or auth[7:] not in self.tokens:
                return Response(
                    401, {"message": "Unauthorized", "error": 401},
                    {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'},
                )
            if req.match.groupdict().get("sub") not in {None, self.subreddit}:
                return Response(404, {"message": "Not Found", "error": 404})
            response: Response = handler(req)
            response.headers = {**RATE_HEADERS, **response.headers}
            return response
        return wrapped

    def _may_moderate(self) -> bool:
        return bool({"all", "posts"} & set(self.mod_permissions))

    @staticmethod
    def _forbidden() -> Response:
        return Response(403, {"message": "Forbidden", "error": 403})

    def _listing(self, things: list[dict[str, Any]], req: Request) -> Response:
        """Newest-first paging with Reddit's before/after/limit semantics."""
        names = [str(t["name"]) for t in things]
        limit = max(1, min(100, int(req.query.get("limit", "25"))))
        before, after = req.query.get("before"), req.query.get("after")
        page_before = page_after = None
        if before:
            if before not in names:
                chosen: list[dict[str, Any]] = []
            else:
                newer = things[: names.index(before)]
                chosen = newer[-limit:]
                page_before = chosen[0]["name"] if len(newer) > limit else None
        elif after:
            if after not in names:
                chosen = []
            else:
                older = things[names.index(after) + 1:]
                chosen = older[:limit]
                page_after = chosen[-1]["name"] if len(older) > limit else None
        else:
            chosen = things[:limit]
            page_after = chosen[-1]["name"] if len(things) > limit else None
        children = [{"kind": str(t["name"])[:2], "data": dict(t)} for t in chosen]
        return Response(200, {"kind": "Listing", "data": {
            "after": page_after, "before": page_before, "dist": len(children),
            "modhash": "", "geo_filter": "", "children": children}})

    def _visible(self, prefix: str) -> list[dict[str, Any]]:
        with self._state:
            found = [
                t for name, t in self.things.items()
                if name.startswith(prefix) and name not in self.deleted
                and name not in self.filtered and not t["removed"]
            ]
        return list(reversed(found))

    def _comments(self, req: Request) -> Response:
        with self._state:
            self.comment_queries.append(dict(req.query))
        return self._listing(self._visible("t1_"), req)

    def _new(self, req: Request) -> Response:
        return self._listing(self._visible("t3_"), req)

    def _mod(self, req: Request) -> Response:
        if not self._may_moderate():
            return self._forbidden()
        which = req.match.group("which")
        only = req.query.get("only")
        prefix = {"comments": "t1_", "links": "t3_"}.get(only or "", "t")
        with self._state:
            pool = [
                t for n, t in self.things.items() if n.startswith(prefix) and n not in self.deleted
            ]
            if which == "spam":
                chosen = [t for t in pool if t["removed"] or t["name"] in self.filtered]
            elif which == "reports":
                chosen = [t for t in pool if t["num_reports"] and not t["removed"]]
            else:
                chosen = [
                    t for t in pool if not t["approved"] and not t["removed"]
                    and (t["num_reports"] or t["name"] in self.filtered)
                ]
        return self._listing(list(reversed(chosen)), req)

    def _moderators(self, req: Request) -> Response:
        user = req.query.get("user")
        mods = [{"name": self.moderator, "id": "t2_mod", "date": self._clock,
                 "mod_permissions": list(self.mod_permissions)}]
        if not self.listed_as_moderator:
            mods = []
        if user:
            mods = [m for m in mods if str(m["name"]).lower() == user.lower()]
        return Response(200, {"kind": "UserList", "data": {"children": mods}})

    def _me(self, req: Request) -> Response:
        return Response(200, {"name": self.moderator, "id": "mod"})

    def _info(self, req: Request) -> Response:
        wanted = [n for n in req.query.get("id", "").split(",") if n]
        with self._state:
            found = [dict(self.things[n]) for n in wanted if n in self.things]
        children = [{"kind": str(t["name"])[:2], "data": t} for t in found]
        return Response(200, {"kind": "Listing", "data": {
            "after": None, "before": None, "dist": len(children), "modhash": "",
            "children": children}})

    def _remove(self, req: Request) -> Response:
        if not self._may_moderate():
            return self._forbidden()
        form = req.form()
        with self._state:
            data = self.things.get(form.get("id", ""))
            if data is None:
                return Response(404, {"message": "Not Found", "error": 404})
            data.update(removed=True, approved=False, approved_by=None,
                        banned_by=self.moderator, spam=form.get("spam") == "True")
        return Response(200, {})

    def _approve(self, req: Request) -> Response:
        if not self._may_moderate():
            return self._forbidden()
        form = req.form()
        with self._state:
            data = self.things.get(form.get("id", ""))
            if data is None:
                return Response(404, {"message": "Not Found", "error": 404})
            self.filtered.discard(str(data["name"]))
            data.update(removed=False, approved=True, approved_by=self.moderator,
                        banned_by=None, spam=False, num_reports=0, user_reports=[])
        return Response(200, {})

    def _reason(self, req: Request) -> Response:
        return Response(200, {})

    @staticmethod
    def _mod_fields() -> dict[str, Any]:
        return {"removed": False, "banned_by": None, "spam": False, "approved": False,
                "approved_by": None, "num_reports": 0, "user_reports": [], "mod_reports": []}


def seed(emulator: RedditEmulator) -> str:
    """A post by the organisation and a few visitor comments, odd text included."""
    post = emulator.add_post("Welcome to our school's subreddit", selftext="Be kind.")
    emulator.add_comment("Great news about the science fair!", parent=post, author="parent_a")
    first = emulator.add_comment("مرحبا 👋🏽 zero\u200bwidth", parent=post, author="visitor_b")
    emulator.add_comment("Reply to that", parent=first, author="visitor_c")
    return post


def main() -> None:
    """Serve a seeded emulator until killed and print the channel config to use."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    emulator = RedditEmulator()
    seed(emulator)
    emulator.start(args.port)
    print(f"reddit emulator on {emulator.url}: subreddit r/{emulator.subreddit}")
    print(f"  options: oauth_url={emulator.url} reddit_url={emulator.url}")
    print(f"  secrets: client_id={emulator.client_id} client_secret={emulator.client_secret} "
          f"username={emulator.moderator} password={emulator.password}")
    threading.Event().wait()


if __name__ == "__main__":
    main()
