"""The capture decision (pure core): measurements in, one verdict with its reasons out.

``capture.decide_capture`` is the only place a capture is judged; ``policy.OperatingPolicy``
holds every threshold it may use; ``reasons`` is the one vocabulary of its codes.
"""
