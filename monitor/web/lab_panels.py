"""The alert page's lab panels: a series alert's linked comments, the one-click test case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts import policy
from monitor.models import Alert, AlertItem, Item, SeriesAlert
from monitor.policy_suite import service
from monitor.series.signals import SERIES_MODEL_PREFIX
from monitor.web.deps import CurrentUser


@dataclass(frozen=True, slots=True)
class Linked:
    """A comment linked to a series alert, as the viewer may see it."""

    item_id: int
    platform: str
    author: str | None
    created_at: datetime
    text: str | None
    alert_id: int | None


def alert_extras(session: Session, alert: Alert, viewer: CurrentUser) -> dict[str, Any]:
    """What the alert page's lab panels show: the series' rule and comments, the suite case."""
    series = session.get(SeriesAlert, alert.id)
    own = {item_id: (alert_id, in_lane) for item_id, alert_id, in_lane in session.execute(
        select(AlertItem.item_id, Alert.id, policy.lane_sql())
        .join(Alert, Alert.item_id == AlertItem.item_id)
        .where(AlertItem.alert_id == alert.id))}
    linked = []
    for item in session.execute(
            select(Item).join(AlertItem, AlertItem.item_id == Item.id)
            .where(AlertItem.alert_id == alert.id).order_by(Item.created_at, Item.id)).scalars():
        own_alert, in_lane = own.get(item.id, (None, False))
        # a linked comment with its own safeguarding alert stays restricted as that alert is
        hidden = bool(in_lane) and not viewer.sees_safeguarding
        linked.append(Linked(item.id, item.platform, item.author_name, item.created_at,
                             None if hidden else item.text, own_alert))
    return {"series": series, "linked": linked,
            # opened by a series rule (not a comment's own alert the series joined)
            "series_opened": alert.verdict.model_version.startswith(SERIES_MODEL_PREFIX),
            "suite_case": service.case_for_alert(session, alert.id),
            "false_alarm": (alert.state == "dismissed"
                            and alert.resolution in service.FALSE_ALARM)}
