"""An emulated Graph API serving a Facebook Page and an Instagram professional account.

Shapes follow platform-apis.md sections 1-2 and 5.3: `{"data": [...], "paging": {...}}`
connections with cursor paging whose `next` links carry every parameter, field expansion
(`comments.filter(stream).since(T).limit(N){...}`, `replies{...}`), Graph error bodies,
`appsecret_proof` checked against the app secret, usage headers on every answer, hide via
`is_hidden` / `hide`, delete, and error 100/33 for objects that no longer exist.

Standalone, for manual daemon runs: `python -m tests.emulators.graph --port 8790`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from tests.emulators.server import Emulator, Request, Response

PAGE_ID = "100200300"
PAGE_NAME = "Hilltop Primary School"
IG_USER_ID = "17841400000000001"
IG_USERNAME = "hilltop_primary"
TOKEN = "emulator-page-token"
APP_SECRET = "emulator-app-secret"

READ_FB = "pages_read_engagement"
READ_FB_USER_CONTENT = "pages_read_user_content"
MODERATE_FB = "pages_manage_engagement"
READ_IG = "instagram_basic"
MODERATE_IG = "instagram_manage_comments"
ALL_PERMISSIONS = frozenset({READ_FB, READ_FB_USER_CONTENT, MODERATE_FB, READ_IG, MODERATE_IG})

_VERSION = r"/(?P<ver>v\d+\.\d+)"
_ID = r"(?P<id>[A-Za-z0-9_]+)"


def graph_error(
    code: int,
    message: str,
    *,
    subcode: int | None = None,
    status: int = 400,
    error_type: str = "OAuthException",
    headers: dict[str, str] | None = None,
    is_transient: bool | None = None,
) -> Response:
    """A Graph error answer, as Meta sends it."""
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code,
                             "fbtrace_id": "AEmuLaTeDtrace"}
    if subcode is not None:
        error["error_subcode"] = subcode
    if is_transient is not None:
        error["is_transient"] = is_transient
    return Response(status, {"error": error}, headers=dict(headers or {}))


def throttled(code: int = 32, *, minutes: int = 7, object_id: str = PAGE_ID) -> Response:
    """A throttling answer with an `X-Business-Use-Case-Usage` header naming the wait."""
    usage = {object_id: [{"type": "pages", "call_count": 100, "total_cputime": 40,
                          "total_time": 60, "estimated_time_to_regain_access": minutes}]}
    return graph_error(
        code, "(#32) Page request limit reached", is_transient=True,
        headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
    )


def gone(object_id: str) -> Response:
    """Error 100 / subcode 33: the object does not exist (deleted) or cannot be seen."""
    return graph_error(
        100,
        f"Unsupported get request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation.",
        subcode=33, error_type="GraphMethodException",
    )


@dataclass
class Node:
    """One post, comment, media or Instagram comment held by the emulator."""

    id: str
    kind: str  # "post" | "comment" | "media" | "igcomment"
    seq: int
    created: datetime
    text: str
    author_id: str
    author_name: str
    parent: str | None  # the post/media for top-level comments, the comment for replies
    thread: str
    hidden: bool = False

    def key(self) -> tuple[int, int]:
        """Sort key: time, then creation order (several items share a second)."""
        return (int(self.created.timestamp()), self.seq)


def _graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _split_top(text: str) -> list[str]:
    """Split a `fields` value on commas outside braces and parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "{(":
            depth += 1
        elif char in "})":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current:
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_fields(text: str) -> dict[str, tuple[dict[str, str], str]]:
    """`a,b.limit(2).since(5){x,y}` -> {"a": ({}, ""), "b": ({"limit": "2", ...}, "x,y")}."""
    out: dict[str, tuple[dict[str, str], str]] = {}
    for part in _split_top(text):
        sub = ""
        if "{" in part and part.endswith("}"):
            part, sub = part[: part.index("{")], part[part.index("{") + 1 : -1]
        name, *mods = part.split(".")
        modifiers = {}
        for mod in mods:
            if "(" in mod and mod.endswith(")"):
                modifiers[mod[: mod.index("(")]] = mod[mod.index("(") + 1 : -1]
        out[name] = (modifiers, sub)
    return out


