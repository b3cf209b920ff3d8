"""复核 review: case deadlines and recommendations (pure), the review profile and batch jobs.

Pure core (stdlib + numpy): ``queue``, ``report``. Ports: ``ports`` (units of work, the
``Engine`` and its ``Analysed`` results). Use cases: ``cases``, ``batch``, ``jobs``.
Adapters: ``profile`` (the stricter review profile's vision code), ``engines`` (a local
process pool or Ray), ``zones``. The layers contract in pyproject.toml enforces it.
"""
