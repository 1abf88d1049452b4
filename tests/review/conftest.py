"""Fixtures for the records tests: a runtime on the test database, and a seeded year."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from config.settings import Settings
from monitor.db import transaction
from monitor.runtime import Runtime, build_runtime
from tests.review.seed_year import SeededYear, seed_year


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = build_runtime(settings, env={})
    yield rt
    rt.close()


@pytest.fixture
def year(runtime: Runtime) -> SeededYear:
    with transaction(runtime.factory) as session:
        return seed_year(session, runtime.settings)