def _encode_cursor(node: Node) -> str:
    return base64.urlsafe_b64encode(f"{node.key()[0]}|{node.seq}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[int, int] | None:
    try:
        ts, seq = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return int(ts), int(seq)
    except ValueError:
        return None


class GraphEmulator(Emulator):
    """Facebook Page + Instagram account on the Graph API, with scriptable state and faults."""

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.page_id, self.ig_user_id = PAGE_ID, IG_USER_ID
        self.token, self.app_secret = TOKEN, APP_SECRET
        self.expired_tokens: set[str] = set()
        self.permissions: set[str] = set(ALL_PERMISSIONS)
        self.nodes: dict[str, Node] = {}
        self._seq = itertools.count(1)
        self._state = threading.RLock()
        self.route("GET", _VERSION + "/" + _ID + "/feed", self._feed)
        self.route("GET", _VERSION + "/" + _ID + "/comments", self._comments_edge)
        self.route("GET", _VERSION + "/" + _ID + "/replies", self._replies_edge)
        self.route("GET", _VERSION + "/" + _ID + "/media", self._media_edge)
        self.route("GET", _VERSION + "/" + _ID, self._get_object)
        self.route("POST", _VERSION + "/" + _ID, self._post_object)
        self.route("DELETE", _VERSION + "/" + _ID, self._delete_object)

    # --- state the tests drive ---------------------------------------------------------------

    def _add(self, kind: str, node_id: str | None, seq: int, text: str, author: tuple[str, str],
             parent: str | None, thread: str | None, created: datetime | None) -> str:
        with self._state:
            the_id = node_id or str(seq)
            self.nodes[the_id] = Node(
                id=the_id, kind=kind, seq=seq, created=created or self.clock(), text=text,
                author_id=author[0], author_name=author[1], parent=parent,
                thread=thread or the_id,
            )
            return the_id

    def add_post(self, text: str, *, by_page: bool = True, created: datetime | None = None
                 ) -> str:
        """A post on the Page, by the Page itself or by a visitor."""
        seq = next(self._seq)
        author = (self.page_id, PAGE_NAME) if by_page else (f"9{seq:08d}", f"Visitor {seq}")
        return self._add("post", f"{self.page_id}_{seq}", seq, text, author, None, None, created)

    def add_comment(self, parent_id: str, text: str, *, author: tuple[str, str] | None = None,
                    created: datetime | None = None) -> str:
        """A comment on a post, or a reply when `parent_id` is a comment."""
        seq = next(self._seq)
        parent = self.nodes[parent_id]
        thread = parent.thread
        post_suffix = thread.rsplit("_", 1)[-1]
        who = author or (f"8{seq:08d}", f"Commenter {seq}")
        return self._add("comment", f"{post_suffix}_{seq}", seq, text, who, parent_id, thread,
                         created)

    def add_media(self, caption: str, *, created: datetime | None = None) -> str:
        """A media object on the Instagram account."""
        seq = next(self._seq)
        return self._add("media", str(17900000000000000 + seq), seq, caption,
                         (self.ig_user_id, IG_USERNAME), None, None, created)

    def add_ig_comment(self, parent_id: str, text: str, *, username: str | None = None,
                       created: datetime | None = None) -> str:
        """An Instagram comment on a media, or a reply when `parent_id` is a comment."""
        seq = next(self._seq)
        parent = self.nodes[parent_id]
        who = (self.ig_user_id, IG_USERNAME) if username == IG_USERNAME else (
            str(17800000000000000 + seq), username or f"fan_{seq}")
        return self._add("igcomment", str(18000000000000000 + seq), seq, text, who,
                         parent_id, parent.thread, created)

    def remove(self, node_id: str) -> None:
        """Delete an object and everything under it, as its author would."""
        with self._state:
            doomed = {node_id}
            for node in sorted(self.nodes.values(), key=Node.key):
                if node.parent in doomed:
                    doomed.add(node.id)
            for the_id in doomed:
                self.nodes.pop(the_id, None)

    # --- request plumbing --------------------------------------------------------------------

    def _auth(self, request: Request, needs: str | None) -> Response | None:
        params = request.params()
        token = params.get("access_token", "")
        if token in self.expired_tokens:
            return graph_error(
                190, "Error validating access token: Session has expired on Tuesday, "
                "01-Jul-25 10:00:00 PDT.", subcode=463)
        if token != self.token:
            return graph_error(190, "Invalid OAuth access token - Cannot parse access token")
        expected = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(params.get("appsecret_proof", ""), expected):
            return graph_error(100, "Invalid appsecret_proof provided in the API argument",
                               error_type="GraphMethodException")
        if needs is not None and needs not in self.permissions:
            if needs in {MODERATE_FB, MODERATE_IG}:
                return graph_error(200, f"(#200) Requires {needs} permission to manage the "
                                   "object", error_type="OAuthException")
            return graph_error(10, f"(#10) This endpoint requires the '{needs}' permission.")
        return None

    def _ok(self, body: Any) -> Response:
        usage = json.dumps({"call_count": 1, "total_cputime": 1, "total_time": 1})
        return Response(200, body, headers={"X-App-Usage": usage})

    @staticmethod
    def _edge_params(request: Request) -> dict[str, str]:
        """The query of an edge request without the credentials (they never go in `next`)."""
        params = dict(request.query)
        params.pop("access_token", None)
        params.pop("appsecret_proof", None)
        return params

    def _owner_edge(
        self, request: Request, *, needs: str, owner_id: str, kind: str, edge: str,
        render: Callable[[Node, str, str, Request], dict[str, Any]],
    ) -> Response:
        """The Page's feed or the account's media: newest first, 100/33 for another owner."""
        denied = self._auth(request, needs)
        if denied:
            return denied
        ver, owner = request.match["ver"], request.match["id"]
        if owner != owner_id:
            return gone(owner)
        params = self._edge_params(request)
        with self._state:
            nodes = [n for n in self.nodes.values() if n.kind == kind]
            body = self._connection(
                request, nodes, path=f"/{ver}/{owner}/{edge}", params=params, newest_first=True,
                render=lambda n, f: render(n, f, ver, request), sub=params.get("fields", ""),
            )
        return self._ok(body)

    def _connection(
        self, request: Request, nodes: list[Node], *, path: str, params: dict[str, str],
        newest_first: bool, render: Callable[[Node, str], dict[str, Any]], sub: str,
    ) -> dict[str, Any]:
        """A cursor-paged connection; `next` repeats every parameter, as the SDK needs."""
        since = params.get("since")
        if since not in (None, ""):
            nodes = [n for n in nodes if n.created.timestamp() >= int(str(since))]
        nodes.sort(key=Node.key, reverse=newest_first)
        after = _decode_cursor(params.get("after", "")) if params.get("after") else None
        if after is not None:
            nodes = [n for n in nodes
                     if (n.key() < after if newest_first else n.key() > after)]
        limit = max(1, int(params.get("limit") or 25))
        page, rest = nodes[:limit], nodes[limit:]
        body: dict[str, Any] = {"data": [render(n, sub) for n in page]}
        if page:
            body["paging"] = {"cursors": {"before": _encode_cursor(page[0]),
                                          "after": _encode_cursor(page[-1])}}
            if rest:
                query = {k: v for k, v in params.items() if k not in {"after", "before"}}
                query["after"] = _encode_cursor(page[-1])
                query["access_token"] = self.token
                body["paging"]["next"] = f"{self.url}{path}?{urlencode(query)}"
        return body

    def _children(self, parent_id: str, *, replies_too: bool, kind: str) -> list[Node]:
        if replies_too:
            return [n for n in self.nodes.values() if n.kind == kind and n.thread == parent_id]
        return [n for n in self.nodes.values() if n.kind == kind and n.parent == parent_id]

    # --- Facebook ----------------------------------------------------------------------------

    def _render_post(self, node: Node, fields: str, ver: str = "v21.0",
                     request: Request | None = None) -> dict[str, Any]:
        wanted = parse_fields(fields or "id,message,created_time")
        out: dict[str, Any] = {"id": node.id}
        if "message" in wanted and node.text:
            out["message"] = node.text
        if "created_time" in wanted:
            out["created_time"] = _graph_time(node.created)
        if "from" in wanted:
            out["from"] = {"id": node.author_id, "name": node.author_name}
        if "permalink_url" in wanted:
            out["permalink_url"] = f"https://www.facebook.com/{node.id.replace('_', '/posts/')}"
        if "is_hidden" in wanted:
            out["is_hidden"] = node.hidden
        if "comments" in wanted and request is not None:
            mods, sub = wanted["comments"]
            stream = mods.get("filter") == "stream"
            params = {k: v for k, v in mods.items() if k in {"filter", "order", "since", "limit"}}
            params["fields"] = sub
            kids = self._children(node.id, replies_too=stream, kind="comment")
            conn = self._connection(
                request, kids, path=f"/{ver}/{node.id}/comments", params=params,
                newest_first=mods.get("order") == "reverse_chronological",
                render=self._render_comment, sub=sub,
            )
            if conn["data"] or "paging" in conn:
                out["comments"] = conn
        return out

    def _render_comment(self, node: Node, fields: str) -> dict[str, Any]:
        wanted = parse_fields(fields or "id,message,created_time,from")
        parent = self.nodes.get(node.parent or "")
        is_reply = parent is not None and parent.kind == "comment"
        out: dict[str, Any] = {}
        if "id" in wanted:
            out["id"] = node.id
        if "message" in wanted:
            out["message"] = node.text
        if "created_time" in wanted:
            out["created_time"] = _graph_time(node.created)
        if "from" in wanted:
            out["from"] = {"id": node.author_id, "name": node.author_name}
        if "parent" in wanted and is_reply:
            out["parent"] = {"id": node.parent}
        if "is_hidden" in wanted:
            out["is_hidden"] = node.hidden
        for flag in ("can_hide", "can_remove"):
            if flag in wanted:
                out[flag] = MODERATE_FB in self.permissions
        if "permalink_url" in wanted:
            post_suffix = node.thread.rsplit("_", 1)[-1]
            top = (node.parent if is_reply else node.id) or node.id
            link = (f"https://www.facebook.com/{self.page_id}/posts/{post_suffix}/"
                    f"?comment_id={top.rsplit('_', 1)[-1]}")
            if is_reply:
                link += f"&reply_comment_id={node.id.rsplit('_', 1)[-1]}"
            out["permalink_url"] = link
        return out

    def _feed(self, request: Request) -> Response:
        return self._owner_edge(request, needs=READ_FB, owner_id=self.page_id, kind="post",
                                edge="feed", render=self._render_post)

    def _comments_edge(self, request: Request) -> Response:
        ver, parent_id = request.match["ver"], request.match["id"]
        with self._state:
            parent = self.nodes.get(parent_id)
            if parent is not None and parent.kind in {"media", "igcomment"}:
                return self._ig_edge(request, parent_id, "comments")
            denied = self._auth(request, READ_FB)
            if denied:
                return denied
            if parent is None:
                return gone(parent_id)
            params = self._edge_params(request)
            stream = params.get("filter") == "stream"
            kids = self._children(parent_id, replies_too=stream and parent.kind == "post",
                                  kind="comment")
            body = self._connection(
                request, kids, path=f"/{ver}/{parent_id}/comments", params=params,
                newest_first=params.get("order") == "reverse_chronological",
                render=self._render_comment, sub=params.get("fields", ""),
            )
        return self._ok(body)

    # --- Instagram ---------------------------------------------------------------------------

    def _render_media(self, node: Node, fields: str, ver: str, request: Request
                      ) -> dict[str, Any]:
        wanted = parse_fields(fields or "id")
        out: dict[str, Any] = {"id": node.id}
        simple = {
            "caption": node.text,
            "media_type": "IMAGE",
            "permalink": f"https://www.instagram.com/p/EMU{node.seq}/",
            "timestamp": _graph_time(node.created),
            "username": IG_USERNAME,
            "like_count": 0,
            "comments_count": len([n for n in self.nodes.values()
                                   if n.kind == "igcomment" and n.thread == node.id]),
        }
        out.update({k: v for k, v in simple.items() if k in wanted})
        if "comments" in wanted:
            self._ig_expand(out, wanted["comments"], request, node.id, "comments", ver)
        return out

    def _render_ig_comment(self, node: Node, fields: str, ver: str = "v21.0",
                           request: Request | None = None) -> dict[str, Any]:
        wanted = parse_fields(fields or "id,text,timestamp")
        parent = self.nodes.get(node.parent or "")
        simple: dict[str, Any] = {
            "id": node.id,
            "text": node.text,
            "timestamp": _graph_time(node.created),
            "username": node.author_name,
            "from": {"id": node.author_id, "username": node.author_name},
            "hidden": node.hidden,
            "like_count": 0,
            "media": {"id": node.thread},
        }
        if parent is not None and parent.kind == "igcomment":
            simple["parent_id"] = parent.id
        out = {k: v for k, v in simple.items() if k in wanted}
        if "replies" in wanted and request is not None:
            self._ig_expand(out, wanted["replies"], request, node.id, "replies", ver)
        return out

    def _ig_connection(self, request: Request, parent_id: str, edge: str, ver: str,
                       params: dict[str, str]) -> dict[str, Any]:
        """Instagram comments under `parent_id`: `comments` newest first with expandable
        replies, `replies` oldest first without further nesting."""
        comments = edge == "comments"
        render: Callable[[Node, str], dict[str, Any]] = (
            (lambda n, f: self._render_ig_comment(n, f, ver, request)) if comments
            else self._render_ig_comment
        )
        return self._connection(
            request, self._children(parent_id, replies_too=False, kind="igcomment"),
            path=f"/{ver}/{parent_id}/{edge}", params=params, newest_first=comments,
            render=render, sub=params.get("fields", ""),
        )

    def _ig_expand(self, out: dict[str, Any], wanted: tuple[dict[str, str], str],
                   request: Request, parent_id: str, edge: str, ver: str) -> None:
        """Field expansion `edge.limit(N){fields}`: the first page nested under `edge`."""
        mods, sub = wanted
        params = {k: v for k, v in mods.items() if k == "limit"}
        params["fields"] = sub
        conn = self._ig_connection(request, parent_id, edge, ver, params)
        if conn["data"]:
            out[edge] = conn

    def _media_edge(self, request: Request) -> Response:
        return self._owner_edge(request, needs=READ_IG, owner_id=self.ig_user_id, kind="media",
                                edge="media", render=self._render_media)

    def _ig_edge(self, request: Request, parent_id: str, edge: str) -> Response:
        """A media's comments (newest first, replies expandable) or a comment's replies."""
        denied = self._auth(request, READ_IG)
        if denied:
            return denied
        ver = request.match["ver"]
        params = self._edge_params(request)
        with self._state:
            if parent_id not in self.nodes:
                return gone(parent_id)
            body = self._ig_connection(request, parent_id, edge, ver, params)
        return self._ok(body)

    def _replies_edge(self, request: Request) -> Response:
        return self._ig_edge(request, request.match["id"], "replies")

    # --- objects: read, hide, delete ---------------------------------------------------------

    def _needs(self, node: Node | None, *, write: bool) -> str:
        instagram = node is not None and node.kind in {"media", "igcomment"}
        if write:
            return MODERATE_IG if instagram else MODERATE_FB
        return READ_IG if instagram else READ_FB

    def _get_object(self, request: Request) -> Response:
        object_id = request.match["id"]
        with self._state:
            node = self.nodes.get(object_id)
            denied = self._auth(request, self._needs(node, write=False))
            if denied:
                return denied
            if object_id == self.page_id:
                return self._ok({"id": self.page_id, "name": PAGE_NAME})
            if object_id == self.ig_user_id:
                return self._ok({"id": self.ig_user_id, "username": IG_USERNAME})
            if node is None:
                return gone(object_id)
            fields = request.query.get("fields", "")
            if node.kind == "post":
                return self._ok(self._render_post(node, fields))
            if node.kind == "comment":
                return self._ok(self._render_comment(node, fields or "id,message"))
            if node.kind == "media":
                return self._ok(self._render_media(node, fields, "v21.0", request))
            return self._ok(self._render_ig_comment(node, fields or "id,text,timestamp"))

    def _write_target(self, request: Request) -> Node | Response:
        """The node a POST or DELETE acts on, or the answer refusing it (auth, then 100/33).

        Called with the state lock held.
        """
        object_id = request.match["id"]
        node = self.nodes.get(object_id)
        denied = self._auth(request, self._needs(node, write=True))
        if denied:
            return denied
        return node if node is not None else gone(object_id)

    def _post_object(self, request: Request) -> Response:
        with self._state:
            node = self._write_target(request)
            if isinstance(node, Response):
                return node
            form = request.params()
            flag = form.get("hide") if node.kind == "igcomment" else form.get("is_hidden")
            if flag not in {"true", "false"}:
                return graph_error(100, "(#100) Param is_hidden/hide must be a boolean",
                                   error_type="GraphMethodException")
            node.hidden = flag == "true"
            return self._ok({"success": True})

    def _delete_object(self, request: Request) -> Response:
        with self._state:
            node = self._write_target(request)
            if isinstance(node, Response):
                return node
            self.remove(node.id)
            return self._ok({"success": True})


def seed(emulator: GraphEmulator) -> None:
    """A few posts, comments, replies and media, for manual runs."""
    now = emulator.clock()
    post = emulator.add_post("Sports day is on Friday! 🏃", created=now - timedelta(hours=5))
    first = emulator.add_comment(post, "Can't wait, see you there",
                                 created=now - timedelta(hours=4))
    emulator.add_comment(first, "Same here 😊", created=now - timedelta(hours=3))
    visitor = emulator.add_post("Lost a blue water bottle near the gate", by_page=False,
                                created=now - timedelta(hours=2))
    emulator.add_comment(visitor, "Check the office, lots of bottles there",
                         created=now - timedelta(hours=1))
    media = emulator.add_media("Our new library 📚", created=now - timedelta(hours=6))
    top = emulator.add_ig_comment(media, "Looks amazing!", created=now - timedelta(hours=2))
    emulator.add_ig_comment(top, "Thank you!", username=IG_USERNAME,
                            created=now - timedelta(hours=1))


def main() -> None:
    """Serve a seeded emulator on 127.0.0.1 until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()
    emulator = GraphEmulator()
    seed(emulator)
    emulator.start(args.port)
    # The operator needs these values for the channel config.
    print(
        f"graph emulator on {emulator.url} page_id={PAGE_ID} ig_user_id={IG_USER_ID} "
        f"access_token={TOKEN} app_secret={APP_SECRET}", flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        emulator.stop()


if __name__ == "__main__":
    main()
