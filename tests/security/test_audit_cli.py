"""SECURITY.md AL2 through the command line: ``proctor audit checkpoint`` writes a MACed
checkpoint outside the database and ``proctor audit verify`` checks the chain *and* the
newest checkpoint. An attacker who cuts the tail and rewrites ``audit_head`` passes the
chain check alone (the control) but not ``verify`` with the checkpoint file. Figures:
var/artifacts/security/audit_cli.md.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete
from typer.testing import CliRunner

from proctor.cli import app
from proctor.storage.tables import AuditHeadRow, AuditRow

from .artifacts import write_table
from .test_audit_mutations import N, _fix_head, _seeded

KEY = bytes(32)


def _run(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["audit", *args])
    assert result.stdout.strip(), result.output
    return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def chain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], Any]:
    monkeypatch.setenv("PROCTOR_MASTER_KEY", base64.b64encode(KEY).decode())
    monkeypatch.delenv("PROCTOR_AUDIT_CHECKPOINTS", raising=False)
    storage = _seeded(tmp_path)
    common = ["--db", f"sqlite:///{tmp_path / 'a.db'}", "--data-dir", str(tmp_path)]
    return common, storage


def test_checkpoint_then_truncation_is_caught_by_proctor_audit_verify(
    chain: tuple[list[str], Any], tmp_path: Path
) -> None:
    common, storage = chain
    rows: list[list[object]] = []
    code, out = _run("verify", *common)
    assert code == 0 and out["ok"] and out["checkpoint"] is None and out["checked"] == N
    rows.append(["verify, no checkpoint yet", code, out["checked"], out["problem"]])
    code, out = _run("verify", *common, "--require-checkpoint")
    assert code == 1 and out["problem"] == "no checkpoint"
    rows.append(["verify --require-checkpoint, none", code, out["checked"], out["problem"]])

    code, out = _run("checkpoint", *common)
    assert code == 0 and out["written"]["seq"] == N, out
    cp_file = tmp_path / "audit-checkpoints.jsonl"
    assert Path(out["written"]["file"]) == cp_file and cp_file.exists()
    rows.append(["checkpoint", code, out["checked"], f"written seq {out['written']['seq']}"])
    code, out = _run("verify", *common)
    assert code == 0 and out["ok"] and out["checkpoint"]["seq"] == N
    rows.append(["verify with checkpoint", code, out["checked"], out["problem"]])

    cut = 0
    for keep in (N - 1, N // 2, 0):  # cut the tail, rewrite audit_head to match
        with storage.sessionmaker() as s, s.begin():
            s.execute(delete(AuditRow).where(AuditRow.seq > keep))
            if keep:
                _fix_head(s)
            else:
                head = s.get(AuditHeadRow, 1)
                assert head is not None
                head.seq, head.entry_hash = 0, "0" * 64
        assert storage.verify_audit().ok  # control: the chain alone cannot see the cut
        code, out = _run("verify", *common)
        assert code == 1 and not out["ok"], out
        assert out["problem"] == "truncated before checkpoint" and out["first_bad_seq"] == N
        rows.append([f"verify after cutting to {keep} entries", code, out["checked"],
                     out["problem"]])  # fmt: skip
        cut += 1
        # the checkpoint command refuses to vouch for the cut chain (nothing appended)
        lines = cp_file.read_text().count("\n")
        code, out = _run("checkpoint", *common)
        assert code == 1 and "written" not in out and cp_file.read_text().count("\n") == lines
    rows.append(["checkpoint on a cut chain", code, out["checked"], "refused, nothing written"])
    assert cut == 3
    write_table("audit_cli.md", "AL2 through `proctor audit` (24-entry chain)",
                ["step", "exit", "checked", "problem"], rows)  # fmt: skip


def test_forged_or_garbled_checkpoint_fails_verify(
    chain: tuple[list[str], Any], tmp_path: Path
) -> None:
    common, _ = chain
    cp_file = tmp_path / "elsewhere" / "cp.jsonl"
    code, out = _run("checkpoint", *common, "--checkpoints", str(cp_file))
    assert code == 0 and out["written"]["file"] == str(cp_file)
    line = json.loads(cp_file.read_text().splitlines()[-1])
    forged = line | {"seq": line["seq"] + 5}  # claim more entries than were checkpointed
    with cp_file.open("a") as fh:
        fh.write(json.dumps(forged) + "\n")
    code, out = _run("verify", *common, "--checkpoints", str(cp_file))
    assert code == 1 and out["problem"] == "checkpoint forged"
    with cp_file.open("a") as fh:
        fh.write("{not json\n")
    code, out = _run("verify", *common, "--checkpoints", str(cp_file))
    assert code == 1 and "unreadable" in out["problem"]
