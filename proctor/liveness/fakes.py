"""``FakeBurstJudge``: a deterministic ``BurstJudge`` over ``FakeVerifier`` images (for tests).

The best frame is the first one, verified by the given verifier; the liveness
result is ``liveness_reasons`` (default: passed). Set ``liveness_reasons`` to
e.g. ``("flat_motion_suspected",)`` to make every burst fail liveness.
"""

from __future__ import annotations

from collections.abc import Sequence

from proctor.liveness.errors import EmptyBurst
from proctor.liveness.judge import LivenessReason, LivenessResult
from proctor.liveness.outcome import BurstJudgement, BurstUpload, DecodedFrames
from proctor.ports import FaceVerifier
from proctor.types import Template


class FakeBurstJudge:
    def __init__(self, verifier: FaceVerifier, liveness_reasons: Sequence[str] = ()) -> None:
        self.verifier = verifier
        self.liveness_reasons = tuple(liveness_reasons)
        self.calls: list[tuple[str, ...]] = []

    def judge_burst(
        self,
        reference: Template,
        upload: BurstUpload,
        actions: Sequence[str],
        decoded: DecodedFrames | None = None,
    ) -> BurstJudgement:
        self.calls.append(tuple(actions))
        frames = [bytes(upload)] if isinstance(upload, bytes) else list(upload)
        if not frames:
            raise EmptyBurst("no frames received")
        result = self.verifier.measure(reference, frames[0])
        reasons = self.liveness_reasons or (LivenessReason.LIVENESS_PASSED.value,)
        passed = reasons == (LivenessReason.LIVENESS_PASSED.value,)
        live = LivenessResult(passed, reasons, tuple(actions), frames=len(frames))
        return BurstJudgement(live, result, {"judge": 1.0}, len(frames), len(frames), (0,))
