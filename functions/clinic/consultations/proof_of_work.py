"""Proof of work (ALTCHA, PoW v2): the challenges GET /consultations/challenge issues and the
check of the solution a POST carries in its `altcha` field.

The `altcha` library does the cryptography. A challenge is made in its deterministic mode: the
server picks the counter (below `max_number`, the difficulty) and signs the derived key, so
the browser must try counters until it finds that one, while checking a solution costs the
server two HMACs and no key derivation. Whether a solution was already used is the store's
part (a conditional write in the guard table, in the lead's own transaction).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import altcha

from clinic.leads.record import QuarantineReason

ALGORITHM = "PBKDF2/SHA-256"  # the widget's default, solved with WebCrypto in its workers


@dataclass(frozen=True)
class ChallengePolicy:
    cost: int  # PBKDF2 iterations per counter the browser tries
    max_number: int  # the counter is drawn below this: the browser tries half of it on average
    expiry_seconds: int  # how long a challenge may be solved and sent


@dataclass(frozen=True)
class SolutionClaim:
    """A verified solution, to record as used until its challenge expires."""

    solution_id: str  # a hash of the challenge's signature: unique to the challenge, nothing personal
    expires_at: int


@dataclass(frozen=True)
class ProofOfWork:
    """The check of a request's `altcha` field: a claim to record, or why it failed."""

    claim: SolutionClaim | None = None
    failure: QuarantineReason | None = None


def _labelled(key: bytes, label: str) -> bytes:
    # One secret, a separate key for each use: the challenge's signature and the derived key's.
    return hmac.new(key, label.encode(), hashlib.sha256).digest()


class ChallengeIssuer:
    def __init__(
        self,
        key: Callable[[], bytes],  # a ChallengeKey in the function
        policy: ChallengePolicy,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self._policy = policy
        self._clock = clock

    def _keys(self) -> tuple[bytes, bytes]:
        key = self._key()
        return _labelled(key, "altcha-challenge"), _labelled(key, "altcha-derived-key")

    def issue(self) -> dict[str, Any]:
        """A new signed challenge, as the library makes it and the widget reads it."""
        challenge_key, derived_key_key = self._keys()
        challenge = altcha.create_challenge(
            algorithm=ALGORITHM,
            cost=self._policy.cost,
            counter=secrets.randbelow(self._policy.max_number),
            expires_at=int(self._clock()) + self._policy.expiry_seconds,
            hmac_secret=challenge_key,
            hmac_key_secret=derived_key_key,
        )
        return challenge.to_dict()

    def check(self, payload: str | None) -> ProofOfWork:
        """Whether `payload` (the widget's base64 JSON) solves a challenge this API signed and
        that has not expired. Never raises for what a client sent."""
        if not payload:
            return ProofOfWork(failure=QuarantineReason.PROOF_OF_WORK_MISSING)
        challenge_key, derived_key_key = self._keys()
        try:
            # The library trusts the payload's shape; whatever it cannot make sense of is invalid.
            solution = altcha.Payload.from_base64(payload)
            result = altcha.verify_solution(solution, challenge_key, hmac_key_secret=derived_key_key)
        except Exception:
            return ProofOfWork(failure=QuarantineReason.PROOF_OF_WORK_INVALID)
        if result.expired:
            return ProofOfWork(failure=QuarantineReason.PROOF_OF_WORK_EXPIRED)
        signature, expires_at = solution.challenge.signature, solution.challenge.parameters.expires_at
        if not result.verified or not isinstance(signature, str) or not isinstance(expires_at, int):
            return ProofOfWork(failure=QuarantineReason.PROOF_OF_WORK_INVALID)
        solution_id = hashlib.sha256(signature.encode()).hexdigest()
        return ProofOfWork(claim=SolutionClaim(solution_id, expires_at))
