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
    Capability,
    ConnectorOptions,
    Cursor,
    Item,
    ItemGone,
    ItemKind,
    ItemRef,
    Page,
    Visibility,
)
from connectors.graph import (
    ERROR_TABLE,
    GraphChannel,
    GraphOptions,
    as_dict,
    as_str,
    as_text,
    coerce_options,
    data_list,
    edge_link,
    emit,
    epoch,
    from_iso,
    nested_list,
    next_link,
    parse_time,
    queue_next_page,
    storable_next,
)

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
        self.options = coerce_options(options, FacebookOptions)
        self.graph = GraphChannel(
            platform=self.platform, channel=channel, options=self.options, secrets=secrets,
            secret_names=self.secret_names, logger=log,
        )
        self.client = self.graph.client

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
        return self.graph.step(cursor, now=now, first_task={"t": "feed", "next": None},
                               run_task=self._run_task)

    def _run_task(self, task: Mapping[str, Any], run: dict[str, Any],
                  state: dict[str, Any], now: datetime) -> list[Item]:
        if task["t"] == "feed":
            return self._feed_task(task, run, state, now)
        return self._comments_task(task, run, state)

    def _feed_task(
        self, task: Mapping[str, Any], run: dict[str, Any], state: Mapping[str, Any],
        now: datetime,
    ) -> list[Item]:
        since = from_iso(run["since"]) or now
        window = from_iso(run["window"]) or since
        fields = (
            f"{POST_FIELDS},comments.filter(stream).order(chronological)"
            f".since({epoch(since)}).limit({COMMENTS_PER_POST}){{{COMMENT_FIELDS}}}"
        )
        what = f"list posts of Page {self.options.page_id}"
        answer = self.graph.listing(
            task, object_id=self.options.page_id, edge="feed",
            args={"fields": fields, "since": epoch(window), "limit": POSTS_PER_PAGE},
            what=what, needs=READ_PERMISSIONS,
            not_found=f"Page {self.options.page_id} does not exist or this token cannot see it",
        )
        posts, reached_old = self.graph.dated_entries(
            answer, what, entry="feed entry", time_key="created_time", window=window
        )
        items: list[Item] = []
        for post, post_id, created in posts:
            if created >= since:
                emit(items, self._post_item(post, post_id, created), run, state)
            comments = nested_list(post, "comments")
            if comments is None:
                # One post's comments came malformed: read them on their own, not the page.
                log.warning("facebook %s: post %s came with unreadable comments; reading them "
                            "on their own", self.channel, post_id)
                run["tasks"].insert(0, {"t": "comments", "post": post_id,
                                        "next": _comments_link(post_id, since)})
                continue
            for comment in comments:
                self._emit_comment(items, comment, post_id, since, run, state)
            overflow = storable_next(next_link(as_dict(post.get("comments"))))
            if overflow:
                run["tasks"].insert(0, {"t": "comments", "post": post_id,
                                        "next": _with_defaults(overflow, since)})
        queue_next_page(run, answer, task="feed", reached_old=reached_old)
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

    def _emit_comment(
        self, items: list[Item], comment: Any, post_id: str, since: datetime | None,
        run: dict[str, Any], state: Mapping[str, Any],
    ) -> None:
        item = self._comment_item(comment, post_id)
        if item is None:
            self.graph.set_aside(
                f"a comment on post {post_id} without id or created_time", comment,
                external_id=as_str(comment.get("id")) if isinstance(comment, dict) else None,
            )
            return
        if since is not None and item.created_at < since:
            return  # read by an earlier pass (the server ignored `since`)
        emit(items, item, run, state)

    def _post_item(self, post: Mapping[str, Any], post_id: str, created: datetime) -> Item:
        raw = {k: v for k, v in post.items() if k != "comments"}
        return self._item(post, post_id, ItemKind.POST, created, parent_id=None,
                          thread_id=post_id, raw=raw)

    def _comment_item(self, comment: Any, post_id: str) -> Item | None:
        if not isinstance(comment, dict):
            return None
        created = parse_time(comment.get("created_time"))
        comment_id, parent_id = _comment_ids(comment, post_id)
        if comment_id is None or created is None:
            return None
        kind = ItemKind.COMMENT if parent_id == post_id else ItemKind.REPLY
        return self._item(comment, comment_id, kind, created, parent_id=parent_id,
                          thread_id=post_id, raw=dict(comment))

    def _item(
        self, entry: Mapping[str, Any], item_id: str, kind: ItemKind, created: datetime, *,
        parent_id: str | None, thread_id: str, raw: Mapping[str, Any],
    ) -> Item:
        """Posts and comments carry the same `message`, `from` and `permalink_url` fields."""
        author = as_dict(entry.get("from"))
        return Item(
            platform=self.platform,
            external_id=item_id,
            kind=kind,
            text=as_text(entry.get("message")),
            created_at=created,
            author_id=as_str(author.get("id")),
            author_name=as_str(author.get("name")),
            url=as_str(entry.get("permalink_url")),
            parent_id=parent_id,
            thread_id=thread_id,
            is_own=as_str(author.get("id")) == self.options.page_id,
            raw=raw,
        )

    # --- takedown ----------------------------------------------------------------------------

    def hide(self, ref: ItemRef) -> None:
        """`POST /{comment-id} is_hidden=true`; hiding a hidden comment succeeds again."""
        self.graph.hide(ref, {"is_hidden": "true"}, needs=MODERATE_PERMISSIONS)

    def delete(self, ref: ItemRef) -> None:
        """`DELETE /{comment-id}`; ItemGone when it was already gone (the caller treats as done)."""
        self.graph.delete(ref, needs=MODERATE_PERMISSIONS)

    def check(self, ref: ItemRef) -> Visibility:
        """`GET /{comment-id}?fields=is_hidden`: HIDDEN, VISIBLE, or GONE (error 100/33)."""
        return self.graph.check(ref, hidden_field="is_hidden", needs=READ_PERMISSIONS)

    def check_credentials(self) -> Sequence[str]:
        """One feed call that needs every read permission; say what is missing."""
        return self.graph.credential_problems(
            self.options.page_id, "feed",
            {"fields": "id,from{id},comments.limit(1){id,from{id},can_hide,can_remove}",
             "limit": 1},
            what=f"read Page {self.options.page_id}", needs=READ_PERMISSIONS,
            not_found=f"options.page_id {self.options.page_id}: no such Page, or this token "
            "cannot see it (use a Page access token of that Page)",
            inspect=_moderation_problems,
        )


# --- payload helpers (tolerant: a malformed entry is set aside and logged, never a traceback)


def _comments_link(post_id: str, since: datetime) -> str:
    """The first page of a post's comments and replies since `since`, as the feed nests them."""
    return edge_link(post_id, "comments", {
        "filter": "stream", "order": "chronological", "since": epoch(since),
        "limit": COMMENTS_PER_POST, "fields": COMMENT_FIELDS,
    })


def _with_defaults(stored: str, since: datetime) -> str:
    """Make sure a nested-comments `next` link keeps the stream filter, fields and `since`."""
    path, _, query = stored.partition("?")
    params = {k: v[-1] for k, v in parse_qs(query).items()}
    params.setdefault("filter", "stream")
    params.setdefault("fields", COMMENT_FIELDS)
    params.setdefault("since", str(epoch(since)))
    return f"{path}?{urlencode(params)}"


def _moderation_problems(answer: Mapping[str, Any]) -> list[str]:
    """What the probe comment's `can_hide` / `can_remove` flags say the token cannot do."""
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
