"""A number's states on one account and the only moves between them; the store applies each move atomically."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any

from bot.store import Transition


class State(StrEnum):
    NEW = "new"  # a row exists, nothing was asked of a provider yet (only ever inside a transaction)
    ADDING = "adding"  # an add is in flight
    AWAITING_OTP = "awaiting_otp"  # Kaleyra v2 added it and sent a code (or a person says one was sent)
    VERIFIED = "verified"
    ADDED = "added"  # Kaleyra v1 and Meta adds: no OTP step in this bot
    KNOWN = "known"  # first seen through an update of a number added outside the bot
    FAILED = "failed"  # the provider refused the add
    UNKNOWN = "unknown"  # the add may or may not have happened: no answer, or a process died mid-way


class Move(StrEnum):
    START_ADD = "start_add"
    AWAIT_OTP = "await_otp"
    ADDED = "added"
    ADD_FAILED = "add_failed"
    ADD_UNKNOWN = "add_unknown"
    IDENTIFY = "identify"  # a person typed the phone number ID a code was sent under
    KNOW = "know"
    VERIFY = "verify"


# move → (the states it may start from, the state it ends in)
MOVES: dict[Move, tuple[frozenset[State], State]] = {
    Move.START_ADD: (frozenset({State.NEW, State.FAILED, State.UNKNOWN, State.KNOWN}), State.ADDING),
    # An answer that comes after the sweeper gave up on it (unknown) is still the truth.
    Move.AWAIT_OTP: (frozenset({State.ADDING, State.UNKNOWN}), State.AWAITING_OTP),
    Move.ADDED: (frozenset({State.ADDING, State.UNKNOWN}), State.ADDED),
    Move.ADD_FAILED: (frozenset({State.ADDING}), State.FAILED),
    Move.ADD_UNKNOWN: (frozenset({State.ADDING}), State.UNKNOWN),
    Move.IDENTIFY: (
        frozenset({State.NEW, State.KNOWN, State.FAILED, State.UNKNOWN, State.AWAITING_OTP}),
        State.AWAITING_OTP,
    ),
    Move.KNOW: (frozenset({State.NEW}), State.KNOWN),
    Move.VERIFY: (frozenset({State.AWAITING_OTP}), State.VERIFIED),
}


# States in which a new add would spend money or contradict the thread: /wa-add answers with the state instead.
LIVE = frozenset({State.ADDING, State.AWAITING_OTP, State.VERIFIED, State.ADDED})


def to(move: Move, profile: dict[str, Any] | None = None, **fields: Any) -> Transition:
    """The conditional write for `move`, setting `fields` on the way and merging `profile` into the stored one."""
    sources, target = MOVES[move]
    return Transition(sources, target, fields, profile=profile or {})


def stay_awaiting(cooldown: timedelta | None = None, **fields: Any) -> Transition:
    """Not a move: the verify and resend guard (only while a code is awaited, and, with `cooldown`, only if no
    code was asked for within it), setting `fields` on the way."""
    return Transition(frozenset({State.AWAITING_OTP}), None, fields, otp_cooldown=cooldown)


def keep_state(profile: dict[str, Any] | None = None, **fields: Any) -> Transition:
    """Not a move: columns set whatever the state, and `profile` merged into the stored one (after an update)."""
    return Transition(frozenset(), None, fields, profile=profile or {})
