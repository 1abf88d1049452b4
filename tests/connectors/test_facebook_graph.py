"""The shared Graph plumbing: error table, BUC header, paging links, standalone emulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import facebook
import pytest
import requests

from connectors.base import AuthError, FatalError, ItemGone, RateLimited, TransientError
from connectors.facebook import FacebookOptions, FacebookPageConnector
from connectors.graph import (
    ERROR_TABLE,
    GraphCode,
    Outcome,
    buc_retry_after,
    classify,
    storable_next,
    to_connector_error,
)


def graph_exc(code: int, subcode: int | None = None, message: str = "boom"
              ) -> facebook.GraphAPIError:
    error: dict[str, object] = {"message": message, "code": code, "type": "OAuthException"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return facebook.GraphAPIError({"error": error})


@pytest.mark.parametrize(
    ("exc", "status", "expected"),
    [
        (graph_exc(4), 400, RateLimited),
        (graph_exc(80001), 400, RateLimited),
        (graph_exc(190, 463), 400, AuthError),
        (graph_exc(190, 460), 400, AuthError),
        (graph_exc(102), 400, AuthError),
        (graph_exc(10), 403, AuthError),
        (graph_exc(230), 400, AuthError),
        (graph_exc(100, 33), 400, ItemGone),
        (graph_exc(100, 2), 400, FatalError),  # not "transient code 2": subcodes are not codes
        (graph_exc(100), 400, FatalError),
        (graph_exc(1), 500, TransientError),
        (graph_exc(2), 500, TransientError),
        (graph_exc(12345), 400, FatalError),
        (facebook.GraphAPIError("Maintype was not text, image, or querystring"), 502,
         TransientError),
        (requests.ConnectTimeout("slow"), None, TransientError),
        (requests.ConnectionError("refused"), None, TransientError),
        (KeyError("content-type"), 200, TransientError),
    ],
)
def test_error_table(exc: BaseException, status: int | None,
                     expected: type[Exception]) -> None:
    mapped = to_connector_error(exc, status=status, headers={}, what="probe")
    assert type(mapped) is expected
    assert str(mapped).startswith("probe")


def test_transient_flag_and_table_coverage() -> None:
    flagged = facebook.GraphAPIError({"error": {"message": "x", "code": 9999,
                                                "is_transient": True}})
    assert classify(flagged, 400) is Outcome.TRANSIENT
    assert ERROR_TABLE[GraphCode(299)] is Outcome.PERMISSION
    for code in (4, 17, 32, 613, 80001):
        assert ERROR_TABLE[GraphCode(code)] is Outcome.RATE_LIMITED


def test_permission_named_from_message_or_from_the_action() -> None:
    named = to_connector_error(graph_exc(200, message="(#200) Requires pages_manage_engagement "
                                         "permission to manage the object"),
                               status=403, headers={}, what="hide 1_2")
    assert "missing permission pages_manage_engagement" in str(named)
    unnamed = to_connector_error(graph_exc(10, message="(#10) Not allowed"), status=403,
                                 headers={}, what="hide", needs=("pages_manage_engagement",))
    assert "missing permission pages_manage_engagement" in str(unnamed)


def test_buc_header_minutes_become_seconds() -> None:
    header = json.dumps({"1": [{"type": "pages", "estimated_time_to_regain_access": 2}],
                         "2": [{"type": "pages", "estimated_time_to_regain_access": 9}]})
    assert buc_retry_after({"X-Business-Use-Case-Usage": header}) == 540
    assert buc_retry_after({"x-business-use-case-usage": "not json"}) is None
    assert buc_retry_after({"X-Business-Use-Case-Usage": json.dumps(
        {"1": [{"estimated_time_to_regain_access": 0}]})}) is None
    mapped = to_connector_error(graph_exc(32), status=400, headers={
        "X-Business-Use-Case-Usage": header}, what="list")
    assert isinstance(mapped, RateLimited)
    assert mapped.retry_after == 540


def test_storable_next_drops_host_version_and_secrets() -> None:
    link = ("https://graph.facebook.com/v6.0/123/media?access_token=T&appsecret_proof=P"
            "&fields=id%2Ccaption&limit=2&after=QVFI")
    assert storable_next(link) == "123/media?fields=id%2Ccaption&limit=2&after=QVFI"
    assert storable_next(None) is None


def test_standalone_emulator_serves_a_seeded_page() -> None:
    """`python -m tests.emulators.graph --port 0` prints its URL and serves until killed."""
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators.graph", "--port", "0"],
        cwd=repo, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        fields = dict(part.split("=", 1) for part in banner.split()[4:])
        fb = FacebookPageConnector(
            channel="manual",
            options=FacebookOptions(page_id=fields["page_id"], graph_url=banner.split()[3]),
            secrets={"access_token": fields["access_token"], "app_secret": fields["app_secret"]},
        )
        page = fb.fetch(None, now=datetime.now(UTC))
        assert len(page.items) == 5
        assert page.requests == 1
        assert fb.check_credentials() == []
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
