"""Action challenges: which actions a burst must show, drawn server-side (pure core).

A challenge that asks for a burst carries 1–2 distinct actions in a random
order. Entry and exam-start challenges always ask for actions when bursts are
enabled; a random capture asks with probability ``random_share``; a retry asks
again when the challenge it replaces did (a proxy must not escape the actions
by failing once). Action values are persisted and public: never rename them.

Direction convention: ``turn_left`` is the driver turning to *their own* left.
In an unmirrored camera frame the nose then moves towards the image's right
edge (positive yaw in ``proctor.liveness.geometry``). The client must upload
unmirrored frames (a mirrored preview is fine).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    BLINK = "blink"
    TURN_LEFT = "turn_left"
    TURN_RIGHT = "turn_right"
    OPEN_MOUTH = "open_mouth"


GUIDANCE_ZH: dict[Action, str] = {
    Action.BLINK: "请眨眼",
    Action.TURN_LEFT: "请向左转头",
    Action.TURN_RIGHT: "请向右转头",
    Action.OPEN_MOUTH: "请张嘴",
}

# Challenge kinds (``proctor.capture.challenge.ChallengeKind`` values) that always
# ask for actions when bursts are enabled.
ALWAYS_KINDS = frozenset({"entry", "exam_start"})


@dataclass(frozen=True, slots=True)
class ActionDrawPolicy:
    """How many actions a burst challenge asks for, and how often random captures ask."""

    min_actions: int = 1
    max_actions: int = 2
    random_share: float = 0.3
    # The actions challenges draw from (an operator may leave out a weakly validated one).
    actions: tuple[Action, ...] = tuple(Action)

    def __post_init__(self) -> None:
        if not self.actions or len(set(self.actions)) != len(self.actions):
            raise ValueError("actions must be distinct and not empty")
        if not 1 <= self.min_actions <= self.max_actions <= len(self.actions):
            raise ValueError("need 1 <= min_actions <= max_actions <= number of actions")
        if not 0.0 <= self.random_share <= 1.0:
            raise ValueError("random_share must be in [0, 1]")


def draw_actions(rng: random.Random, policy: ActionDrawPolicy) -> tuple[Action, ...]:
    """1–2 distinct actions in random order (``rng.sample`` keeps the draw order)."""
    n = rng.randint(policy.min_actions, policy.max_actions)
    return tuple(rng.sample(list(policy.actions), n))


def parse_action_names(names: str) -> tuple[Action, ...]:
    """``"blink,turn_left"`` → the actions, in ``Action`` order; ValueError on unknown names."""
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    unknown = wanted - {a.value for a in Action}
    if unknown:
        raise ValueError(f"unknown liveness actions: {sorted(unknown)}")
    return tuple(a for a in Action if a.value in wanted)


def actions_for(
    kind: str,
    rng: random.Random,
    policy: ActionDrawPolicy,
    *,
    previous_had_actions: bool = False,
) -> tuple[Action, ...]:
    """The actions a new challenge of ``kind`` asks for; () means a single snapshot."""
    if kind in ALWAYS_KINDS or (kind == "retry" and previous_had_actions):
        return draw_actions(rng, policy)
    if kind == "random" and rng.random() < policy.random_share:
        return draw_actions(rng, policy)
    return ()


def guidance_for(actions: Iterable[str], prefix: str = "") -> str:
    """Chinese guidance listing the actions in order, e.g. ``请眨眼，然后请向左转头``."""
    parts = [GUIDANCE_ZH[Action(a)] for a in actions]
    text = "，然后".join(parts)
    if prefix and text:
        return f"{prefix}；{text}"
    return prefix or text


def parse_actions(values: Iterable[str]) -> tuple[Action, ...]:
    """Validate persisted action values; raises ValueError on an unknown one."""
    return tuple(Action(v) for v in values)
