"""Master key loading and envelope-encryption helpers (AES-256-GCM, ``cryptography``).

The 32-byte master key (KEK) comes from ``PROCTOR_MASTER_KEY`` (base64) or a key
file (``PROCTOR_MASTER_KEY_FILE``, default ``var/master.key``) that is created
once with mode 0600 and refused if group or others can read it. Sub-keys for the
audit HMAC and template sealing are derived with HKDF-SHA256, so one secret
lives outside the database.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from proctor.errors import ProctorError

KEY_BYTES = 32
NONCE_BYTES = 12
DEFAULT_KEY_FILE = Path("var/master.key")


class MasterKeyError(ProctorError):
    code = "master_key_invalid"


def _decode(raw: str, where: str) -> bytes:
    try:
        key = base64.b64decode(raw.strip(), altchars=b"-_", validate=False)
    except (binascii.Error, ValueError) as exc:
        raise MasterKeyError(f"{where}: not base64") from exc
    if len(key) != KEY_BYTES:
        raise MasterKeyError(f"{where}: need {KEY_BYTES} bytes, got {len(key)}")
    return key


def load_master_key(env: Mapping[str, str] | None = None, key_file: Path | None = None) -> bytes:
    env = os.environ if env is None else env
    raw = env.get("PROCTOR_MASTER_KEY")
    if raw:
        return _decode(raw, "PROCTOR_MASTER_KEY")
    path = key_file or Path(env.get("PROCTOR_MASTER_KEY_FILE", str(DEFAULT_KEY_FILE)))
    try:
        return _read_key_file(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = os.urandom(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race
        return _read_key_file(path)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64encode(key) + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    return key


def _read_key_file(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MasterKeyError(f"{path}: mode {oct(mode & 0o777)} is too open; need 0600")
    return _decode(path.read_text(), str(path))


def derive_key(master: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()
    ).derive(master)


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """nonce || AES-256-GCM(ciphertext+tag)."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
