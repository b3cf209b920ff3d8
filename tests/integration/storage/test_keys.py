"""Master key: from the environment or a key file created once with mode 0600."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from proctor.storage.keys import MasterKeyError, load_master_key, open_sealed, seal


def test_key_file_created_once_with_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    first = load_master_key(env={}, key_file=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_master_key(env={}, key_file=path) == first
    assert len(first) == 32


def test_open_key_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    load_master_key(env={}, key_file=path)
    os.chmod(path, 0o644)
    with pytest.raises(MasterKeyError):
        load_master_key(env={}, key_file=path)


def test_env_key_wins_and_is_validated(tmp_path: Path) -> None:
    key = bytes(range(32))
    env = {"PROCTOR_MASTER_KEY": base64.b64encode(key).decode()}
    assert load_master_key(env=env, key_file=tmp_path / "unused") == key
    assert not (tmp_path / "unused").exists()
    with pytest.raises(MasterKeyError):
        load_master_key(env={"PROCTOR_MASTER_KEY": "c2hvcnQ="})


def test_seal_is_authenticated() -> None:
    key = os.urandom(32)
    sealed = seal(key, b"crop", b"id-1")
    assert open_sealed(key, sealed, b"id-1") == b"crop"
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        open_sealed(key, sealed, b"id-2")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(Exception):  # noqa: B017
        open_sealed(key, tampered, b"id-1")
