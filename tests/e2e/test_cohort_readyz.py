"""/readyz names the s-norm cohort's state: a fresh service has too few enrolled references,
so it decides on the raw thresholds and says so (issue 21)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Api

pytestmark = [pytest.mark.model, pytest.mark.db, pytest.mark.slow]


def test_readyz_announces_the_raw_fallback(api: Api) -> None:
    r = api.call("GET", "/readyz")
    assert r.status_code == 200, r.text
    cohort = r.json()["cohort"]
    assert cohort["mode"] == "raw" and cohort["reason"] == "cohort_too_small"
    assert cohort["size"] < cohort["min_size"] and cohort["cohort_id"] is None
    assert cohort["refreshed_at"] is not None


def test_readyz_names_the_cohort_rule_and_fusion_in_the_policy(api: Api) -> None:
    body = api.call("GET", "/readyz").json()
    kinds = body["thresholds"]
    # s-norm is on by default: its parameters and z zones are part of the named policy
    assert kinds["snorm"]["min_size"] == body["cohort"]["min_size"]
    assert kinds["entry"]["reference_match_z"] >= kinds["entry"]["reference_no_match_z"]
    assert "reference_loose_z" in kinds["anchored"] and kinds["fusion"]["k"] >= 1
    assert body["policy_id"]  # the raw fallback names no cohort: the loaded policy's own id
