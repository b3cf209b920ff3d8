"""Signed, expiring bearer tokens carrying a subject and a role.

Format: ``base64url(json payload) "." base64url(HMAC-SHA256(secret, payload))``.
The payload holds ``sub``, ``role`` and ``exp`` (Unix seconds). No external JWT
library: the format is small and the verification is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    DRIVER = "driver"
    REVIEWER = "reviewer"
    ADJUDICATOR = "adjudicator"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role


class TokenInvalid(Exception):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: bytes, ttl_s: int = 3600) -> None:
        if len(secret) < 16:
            raise ValueError("token secret must be at least 16 bytes")
        self._secret = secret
        self.ttl_s = ttl_s

    def issue(self, subject: str, role: Role, now: float | None = None) -> str:
        exp = int((now if now is not None else time.time()) + self.ttl_s)
        payload = json.dumps(
            {"sub": subject, "role": role.value, "exp": exp}, separators=(",", ":")
        )
        body = _b64(payload.encode())
        return body + "." + _b64(self._sign(body))

    def verify(self, token: str, now: float | None = None) -> Principal:
        try:
            body, sig = token.split(".", 1)
            expected = self._sign(body)
            if not hmac.compare_digest(expected, _unb64(sig)):
                raise TokenInvalid("bad signature")
            data = json.loads(_unb64(body))
            if int(data["exp"]) < (now if now is not None else time.time()):
                raise TokenInvalid("token expired")
            return Principal(str(data["sub"]), Role(data["role"]))
        except TokenInvalid:
            raise
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenInvalid("malformed token") from exc

    def _sign(self, body: str) -> bytes:
        return hmac.new(self._secret, body.encode(), hashlib.sha256).digest()
