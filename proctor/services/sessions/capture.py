"""Use cases: answer a capture challenge with one snapshot (``SubmitSnapshot``) or with a
liveness burst (``SubmitBurst``).

Each runs the same three steps, so that no database lock is held while the face pipeline
runs:

1. ``ClaimChallenge``: decode first (an unusable file is refused with its 4xx code and costs
   no attempt), then claim the challenge in one write transaction, with the consent gate;
2. measure outside any transaction (``Pipeline.measure`` / ``BurstJudge.judge_burst``), add
   what the session knows (``session_measurements``), then decide once with
   ``proctor.decision.capture.decide_capture`` and the ``OperatingPolicy``;
3. ``RecordDecision``: store the decision with the thresholds that decided and the policy id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from proctor.decision.capture import (
    CaptureContext,
    CaptureMeasurements,
    LivenessMeasure,
    decide_capture,
)
from proctor.decision.policy import OperatingPolicy
from proctor.errors import ImageError, ModelUnavailable
from proctor.liveness.light_code import LightCodeMeasures, light_code_for, measure_burst
from proctor.liveness.outcome import BurstChecker, BurstJudge, BurstJudgement, BurstUpload
from proctor.liveness.reference_replay import nearest_hamming_bits
from proctor.liveness.replay import Fingerprint, measure_replay
from proctor.matching.cohort import Cohort
from proctor.matching.decision import template_distance
from proctor.matching.references import score_live_reference
from proctor.ports import FaceVerifier
from proctor.services.sessions.claim import ClaimChallenge, Claimed
from proctor.services.sessions.recording import RecordDecision
from proctor.services.sessions.views import OnRecorded, SubmissionResult
from proctor.types import DecodedImage, FaceMeasurement

CohortSource = Callable[[], Cohort | None]  # the cohort the pipeline scores with now


def session_measurements(
    face: FaceMeasurement | None,
    claimed: Claimed,
    liveness: LivenessMeasure | None = None,
    timings: dict[str, float] | None = None,
    cohort: CohortSource | None = None,
    burst: BurstJudgement | None = None,
    light: LightCodeMeasures | None = None,
) -> CaptureMeasurements:
    """The face measurement plus what the session adds: anchor distance, replay hashes, how
    close the capture is to a copy of the reference (hashes incl. mirrored ones, the
    mirror's template), its L2 and z against the driver's ``live_verified`` reference
    when the claim found one (the z on ``cohort``, as the authority photo's; only when the
    authority's z was measured too), and for a burst the light-code and continuity
    measures. Measures only; ``decide_capture`` decides."""
    continuity = burst.continuity if burst is not None else None
    if face is None:  # a burst with no usable face in any frame
        return CaptureMeasurements.of_face(
            None, liveness=liveness, timings_ms=timings, light_code=light, continuity=continuity
        )
    anchor_l2 = None
    if claimed.anchor is not None and face.probe is not None:
        anchor_l2 = template_distance(face.probe, claimed.anchor)
    probe = Fingerprint(face.pixel_sha256, face.perceptual_hash)
    replay = measure_replay(probe, claimed.earlier, claimed.references)
    mirror_l2 = None
    if claimed.mirror is not None and face.probe is not None:
        mirror_l2 = template_distance(face.probe, claimed.mirror)
    ref_bits = nearest_hamming_bits(
        face.perceptual_hash, [fp.perceptual_hash for fp in claimed.references]
    )
    live = None
    if claimed.live is not None and face.probe is not None and face.reference_l2 is not None:
        c = cohort() if cohort is not None and face.reference_z is not None else None
        live = score_live_reference(face.probe, claimed.live, claimed.template, c)
    return CaptureMeasurements.of_face(
        face,
        anchor_l2=anchor_l2,
        replay=replay,
        liveness=liveness,
        timings_ms=timings,
        reference_hash_bits=ref_bits,
        reference_mirror_l2=mirror_l2,
        live_reference=live,
        light_code=light,
        continuity=continuity,
    )


class _Decide:
    """Steps 2b and 3, shared by snapshot and burst: decide once, then record."""

    def __init__(
        self,
        policy: Callable[[], OperatingPolicy],
        claim: ClaimChallenge,
        record: RecordDecision,
        cohort: CohortSource | None = None,
    ) -> None:
        # A callable gives the policy naming the live s-norm cohort (issue 21): the same
        # thresholds, read once per capture so the decision names the cohort it ran with.
        self._policy, self._claim, self._record = policy, claim, record
        self._cohort = cohort  # scores the live_verified reference like the authority photo

    def decide_and_record(
        self,
        session_id: str,
        driver_id: str,
        challenge_id: str,
        claimed: Claimed,
        face: FaceMeasurement | None,
        measured: CaptureMeasurements,
        on_recorded: OnRecorded | None,
    ) -> SubmissionResult:
        context = CaptureContext(anchored=claimed.anchor is not None)
        decision = decide_capture(measured, context, self._policy())  # the one decision site
        return self._record(
            session_id,
            driver_id,
            challenge_id,
            claimed,
            face,
            decision,
            measured.anchor_l2,
            on_recorded,
        )


class SubmitSnapshot(_Decide):
    def __init__(
        self,
        policy: Callable[[], OperatingPolicy],
        claim: ClaimChallenge,
        record: RecordDecision,
        verifier: FaceVerifier,
        image_check: Callable[[bytes], DecodedImage] | None = None,
        cohort: CohortSource | None = None,
    ) -> None:
        super().__init__(policy, claim, record, cohort)
        self._verifier = verifier
        # Decode an upload before its challenge is claimed: an unusable file (wrong format,
        # corrupt, truncated, too large) is refused with its 4xx code and costs no attempt.
        # The decoded pixels travel to the comparison explicitly.
        self._image_check = image_check

    def __call__(
        self,
        session_id: str,
        driver_id: str,
        challenge_id: str,
        image: bytes,
        *,
        on_recorded: OnRecorded | None = None,
    ) -> SubmissionResult:
        """``on_recorded(uow, result)`` runs inside the recording transaction, before its
        commit: the HTTP layer stores its idempotent answer there, so the decision and the
        answer that reports it are durable together or not at all."""
        probe: bytes | DecodedImage = image
        if self._image_check is not None:
            probe = self._image_check(image)  # raises ImageError: nothing claimed, no strike
        claimed = self._claim(session_id, driver_id, challenge_id, burst=False)
        face: FaceMeasurement | None = None
        try:
            face = self._verifier.measure(claimed.template, probe)
        except ImageError as bad:
            measured = CaptureMeasurements(image_error=bad.code)
        else:
            measured = session_measurements(face, claimed, cohort=self._cohort)
        return self.decide_and_record(
            session_id, driver_id, challenge_id, claimed, face, measured, on_recorded
        )


class SubmitBurst(_Decide):
    """A failed liveness check is a failed attempt (a strike, like a mismatch) and raises
    ``spoof_suspected`` for a human, never a blacklist. A challenge without actions may also
    be answered with a burst. An unusable upload (too many frames, too large, wrong type,
    undecodable) is refused with its own code before the challenge is claimed.

    With the policy's light code on, a challenge with actions carries the screen-light code
    derived from its id (``light_code_for``); the face's colour on the tracked frames is
    measured against it, timed by ``frame_times_s`` (the client's time of each frame from
    the code's start) when usable, and ``decide_capture`` judges it (issue 20)."""

    def __init__(
        self,
        policy: Callable[[], OperatingPolicy],
        claim: ClaimChallenge,
        record: RecordDecision,
        judge: BurstJudge | None,
        burst_check: BurstChecker | None = None,
        cohort: CohortSource | None = None,
    ) -> None:
        super().__init__(policy, claim, record, cohort)
        self._judge, self._burst_check = judge, burst_check

    def __call__(
        self,
        session_id: str,
        driver_id: str,
        challenge_id: str,
        frames: BurstUpload,
        *,
        on_recorded: OnRecorded | None = None,
        frame_times_s: Sequence[float] | None = None,
    ) -> SubmissionResult:
        if self._judge is None:
            raise ModelUnavailable("no burst judge is configured for liveness bursts")
        # decode first (raises ImageError: nothing claimed); the frames travel explicitly
        decoded = self._burst_check.check_burst(frames) if self._burst_check else None
        claimed = self._claim(session_id, driver_id, challenge_id, burst=True)
        face: FaceMeasurement | None = None
        try:
            judgement = self._judge.judge_burst(claimed.template, frames, claimed.actions, decoded)
        except ImageError as bad:
            measured = CaptureMeasurements(image_error=bad.code)
        else:
            face = judgement.verification
            live = LivenessMeasure(judgement.liveness.passed, judgement.liveness.reasons)
            timings = {f"burst_{k}": v for k, v in judgement.timings_ms.items()}
            light = None
            if claimed.actions and judgement.tracked and self._policy().light_code is not None:
                code = light_code_for(challenge_id)
                light = measure_burst(
                    code,
                    judgement.frame_times_s,
                    judgement.tracked,
                    judgement.colours,
                    frame_times_s,
                )
            measured = session_measurements(
                face, claimed, live, timings, self._cohort, judgement, light
            )
        return self.decide_and_record(
            session_id, driver_id, challenge_id, claimed, face, measured, on_recorded
        )
