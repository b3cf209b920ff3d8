"""What the session records for one decided capture: the ``CaptureDecision`` itself.

Captures are judged in one place, ``proctor.decision.capture.decide_capture``; the
session only counts strikes from the decision. ``ComparisonOutcome`` is kept as the
session's name for that decision type.
"""

from __future__ import annotations

from proctor.decision.capture import CaptureDecision
from proctor.decision.policy import FlagPolicy

ComparisonOutcome = CaptureDecision

__all__ = ["ComparisonOutcome", "FlagPolicy"]
