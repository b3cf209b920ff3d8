"""Domain errors with stable, public codes.

Tree::

    ProctorError (proctor_error)
    ├── ImageError
    │   ├── UnsupportedFormat (unsupported_format)
    │   ├── ImageTooLarge (image_too_large)
    │   ├── CorruptImage (corrupt_image)
    │   └── EmptyImage (empty_image)
    ├── ModelError
    │   ├── ModelIntegrityError (model_integrity)
    │   ├── ModelUnavailable (model_unavailable)
    │   └── ContractMismatch (contract_mismatch)
    ├── EnrollmentRejected (enrollment_rejected)
    └── IllegalTransition (illegal_transition)

Codes are API contract: never rename them. Other packages (rules, session, ...)
subclass ``ProctorError`` with codes of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class ProctorError(Exception):
    """Base of every domain error; ``code`` is a stable, public identifier."""

    code: ClassVar[str] = "proctor_error"

    def __init__(self, message: str = "", *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.details: dict[str, Any] = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class ImageError(ProctorError):
    code = "image_error"


class UnsupportedFormat(ImageError):
    code = "unsupported_format"


class ImageTooLarge(ImageError):
    code = "image_too_large"


class CorruptImage(ImageError):
    code = "corrupt_image"


class EmptyImage(ImageError):
    code = "empty_image"


class ModelError(ProctorError):
    code = "model_error"


class ModelIntegrityError(ModelError):
    code = "model_integrity"


class ModelUnavailable(ModelError):
    code = "model_unavailable"


class ContractMismatch(ModelError):
    code = "contract_mismatch"


class EnrollmentRejected(ProctorError):
    code = "enrollment_rejected"


class IllegalTransition(ProctorError):
    code = "illegal_transition"
