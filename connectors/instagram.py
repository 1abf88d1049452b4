"""Instagram professional account connector: media, comments, replies; hide/delete/check.

Uses facebook-sdk 3.1 against the Instagram Graph API on graph.facebook.com (Instagram API
with Facebook Login), so one base URL serves both Graph connectors. A pass starts with ONE
media request that, by field expansion, carries each media's newest comments and their
replies. The comments edge has no `since`, so time filtering is ours; a media's further
comment or reply pages are read only when its `comments_count` changed since the last
completed pass (or the media is new to us). Nothing new: one request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final

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
    from_iso,
    nested_list,
    next_link,
    parse_time,
    queue_next_page,
    storable_next,
)

log = logging.getLogger(__name__)

__all__ = ["ERROR_TABLE", "InstagramConnector", "InstagramOptions"]

MEDIA_PER_PAGE: Final = 25
COMMENTS_PER_MEDIA: Final = 50
REPLIES_PER_COMMENT: Final = 50
MEDIA_FIELDS: Final = "id,caption,media_type,permalink,timestamp,comments_count,username"
COMMENT_FIELDS: Final = "id,text,timestamp,username,from{id,username},hidden,parent_id"
THREAD_FIELDS: Final = (
    f"{COMMENT_FIELDS},replies.limit({REPLIES_PER_COMMENT}){{{COMMENT_FIELDS}}}"
)
READ_PERMISSIONS: Final = ("instagram_basic", "instagram_manage_comments",
                           "pages_read_engagement")
MODERATE_PERMISSIONS: Final = ("instagram_manage_comments",)


class InstagramOptions(GraphOptions):
    """Options of an Instagram professional account channel."""

    ig_user_id: str


class InstagramConnector:
    """The organisation's Instagram professional account through facebook-sdk 3.1."""

    platform: ClassVar[str] = "instagram"
    sorted_results: ClassVar[bool] = False
    min_poll_interval: ClassVar[timedelta] = timedelta(seconds=60)
    options_model: ClassVar[type[ConnectorOptions]] = InstagramOptions
    secret_names: ClassVar[tuple[str, ...]] = ("access_token", "app_secret")

    def __init__(
        self, *, channel: str, options: ConnectorOptions, secrets: Mapping[str, str]
    ) -> None:
        """Build the connector for one channel (no network traffic yet)."""
        self.channel = channel
        self.options = coerce_options(options, InstagramOptions)
        self.graph = GraphChannel(
            platform=self.platform, channel=channel, options=self.options, secrets=secrets,
            secret_names=self.secret_names, logger=log,
        )
        self.client = self.graph.client

    def capabilities(self) -> Sequence[Capability]:
        """Hide and delete, with what they really do on Instagram."""
        return (
            Capability(
                Action.HIDE,
                "Hides the comment from other people; its author still sees it and is not "
                "told. A hidden comment cannot be replied to. It can be unhidden later.",
            ),
            Capability(
                Action.DELETE,
                "Deletes the comment for everyone, permanently; it cannot be restored. Its "
                "author can notice that it has disappeared.",
            ),
        )

    # --- polling -----------------------------------------------------------------------------

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Page:
        """Run the next task of the current pass (one HTTP request) and return its items."""
        # The media comment counts outlive the pass: the next one compares against them.
        return self.graph.step(cursor, now=now, first_task={"t": "media", "next": None},
                               run_task=self._run_task, carry=("counts",))

    def _run_task(self, task: Mapping[str, Any], run: dict[str, Any],
                  state: dict[str, Any], now: datetime) -> list[Item]:
        run.setdefault("counts", {})
        if task["t"] == "media":
            return self._media_task(task, run, state, as_dict(state.get("counts")), now)
        return self._thread_task(task, run, state)

    def _media_task(
        self, task: Mapping[str, Any], run: dict[str, Any], state: Mapping[str, Any],
        counts: Mapping[str, Any], now: datetime,
    ) -> list[Item]:
        since = from_iso(run["since"]) or now
        window = from_iso(run["window"]) or since
        what = f"list media of Instagram account {self.options.ig_user_id}"
        answer = self.graph.listing(
            task, object_id=self.options.ig_user_id, edge="media",
            args={"fields": f"{MEDIA_FIELDS},comments.limit({COMMENTS_PER_MEDIA})"
                            f"{{{THREAD_FIELDS}}}",
                  "limit": MEDIA_PER_PAGE},
            what=what, needs=READ_PERMISSIONS,
            not_found=f"Instagram account {self.options.ig_user_id} does not exist or this "
            "token cannot see it",
        )
        entries, reached_old = self.graph.dated_entries(
            answer, what, entry="media entry", time_key="timestamp", window=window
        )
        items: list[Item] = []
        for media, media_id, created in entries:
            if created >= since:
                emit(items, self._media_item(media, media_id, created), run, state)
            count = media.get("comments_count")
            run["counts"][media_id] = count
            # Unchanged count: the first nested page shows anything new, no overflow to read.
            changed = media_id not in counts or counts[media_id] != count
            comments = nested_list(media, "comments")
            if comments is None:
                # One media's comments came malformed: read them on their own, not the page.
                log.warning("instagram %s: media %s came with unreadable comments; reading "
                            "them on their own", self.channel, media_id)
                run["tasks"].insert(0, {
                    "t": "comments", "media": media_id,
                    "permalink": as_str(media.get("permalink")), "parent": None,
                    "next": edge_link(media_id, "comments",
                                      {"fields": THREAD_FIELDS, "limit": COMMENTS_PER_MEDIA}),
                })
            elif comments:
                self._thread_page(items, as_dict(media.get("comments")), media, media_id, since,
                                  run, state, changed)
        queue_next_page(run, answer, task="media", reached_old=reached_old)
        return items

    def _thread_task(
        self, task: Mapping[str, Any], run: dict[str, Any], state: Mapping[str, Any]
    ) -> list[Item]:
        media = {"id": task["media"], "permalink": task.get("permalink")}
        what = f"list {task['t']} of {task.get('parent') or task['media']}"
        try:
            answer = self.client.follow(str(task["next"]), what=what, needs=READ_PERMISSIONS)
        except ItemGone:
            log.info("instagram %s: %s vanished while paging", self.channel, task["media"])
            return []
        items: list[Item] = []
        self._thread_page(items, answer, media, str(task["media"]), from_iso(run["since"]),
                          run, state, True, replies_of=task.get("parent"))
        return items

    def _thread_page(
        self, items: list[Item], page: Mapping[str, Any], media: Mapping[str, Any],
        media_id: str, since: datetime | None, run: dict[str, Any],
        state: Mapping[str, Any], follow: bool, replies_of: str | None = None,
    ) -> None:
        """Comments (or replies) of one page, their nested replies, and overflow tasks."""
        link = as_str(media.get("permalink"))
        for comment in data_list(page, f"comments of media {media_id}"):
            item = self._comment_item(comment, media_id, link, replies_of)
            if item is None:
                self.graph.set_aside(f"a comment on media {media_id} without id or timestamp",
                                     comment, external_id=_entry_id(comment))
                continue
            if since is None or item.created_at >= since:
                emit(items, item, run, state)
            replies = nested_list(as_dict(comment), "replies")
            if replies is None:
                log.warning("instagram %s: comment %s came with unreadable replies; reading "
                            "them on their own", self.channel, item.external_id)
                run["tasks"].insert(0, {
                    "t": "replies", "media": media_id, "permalink": link,
                    "parent": item.external_id,
                    "next": edge_link(item.external_id, "replies",
                                      {"fields": COMMENT_FIELDS, "limit": REPLIES_PER_COMMENT}),
                })
                continue
            for reply in replies:
                reply_item = self._comment_item(reply, media_id, link, item.external_id)
                if reply_item is None:
                    self.graph.set_aside(
                        f"a reply to {item.external_id} without id or timestamp", reply,
                        external_id=_entry_id(reply))
                elif since is None or reply_item.created_at >= since:
                    emit(items, reply_item, run, state)
            more_replies = storable_next(next_link(as_dict(as_dict(comment).get("replies"))))
            if follow and more_replies:
                run["tasks"].insert(0, {"t": "replies", "media": media_id, "permalink": link,
                                        "parent": item.external_id, "next": more_replies})
        more = storable_next(next_link(page))
        if follow and more:
            run["tasks"].insert(0, {"t": "replies" if replies_of else "comments",
                                    "media": media_id, "permalink": link,
                                    "parent": replies_of, "next": more})

    def _media_item(self, media: Mapping[str, Any], media_id: str, created: datetime) -> Item:
        raw = {k: v for k, v in media.items() if k != "comments"}
        return Item(
            platform=self.platform,
            external_id=media_id,
            kind=ItemKind.POST,
            text=as_text(media.get("caption")),
            created_at=created,
            author_id=self.options.ig_user_id,
            author_name=as_str(media.get("username")),
            url=as_str(media.get("permalink")),
            parent_id=None,
            thread_id=media_id,
            is_own=True,
            raw=raw,
        )

    def _comment_item(self, comment: Any, media_id: str, link: str | None,
                      replies_of: str | None) -> Item | None:
        if not isinstance(comment, dict):
            return None
        comment_id = as_str(comment.get("id"))
        created = parse_time(comment.get("timestamp"))
        if comment_id is None or created is None:
            return None
        author = as_dict(comment.get("from"))
        parent = as_str(comment.get("parent_id")) or replies_of
        author_id = as_str(author.get("id"))
        return Item(
            platform=self.platform,
            external_id=comment_id,
            kind=ItemKind.REPLY if parent else ItemKind.COMMENT,
            text=as_text(comment.get("text")),
            created_at=created,
            author_id=author_id,
            author_name=as_str(comment.get("username")) or as_str(author.get("username")),
            # Instagram comments have no permalink of their own: point at the media.
            url=link,
            parent_id=parent or media_id,
            thread_id=media_id,
            is_own=author_id == self.options.ig_user_id,
            raw={k: v for k, v in comment.items() if k != "replies"},
        )

    # --- takedown ----------------------------------------------------------------------------

    def hide(self, ref: ItemRef) -> None:
        """`POST /{ig-comment-id} hide=true`; hiding a hidden comment succeeds again."""
        self.graph.hide(ref, {"hide": "true"}, needs=MODERATE_PERMISSIONS)

    def delete(self, ref: ItemRef) -> None:
        """`DELETE /{ig-comment-id}`; ItemGone when it was already gone."""
        self.graph.delete(ref, needs=MODERATE_PERMISSIONS)

    def check(self, ref: ItemRef) -> Visibility:
        """`GET /{ig-comment-id}?fields=hidden`: HIDDEN, VISIBLE, or GONE (error 100/33)."""
        return self.graph.check(ref, hidden_field="hidden", needs=READ_PERMISSIONS)

    def check_credentials(self) -> Sequence[str]:
        """One media call that reads comments; say which credential or permission is missing."""
        return self.graph.credential_problems(
            self.options.ig_user_id, "media",
            {"fields": "id,comments.limit(1){id,text,username}", "limit": 1},
            what=f"read Instagram account {self.options.ig_user_id}", needs=READ_PERMISSIONS,
            not_found=f"options.ig_user_id {self.options.ig_user_id}: no such Instagram "
            "professional account, or this token cannot see it (GET "
            "/{page-id}?fields=instagram_business_account gives the right id)",
        )


def _entry_id(entry: Any) -> str | None:
    """The id of an entry that could not be read otherwise, if it has one."""
    return as_str(entry.get("id")) if isinstance(entry, dict) else None
