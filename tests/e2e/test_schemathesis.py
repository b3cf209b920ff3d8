"""Schemathesis against the served ASGI app: no 5xx, invalid input answered with a 4xx.

Bounded: ``PROCTOR_SCHEMATHESIS_EXAMPLES`` examples per operation (default 40), for
a driver and a reviewer token. The operations are driven by hand (Hypothesis
``@given`` over each operation's strategy) because schemathesis' pytest plugin
does not load under this pytest version.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection

from api.auth import Role
from tests.e2e.conftest import Served, token

pytestmark = [pytest.mark.model, pytest.mark.db, pytest.mark.slow]
EXAMPLES = int(os.environ.get("PROCTOR_SCHEMATHESIS_EXAMPLES", "40"))


@pytest.mark.parametrize("role", [Role.DRIVER, Role.REVIEWER])
def test_no_server_errors(server: Served, role: Role) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    headers = token(f"fuzz-{role.value}", role)
    failures: list[str] = []
    ran = 0
    for result in schema.get_all_operations():
        op = result.ok()

        @given(case=op.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: Any) -> None:
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, negative_data_rejection]
            )

        try:
            check()
            ran += 1
        except Exception as exc:  # collect every failing operation, not just the first
            failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:400]}")
    assert ran > 10
    assert not failures, "\n".join(failures)
