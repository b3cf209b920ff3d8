"""Use case: enrol a driver's reference (template, replay fingerprints, mirrored template)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from proctor.clock import Clock
from proctor.errors import ProctorError
from proctor.liveness.reference_replay import mirrored_fingerprints
from proctor.liveness.replay import Fingerprint
from proctor.ports import FaceVerifier
from proctor.services.common import SYSTEM_ACTOR, new_id
from proctor.services.ports import UnitOfWork
from proctor.services.template_keys import mirror_key
from proctor.types import Template


class EnrolReference:
    """Writes the reference a capture is compared with. Only staff routes reach it (a driver
    never sets their own reference, issue 17)."""

    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        verifier: FaceVerifier,
        clock: Clock,
        rng: random.Random,
        mirror_image: Callable[[bytes], bytes | None] | None = None,
    ) -> None:
        self._uow, self._verifier, self._clock, self._rng = uow, verifier, clock, rng
        # flips a photo left-right (an imaging adapter): a mirrored copy of the reference
        # lands on the mirrored photo's template (issue 17); None: no mirror template
        self._mirror_image = mirror_image

    def enroll(self, driver_id: str, photos: Sequence[bytes], display_name: str = "") -> str:
        """Enroll reference photos; returns the surrogate subject key (identity kept apart)."""
        template = self._verifier.enroll(photos)
        refs: list[Fingerprint] = []
        for photo in photos:
            r = self._verifier.measure(template, photo)
            refs.append(Fingerprint(r.pixel_sha256, r.perceptual_hash))
        refs += mirrored_fingerprints(template, refs)  # a mirrored copy is a replay too
        mirror = self.mirror_template(photos[0])
        now = self._clock.now()
        with self._uow() as uow:
            subject_key = uow.drivers.subject_key(driver_id)
            if subject_key is None:
                subject_key = new_id(self._rng)
                uow.drivers.add(driver_id, subject_key, display_name, now)
            uow.templates.put(subject_key, template, now)
            if mirror is not None:
                uow.templates.put(mirror_key(subject_key), mirror, now)
            for fp in refs:
                uow.fingerprints.add(subject_key, fp, now, reference=True)
            uow.audit.append(
                actor=SYSTEM_ACTOR,
                action="driver_enrolled",
                subject=driver_id,
                details={"model_id": template.model_id, "photos": len(photos)},
                at=now,
            )
            uow.commit()
        return subject_key

    def mirror_template(self, photo: bytes) -> Template | None:
        """The template of the photo flipped left-right: a mirrored copy of the reference
        lands on it (issue 17). None when the photo cannot be mirrored or enrolled."""
        flipped = None if self._mirror_image is None else self._mirror_image(photo)
        if flipped is None:
            return None
        try:
            return self._verifier.enroll([flipped])
        except ProctorError:
            return None
