"""Liveness and replay defences.

Pure core (stdlib + numpy): ``actions``, ``geometry``, ``judge``, ``replay``, ``outcome``
(the ``BurstJudge`` port and its result), ``errors``, ``fakes``. Adapter: ``burst`` (video
decode, dlib landmarks). The split is enforced by the layers contract in pyproject.toml.
"""
