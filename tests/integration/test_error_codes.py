"""Every ``ProctorError`` code has its HTTP status in ``api/errors.py`` (issue 16): a code
without one would silently answer 400 ``http_error``."""

from __future__ import annotations

import importlib
import pkgutil

import api
import proctor
from api.errors import STATUS_BY_CODE
from proctor.errors import ProctorError

OPTIONAL = {"ray"}  # extras that may be absent; their modules are skipped


def _import_everything() -> None:
    for pkg in (proctor, api):
        for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
            if info.name.endswith("__main__"):
                continue  # runs the CLI
            try:
                importlib.import_module(info.name)
            except ImportError as exc:
                if exc.name not in OPTIONAL:
                    raise


def _subclasses(cls: type[ProctorError]) -> set[type[ProctorError]]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub, *_subclasses(sub)}
    return out


def test_every_error_code_has_an_http_status() -> None:
    _import_everything()
    classes = _subclasses(ProctorError)
    assert len(classes) > 40  # the walk found the whole tree
    codes = {c.code for c in classes} | {ProctorError.code}
    missing = sorted(code for code in codes if code not in STATUS_BY_CODE)
    assert not missing, f"codes without an HTTP status in api/errors.py: {missing}"
    assert all(100 <= s < 600 for s in STATUS_BY_CODE.values())
