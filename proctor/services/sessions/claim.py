"""Step 1 of a capture: claim the challenge (single use) in its own write transaction.

A concurrent second claim sees ``submitted`` and is refused as ``challenge_reused``. The
claim reads everything the measurement needs (reference, anchor, fingerprints, mirror, and
the driver's valid ``live_verified`` reference for the two-reference rule), so no
transaction is open while the face pipeline runs."""

from __future__ import annotations

from dataclasses import dataclass

from proctor.capture.challenge import BurstRequired, ChallengeRefused, ChallengeUnknown
from proctor.liveness.replay import Fingerprint
from proctor.services.common import NotEnrolled
from proctor.services.sessions.store import SessionStore
from proctor.services.sessions.views import AdmitCapture, anchor_key
from proctor.services.template_keys import mirror_key
from proctor.services.two_references import LiveReference
from proctor.types import Template


@dataclass(frozen=True, slots=True)
class Claimed:
    """What a claimed challenge is measured against."""

    subject_key: str
    template: Template
    anchor: Template | None
    earlier: list[Fingerprint]
    references: list[Fingerprint]
    actions: tuple[str, ...]
    mirror: Template | None = None  # the mirrored reference's template (issue 17)
    live: Template | None = None  # the valid live_verified reference (实人认证), issue 21


class ClaimChallenge:
    def __init__(
        self,
        store: SessionStore,
        admit: AdmitCapture | None = None,
        live_reference: LiveReference | None = None,
        model_id: str | None = None,
    ) -> None:
        self._store = store
        self._live = live_reference
        # the face model this service measures with: templates of another model are
        # never compared (a model change re-enrols references; cards/dlib_resnet_v1_q8.md)
        self._model_id = model_id
        # the capture gate (consent on record), run in the claim's transaction so that
        # every caller (HTTP, batch, tests) meets the same rule
        self._admit = admit

    def _same_model(self, t: Template | None) -> bool:
        return t is not None and (self._model_id is None or t.model_id == self._model_id)

    def authorize(self, session_id: str, driver_id: str, challenge_id: str) -> None:
        """Read-only: raise the refusal a submission would get for someone else's or an
        unknown challenge (before an upload is read or decoded). Changes nothing."""
        st = self._store
        with st.uow() as uow:
            s = st.load_for_challenge(uow, session_id, driver_id, challenge_id)
            if challenge_id not in s.challenges:
                raise ChallengeUnknown(details={"challenge_id": challenge_id})

    def __call__(
        self, session_id: str, driver_id: str, challenge_id: str, *, burst: bool
    ) -> Claimed:
        st = self._store
        with st.uow() as uow:
            s = st.load_for_challenge(uow, session_id, driver_id, challenge_id)
            if self._admit is not None:
                self._admit(uow, driver_id)
            try:
                pending = s.challenges.get(challenge_id)
                if not burst and pending is not None and pending.actions and pending.pending:
                    raise BurstRequired(
                        "this challenge asks for actions: answer it with a liveness burst "
                        "(POST .../bursts)",
                        details={"challenge_id": challenge_id, "actions": list(pending.actions)},
                    )
                challenge = s.claim(challenge_id, st.clock.now())
            except ChallengeRefused as refused:
                st.refuse(uow, s, challenge_id, refused)
                raise
            subject_key = uow.drivers.subject_key(driver_id)
            template = uow.templates.get(subject_key) if subject_key else None
            if subject_key is None or template is None:
                raise NotEnrolled(details={"driver_id": driver_id})
            if not self._same_model(template):
                # refused before anything is written: the challenge stays unanswered
                raise NotEnrolled(
                    "the driver's reference was enrolled with another face model: enrol it again",
                    details={
                        "driver_id": driver_id,
                        "reason": "reference_model_outdated",
                        "reference_model": template.model_id,
                        "model": self._model_id,
                    },
                )
            anchor = uow.templates.get(anchor_key(s.id)) if st.anchored else None
            mirror = uow.templates.get(mirror_key(subject_key))
            live = self._live(uow, subject_key) if self._live is not None else None
            claimed = Claimed(
                subject_key=subject_key,
                template=template,
                # an anchor or a live reference of another model is as good as none
                anchor=anchor if self._same_model(anchor) else None,
                earlier=uow.fingerprints.snapshots(subject_key),
                references=uow.fingerprints.references(subject_key),
                actions=challenge.actions,
                mirror=mirror if self._same_model(mirror) else None,
                live=live if self._same_model(live) else None,
            )
            st.flush(uow, s)
            uow.commit()
            return claimed
