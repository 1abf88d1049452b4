"""The records pages: what socmon holds and why, changes to how it judges, the annual review."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from monitor import changes, privacy, review
from monitor.review.audit import record_export
from monitor.web.actions import BadInput
from monitor.web.deps import AdminUser, DslUser, OversightUser, State
from monitor.web.views import render

router = APIRouter(include_in_schema=False)
#: the report is a standalone document with its own inline style and no script
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'none'")
Year = Annotated[int, Query(ge=2000, le=2999)]


@router.get("/records/privacy")
def privacy_record(request: Request, state: State, user: DslUser) -> Response:
    """What socmon holds, where, for how long, who sees it and why (from the live config)."""
    record = privacy.build(state.runtime.settings)
    return render(request, state, user, "records_privacy.html", {"record": record},
                  nav="records")


@router.get("/records/changes")
def changes_page(request: Request, state: State, user: OversightUser) -> Response:
    """Every change to how socmon judges: who, when, what and the reason given."""
    with state.read() as session:
        rows = changes.list_changes(session)
    return render(request, state, user, "records_changes.html",
                  {"changes": list(reversed(rows))}, nav="records")


@router.get("/admin/review")
def review_page(request: Request, state: State, user: AdminUser) -> Response:
    """The annual review pack for governors: choose a year, open the HTML or the PDF."""
    this_year = datetime.now(UTC).year
    return render(request, state, user, "records_annual_review.html",
                  {"years": list(range(this_year, this_year - 6, -1)), "year": this_year},
                  nav="records")


@router.get("/admin/review/report")
def review_report(state: State, user: AdminUser, year: Year,
                  format: Literal["html", "pdf"] = "html") -> Response:
    """The review pack of `year` as HTML or PDF (audited)."""
    with state.write() as session:
        try:
            pack = review.produce(session, state.runtime.settings, year)
        except review.YearError as exc:
            raise BadInput(str(exc)) from None
        record_export(session, pack, actor=user.username, formats=(format,))
    if format == "pdf":
        return Response(pack.pdf, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{pack.stem}.pdf"'})
    return Response(pack.html, media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": REPORT_CSP})
