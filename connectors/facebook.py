"""Facebook Page connector: Page posts, their comments and replies, hide/delete/check (Graph API).

One poll pass is a short list of tasks kept in the cursor. It starts with ONE feed request
that, by field expansion, also carries each post's comments and replies (`filter(stream)`)
newer than the previous pass's start minus an overlap. Only a post whose new comments overflow
the nested page costs another request (its `comments.paging.next`), and so does each further
feed page while posts are still inside the comment window. Nothing new: one request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final
from urllib.parse import parse_qs, urlencode, urlsplit

from connectors.base import (
    Action,
    AuthError,
    Capability,
    ConnectorOptions,
    Cursor,
    FatalError,
    Item,
    ItemGone,
    ItemKind,
    ItemRef,
    Page,
    Visibility,
)
from connectors.graph import (
    CURSOR_VERSION,
    ERROR_TABLE,
    GraphClient,
    GraphOptions,
    as_dict,
    as_str,
    as_text,
    data_list,
    epoch,
    finish_pass,
    from_iso,
    is_new,
    load_state,
    next_link,
    parse_time,
    require_success,
    start_pass,
    storable_next,
)
from connectors.registry import secret_env_name

log = logging.getLogger(__name__)

__all__ = ["ERROR_TABLE", "FacebookOptions", "FacebookPageConnector"]

POSTS_PER_PAGE: Final = 25
COMMENTS_PER_POST: Final = 100
POST_FIELDS: Final = "id,message,created_time,from{id,name},permalink_url"
COMMENT_FIELDS: Final = "id,message,created_time,from{id,name},parent{id},permalink_url,is_hidden"
READ_PERMISSIONS: Final = ("pages_read_engagement", "pages_read_user_content")
MODERATE_PERMISSIONS: Final = ("pages_manage_engagement", "pages_read_user_content")


class FacebookOptions(GraphOptions):
    """Options of a Facebook Page channel."""

    page_id: str


class FacebookPageConnector:
    """The organisation's Facebook Page through facebook-sdk 3.1 and a Page access token."""

    platform: ClassVar[str] = "facebook"
    sorted_results: ClassVar[bool] = False
    min_poll_interval: ClassVar[timedelta] = timedelta(seconds=60)
    options_model: ClassVar[type[ConnectorOptions]] = FacebookOptions
    secret_names: ClassVar[tuple[str, ...]] = ("access_token", "app_secret")

    def __init__(
        self, *, channel: str, options: ConnectorOptions, secrets: Mapping[str, str]
    ) -> None:
        """Build the connector for one channel (no network traffic yet)."""
        self.channel = channel
        self.options = (
            options if isinstance(options, FacebookOptions)
            else FacebookOptions.model_validate(options.model_dump())
        )
        self._missing = [name for name in self.secret_names if not secrets.get(name)]
        self.client = GraphClient(
            access_token=secrets.get("access_token", ""),
            app_secret=secrets.get("app_secret", ""),
            options=self.options,
        )

    # --- capabilities ------------------------------------------------------------------------

    def capabilities(self) -> Sequence[Capability]:
        """Hide and delete, with what they really do on Facebook."""
        return (
            Capability(
                Action.HIDE,
                "Hides the comment from the public. Its author and the author's friends still "
                "see it and are not told it was hidden. It can be unhidden later.",
            ),
            Capability(
                Action.DELETE,
                "Deletes the comment from the Page for everyone, permanently; it cannot be "
                "restored. Its author can notice that it has disappeared.",
            ),
        )

    # --- polling -----------------------------------------------------------------------------

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Page:
        """Run the next task of the current pass (one HTTP request) and return its items."""
        self._require_secrets()
        state = load_state(cursor, label=f"facebook {self.channel}")
        run = state.get("pass") or start_pass(
            state, now=now, window_days=self.options.comment_window_days,
            first_task={"t": "feed", "next": None},
        )
        before = self.client.request_count
        task = run["tasks"].pop(0)
        if task["t"] == "feed":
            items = self._feed_task(task, run, state, now)
        else:
            items = self._comments_task(task, run, state)
        more = bool(run["tasks"])
        if more:
            state["pass"] = run
        else:
            state = finish_pass(state, run, now=now)
        spent = self.client.request_count - before
        log.info("facebook %s: %d items in %d requests (more=%s)",
                 self.channel, len(items), spent, more)
        return Page(items, Cursor(CURSOR_VERSION, state), more=more, requests=spent)

    def _feed_task(
        self, task: Mapping[str, Any], run: dict[str, Any], state: Mapping[str, Any],
        now: datetime,
    ) -> list[Item]:
        since = from_iso(run["since"]) or now
        window = from_iso(run["window"]) or since
        what = f"list posts of Page {self.options.page_id}"
        try:
            if task["next"] is None:
                fields = (
                    f"{POST_FIELDS},comments.filter(stream).order(chronological)"
                    f".since({epoch(since)}).limit({COMMENTS_PER_POST}){{{COMMENT_FIELDS}}}"
                )
                answer = self.client.get_connections(
                    self.options.page_id, "feed",
                    {"fields": fields, "since": epoch(window), "limit": POSTS_PER_PAGE},
                    what=what, needs=READ_PERMISSIONS,
                )
            else:
                answer = self.client.follow(task["next"], what=what, needs=READ_PERMISSIONS)
        except ItemGone as exc:
            raise FatalError(
                f"Page {self.options.page_id} does not exist or this token cannot see it"
            ) from exc
        posts = data_list(answer, what)
        items: list[Item] = []
        reached_old = False
        for post in posts:
            post_id, created = _id_and_time(post)
            if post_id is None or created is None:
                log.warning("facebook %s: skipped a feed entry without id or created_time",
                            self.channel)
                continue
            if created < window:
                reached_old = True  # newest-first: the rest is older than the window
                continue
            if created >= since:
                self._emit(items, self._post_item(post, post_id, created), run, state)
            comments = post.get("comments")
            if isinstance(comments, dict):
                for comment in data_list(comments, f"comments of post {post_id}"):
                    self._emit_comment(items, comment, post_id, since, run, state)
                overflow = storable_next(next_link(comments))
                if overflow:
                    run["tasks"].insert(0, {"t": "comments", "post": post_id,
                                            "next": _with_defaults(overflow, since)})
        following = storable_next(next_link(answer))
        if following and not reached_old:
            run["tasks"].append({"t": "feed", "next": following})
        return items

    def _comments_task(
        self, task: Mapping[str, Any], run: dict[str, Any], state: Mapping[str, Any]
    ) -> list[Item]:
        post_id = str(task["post"])
        since = from_iso(run["since"])
        what = f"list comments of post {post_id}"
        try:
            answer = self.client.follow(str(task["next"]), what=what, needs=READ_PERMISSIONS)
        except ItemGone:
            log.info("facebook %s: post %s vanished while paging its comments",
                     self.channel, post_id)
            return []
        items: list[Item] = []
        for comment in data_list(answer, what):
            self._emit_comment(items, comment, post_id, since, run, state)
        overflow = storable_next(next_link(answer))
        if overflow:
            run["tasks"].insert(0, {"t": "comments", "post": post_id, "next": overflow})
        return items

    def _emit(self, items: list[Item], item: Item, run: dict[str, Any],
              state: Mapping[str, Any]) -> None:
        if not is_new(item.external_id, run, state):
            return
        run["seen"][item.external_id] = epoch(item.created_at)
        items.append(item)

    def _emit_comment(
        self, items: list[Item], comment: Any, post_id: str, since: datetime | None,
        run: dict[str, Any], state: Mapping[str, Any],
    ) -> None:
        item = self._comment_item(comment, post_id)
        if item is None:
            log.warning("facebook %s: skipped a comment on post %s without id or created_time",
                        self.channel, post_id)
            return
        if since is not None and item.created_at < since:
            return  # read by an earlier pass (the server ignored `since`)
        self._emit(items, item, run, state)

    def _post_item(self, post: Mapping[str, Any], post_id: str, created: datetime) -> Item:
        author = as_dict(post.get("from"))
        raw = {k: v for k, v in post.items() if k != "comments"}
        return Item(
            platform=self.platform,
            external_id=post_id,
            kind=ItemKind.POST,
            text=as_text(post.get("message")),
            created_at=created,
            author_id=as_str(author.get("id")),
            author_name=as_str(author.get("name")),
            url=as_str(post.get("permalink_url")),
            parent_id=None,
            thread_id=post_id,
            is_own=as_str(author.get("id")) == self.options.page_id,
            raw=raw,
        )

    def _comment_item(self, comment: Any, post_id: str) -> Item | None:
        if not isinstance(comment, dict):
            return None
        created = parse_time(comment.get("created_time"))
        comment_id, parent_id = _comment_ids(comment, post_id)
        if comment_id is None or created is None:
            return None
        author = as_dict(comment.get("from"))
        return Item(
            platform=self.platform,
            external_id=comment_id,
            kind=ItemKind.COMMENT if parent_id == post_id else ItemKind.REPLY,
            text=as_text(comment.get("message")),
            created_at=created,
            author_id=as_str(author.get("id")),
            author_name=as_str(author.get("name")),
            url=as_str(comment.get("permalink_url")),
            parent_id=parent_id,
            thread_id=post_id,
            is_own=as_str(author.get("id")) == self.options.page_id,
            raw=dict(comment),
        )

    # --- takedown ----------------------------------------------------------------------------

    def hide(self, ref: ItemRef) -> None:
        """`POST /{comment-id} is_hidden=true`; hiding a hidden comment succeeds again."""
        self._require_secrets()
        answer = self.client.post(
            ref.external_id, {"is_hidden": "true"},
            what=f"hide {ref.external_id}", needs=MODERATE_PERMISSIONS,
        )
        require_success(answer, f"hide {ref.external_id}")

    def delete(self, ref: ItemRef) -> None:
        """`DELETE /{comment-id}`; ItemGone when it was already gone (the caller treats as done)."""
        self._require_secrets()
        answer = self.client.delete(
            ref.external_id, what=f"delete {ref.external_id}", needs=MODERATE_PERMISSIONS
        )
        require_success(answer, f"delete {ref.external_id}")

    def check(self, ref: ItemRef) -> Visibility:
        """`GET /{comment-id}?fields=is_hidden`: HIDDEN, VISIBLE, or GONE (error 100/33)."""
        self._require_secrets()
        try:
            answer = self.client.get_object(
                ref.external_id, fields="is_hidden",
                what=f"check {ref.external_id}", needs=READ_PERMISSIONS,
            )
        except ItemGone:
            return Visibility.GONE
        return Visibility.HIDDEN if answer.get("is_hidden") is True else Visibility.VISIBLE

    def check_credentials(self) -> Sequence[str]:
        """One feed call that needs every read permission; say what is missing."""
        if self._missing:
            return [self._missing_sentence()]
        fields = "id,from{id},comments.limit(1){id,from{id},can_hide,can_remove}"
        try:
            answer = self.client.get_connections(
                self.options.page_id, "feed", {"fields": fields, "limit": 1},
                what=f"read Page {self.options.page_id}", needs=READ_PERMISSIONS,
            )
        except AuthError as exc:
            return [f"{exc} (secret {self._env('access_token')})"]
        except ItemGone:
            return [f"options.page_id {self.options.page_id}: no such Page, or this token "
                    "cannot see it (use a Page access token of that Page)"]
        except FatalError as exc:
            return [str(exc)]
        problems: list[str] = []
        for post in answer.get("data") or []:
            comments = post.get("comments") if isinstance(post, dict) else None
            for comment in (comments or {}).get("data") or []:
                if isinstance(comment, dict) and comment.get("can_hide") is False:
                    problems.append(
                        "the token cannot hide comments: it needs pages_manage_engagement and "
                        "the MODERATE task on the Page"
                    )
                if isinstance(comment, dict) and comment.get("can_remove") is False:
                    problems.append(
                        "the token cannot delete comments: it needs pages_manage_engagement and "
                        "the MODERATE task on the Page"
                    )
        return problems

    def _require_secrets(self) -> None:
        if self._missing:
            raise AuthError(self._missing_sentence())

    def _missing_sentence(self) -> str:
        names = ", ".join(f"{n} ({self._env(n)})" for n in self._missing)
        return f"missing secret: {names}"

    def _env(self, secret: str) -> str:
        return secret_env_name(self.channel, secret)


