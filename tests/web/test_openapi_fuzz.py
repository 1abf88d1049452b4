"""schemathesis against the JSON API's OpenAPI (signed in as an admin): no server errors.

Every operation in /api/openapi.json gets a bounded number of generated cases, first inputs
that fit the schema (which reach the handlers and the database) and then inputs that break
it (which must be refused, not crash), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from monitor.runtime import Runtime
from monitor.web import create_app
from tests.web.conftest import Seeded, login

#: generated cases per operation and mode: enough to find a crash, bounded in time
EXAMPLES = 12


def _fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str],
          counts: Counter[int]) -> None:
    """Run one operation's cases in one mode, counting the answers' statuses."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=[not_a_server_error])
        counts[response.status_code] += 1

    try:
        fuzz()
    except Unsatisfiable:
        # An operation without parameters or body has no input to break.
        assert mode is GenerationMode.NEGATIVE, operation.label
        counts[0] += 1


@pytest.mark.slow
def test_api_never_answers_with_a_server_error(
        runtime: Runtime, seeded: Seeded, accounts: dict[str, tuple[str, str]]) -> None:
    app = create_app(runtime)
    client = TestClient(app)
    login(client, *accounts["admin"])
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    headers = {"Cookie": cookie, "x-csrftoken": client.cookies["csrftoken"]}
    api = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 20

    statuses: dict[GenerationMode, Counter[int]] = {m: Counter() for m in GenerationMode}
    for mode in GenerationMode:
        for operation in operations:
            _fuzz(operation, mode, headers, statuses[mode])
    client.close()
    print(f"\nschemathesis: {len(operations)} operations, "
          + "; ".join(f"{m.value} {sum(c.values())} cases {sorted(c.items())}"
                      for m, c in statuses.items()))
    # Not vacuous: the session was carried (no 401) and valid cases reached the handlers.
    for counts in statuses.values():
        assert sum(counts.values()) - counts[0] >= 5 * len(operations)
        assert counts[401] == 0
    assert statuses[GenerationMode.POSITIVE][200] >= len(operations)
