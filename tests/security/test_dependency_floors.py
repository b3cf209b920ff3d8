"""SECURITY.md U2 (and H1 in part): the installed multipart stack is at least the releases
that fixed the known multipart denial-of-service advisories, and our form parsing passes
explicit limits. The floors, with the advisory that set each:

* python-multipart 0.0.18: boundary DoS (GHSA-59g5-xgcq-4qw3, CVE-2024-53981);
  0.0.26: large preamble/epilogue (GHSA-mj87-hwqh-73pj); 0.0.27: unbounded part
  headers (GHSA-pp6c-gr5w-3c5g, CVE-2026-42561); 0.0.30: quadratic querystring parsing
  (GHSA-5rvq-cxj2-64vf); 0.0.31: negative Content-Length buffers the body
  (GHSA-v9pg-7xvm-68hf). Floor: 0.0.31.
* Starlette 0.25.0: unlimited parts (GHSA-74m5-2c7w-9w3x); 0.40.0: unbounded field size,
  ``max_part_size`` (GHSA-f96h-pmfr-66vw, CVE-2024-47874); 1.3.1: ``request.form()``
  limits ignored for urlencoded bodies (GHSA-82w8-qh3p-5jfq, CVE-2026-54283). Floor: 1.3.1.
"""

from __future__ import annotations

import ast
import inspect
from importlib.metadata import version

import pytest

from api import limits

FLOORS = {"python-multipart": (0, 0, 31), "starlette": (1, 3, 1)}


def _parse(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split(".")[:3] if p.isdigit())


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_multipart_stack_is_at_least_the_patched_release(package: str) -> None:
    installed = version(package)
    assert _parse(installed) >= FLOORS[package], (package, installed)


def test_every_form_parse_passes_explicit_limits() -> None:
    tree = ast.parse(inspect.getsource(limits))
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "form"
    ]
    assert calls, "api.limits no longer parses forms: move this check with the parsing"
    for call in calls:
        given = {k.arg for k in call.keywords}
        assert {"max_files", "max_fields", "max_part_size"} <= given, (call.lineno, given)
