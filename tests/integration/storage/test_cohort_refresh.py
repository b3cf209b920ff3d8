"""The service's s-norm cohort is built from enrolled references in storage (issue 21).

Runs on SQLite, and on PostgreSQL when ``PROCTOR_TEST_POSTGRES_URL`` is set. The vectors
are synthetic (the cohort rule is pure logic over stored templates); storage, sealing,
consent withdrawal and the audit chain are the real ones.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlalchemy import select

from proctor.clock import FakeClock
from proctor.services.cohort import CohortHolder, CohortPolicy, CohortService
from proctor.services.records import ConsentService
from proctor.storage.cohort_store import (
    IMPORTED_COHORT_FILE,
    CohortFileInvalid,
    SealedCohortFile,
    StorageReferenceSource,
    parse_cohort_npz,
)
from proctor.storage.records import records_uow_factory
from proctor.storage.tables import AuditRow
from proctor.storage.uow import Storage
from proctor.types import Template

pytestmark = [pytest.mark.db]

MODEL = "dlib_resnet_v1"


def _vec(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128)
    return v / np.linalg.norm(v)


def _enrol(storage: Storage, clock: FakeClock, n: int, start: int = 0) -> list[str]:
    drivers = []
    with storage.uow() as uow:
        for i in range(start, start + n):
            did, key = f"d{i}", f"sk-{i}"
            uow.drivers.add(did, key, did, clock.now())
            uow.templates.put(key, Template(MODEL, _vec(i)), clock.now())
            drivers.append(did)
        # never in a cohort: a session anchor and another model's template
        uow.templates.put("anchor:s1", Template(MODEL, _vec(999)), clock.now())
        uow.templates.put("sk-other", Template("other_model", _vec(998)), clock.now())
        uow.commit()
    return drivers


def _service(storage: Storage, clock: FakeClock, min_size: int = 5) -> CohortService:
    return CohortService(
        MODEL,
        CohortPolicy(size=100, min_size=min_size, top_k=3),
        lambda: StorageReferenceSource(storage),
        SealedCohortFile(storage.files.root.parent, storage.template_key),
        storage.uow,
        clock,
        CohortHolder(),
    )


def _audit(storage: Storage, action: str) -> list[dict[str, object]]:
    with storage.sessionmaker() as s:
        rows = s.execute(select(AuditRow).where(AuditRow.action == action)).scalars()
        return [json.loads(r.details) for r in rows]


def _rows(service: CohortService) -> set[bytes]:
    cohort = service.holder.current()
    assert cohort is not None
    return {np.round(r, 9).tobytes() for r in cohort.vectors}


def test_cohort_is_built_from_references_refreshed_and_audited(storage: Storage) -> None:
    clock = FakeClock()
    _enrol(storage, clock, 6)
    service = _service(storage, clock)
    first = service.refresh()
    assert (first.mode, first.size, first.from_references) == ("snorm", 6, 6)
    assert _rows(service) == {np.round(_vec(i), 9).tobytes() for i in range(6)}
    _enrol(storage, clock, 3, start=6)
    clock.advance(3600)
    second = service.refresh()
    assert second.size == 9 and second.cohort_id != first.cohort_id
    assert second.refreshed_at == clock.now()
    audits = _audit(storage, "cohort_refreshed")
    assert [a["size"] for a in audits] == [6, 9]
    assert audits[1]["cohort_id"] == second.cohort_id
    assert all("vector" not in json.dumps(a) for a in audits)
    assert storage.verify_audit().ok


def test_withdrawn_driver_leaves_the_next_cohort(storage: Storage) -> None:
    clock = FakeClock()
    drivers = _enrol(storage, clock, 7)
    service = _service(storage, clock)
    service.refresh()
    assert np.round(_vec(2), 9).tobytes() in _rows(service)
    consent = ConsentService(lambda: records_uow_factory(storage), clock, "v1")
    consent.give(drivers[2], consent.text[2], "test")
    consent.withdraw(drivers[2])
    status = service.refresh()
    assert status.size == 6
    assert np.round(_vec(2), 9).tobytes() not in _rows(service)


def test_below_the_minimum_size_the_raw_fallback_is_taken_and_said(storage: Storage) -> None:
    clock = FakeClock()
    _enrol(storage, clock, 4)
    service = _service(storage, clock, min_size=5)
    status = service.refresh()
    assert (status.mode, status.reason, status.size) == ("raw", "cohort_too_small", 4)
    assert service.holder.current() is None  # the pipeline then decides on raw L2
    assert _audit(storage, "cohort_refreshed")[-1]["mode"] == "raw"


def test_imported_cohort_is_sealed_embeddings_that_top_up_references(
    storage: Storage, tmp_path: object
) -> None:
    import io

    clock = FakeClock()
    _enrol(storage, clock, 3)
    service = _service(storage, clock, min_size=5)
    assert service.refresh().mode == "raw"
    buf = io.BytesIO()
    extra = np.stack([_vec(100 + i) for i in range(4)])
    np.savez(buf, model_id=np.array(MODEL), vectors=extra)
    vectors = parse_cohort_npz(buf.getvalue(), MODEL, 128)
    status = service.import_vectors(vectors, actor="op-1")
    assert (status.mode, status.from_references, status.from_import) == ("snorm", 3, 4)
    sealed = (storage.files.root.parent / IMPORTED_COHORT_FILE).read_bytes()
    assert extra.astype("<f8").tobytes()[:64] not in sealed  # not stored in the clear
    assert _audit(storage, "cohort_imported")[0]["size"] == 4
    # an image, a pickle, or another model's file is refused
    bad = io.BytesIO()
    np.savez(bad, model_id=np.array(MODEL), vectors=extra, image=np.zeros((8, 8, 3)))
    with pytest.raises(CohortFileInvalid):
        parse_cohort_npz(bad.getvalue(), MODEL, 128)
    with pytest.raises(CohortFileInvalid):
        parse_cohort_npz(b"not a zip", MODEL, 128)
