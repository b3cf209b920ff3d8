"""复核 review: case deadlines and recommendations (pure), the review profile and batch jobs.

``queue`` and ``report`` are pure core (stdlib + numpy). ``profile`` holds the vision
adapters of the stricter review profile; ``batch`` orchestrates jobs through injected
ports; ``engines`` runs the per-snapshot work on a local process pool or on Ray.
"""
