"""Import the reference implementation, face_recognition, defensively.

Its ``api.py`` calls ``quit()`` when ``face_recognition_models`` fails to import,
and that package imports ``pkg_resources``; so a missing setuptools surfaces as
SystemExit. Both become ModelUnavailable here.
"""

from __future__ import annotations

import warnings
from types import ModuleType

from proctor.errors import ModelUnavailable


def load_face_recognition() -> ModuleType:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import face_recognition
    except (ImportError, SystemExit) as exc:
        raise ModelUnavailable(
            "the reference package face_recognition is not importable "
            "(install with `pip install --no-deps face-recognition==1.3.0`)"
        ) from exc
    module: ModuleType = face_recognition
    return module