# --- payload helpers (tolerant: a malformed entry is skipped and logged, never a traceback) --


def _with_defaults(stored: str, since: datetime) -> str:
    """Make sure a nested-comments `next` link keeps the stream filter, fields and `since`."""
    path, _, query = stored.partition("?")
    params = {k: v[-1] for k, v in parse_qs(query).items()}
    params.setdefault("filter", "stream")
    params.setdefault("fields", COMMENT_FIELDS)
    params.setdefault("since", str(epoch(since)))
    return f"{path}?{urlencode(params)}"


def _id_and_time(entry: Any) -> tuple[str | None, datetime | None]:
    if not isinstance(entry, dict):
        return None, None
    return as_str(entry.get("id")), parse_time(entry.get("created_time"))


def _comment_ids(comment: Mapping[str, Any], post_id: str) -> tuple[str | None, str]:
    """The comment's id and its parent's (the post for a top-level comment).

    Graph hides comment ids from tokens without the MODERATE task (v11+); the permalink then
    still carries `comment_id` / `reply_comment_id`, from which the same `{post}_{comment}`
    ids are rebuilt (this is what the recorded comment stream contains).
    """
    post_suffix = post_id.rsplit("_", 1)[-1]
    parent = comment.get("parent")
    parent_id = as_str(parent.get("id")) if isinstance(parent, dict) else None
    comment_id = as_str(comment.get("id"))
    link = comment.get("permalink_url")
    if isinstance(link, str) and (comment_id is None or parent_id is None):
        params = parse_qs(urlsplit(link).query)
        top = next(iter(params.get("comment_id", [])), None)
        reply = next(iter(params.get("reply_comment_id", [])), None)
        if comment_id is None and (reply or top):
            comment_id = f"{post_suffix}_{reply or top}"
        if parent_id is None and reply and top:
            parent_id = f"{post_suffix}_{top}"
    return comment_id, parent_id or post_id
