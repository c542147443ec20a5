"""schemathesis against the running app's OpenAPI schema: no 500s, no answers off the schema."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from service.schedules.organizer_tokens import create_token
from tests.helpers.live_server import LiveServer
from tests.helpers.services import load_seed, open_services


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    path: Path = tmp_path_factory.mktemp("schema") / "visitcal.db"
    with open_services(f"sqlite:///{path}") as services:
        load_seed(services)
        token = create_token(services.db, "schemathesis", datetime.now(UTC))
        with LiveServer(services) as server:
            yield server, token


# Whether a schema-valid value is also meaningful (an alarm offset, a known zone) is for our own
# 422 to say, so positive/negative data acceptance is not asked for; everything else is.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


def test_no_server_errors_and_answers_match_the_schema(running: tuple[LiveServer, str]) -> None:
    server, token = running
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    # With and without a valid organizer token, so that write routes get past 401 too.
    for headers in ({}, {"Authorization": f"Bearer {token}"}):
        for operation in operations:
            _fuzz(operation, headers)


def _fuzz(operation: schemathesis.APIOperation, headers: dict[str, str]) -> None:
    """Generated requests for one operation, each checked against the schema."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()
