"""The proof-of-work check: a solution to a challenge this API signed, unexpired; anything else
a client sends is a failure with its reason, never an exception (never a 500)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinic.consultations.proof_of_work import ChallengeIssuer, ChallengePolicy
from clinic.leads.record import QuarantineReason
from tests.helpers import solved_altcha

POLICY = ChallengePolicy(cost=10, max_number=50, expiry_seconds=60)
KEY = b"the server's key"
ISSUER = ChallengeIssuer(lambda: KEY, POLICY)


def _b64(value: object) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def test_a_solved_challenge_passes_and_names_the_solution_to_record() -> None:
    proof = ISSUER.check(solved_altcha(ISSUER.issue))
    assert proof.failure is None
    assert proof.claim is not None
    assert len(proof.claim.solution_id) == 64  # a hash of the signature, nothing the patient sent
    assert time.time() < proof.claim.expires_at <= time.time() + POLICY.expiry_seconds


def test_the_counter_is_drawn_below_the_difficulty_and_the_challenge_expires_in_minutes() -> None:
    for _ in range(5):
        challenge = ISSUER.issue()
        assert challenge["parameters"]["cost"] == POLICY.cost
        assert 0 < challenge["parameters"]["expiresAt"] - time.time() <= POLICY.expiry_seconds
        # deterministic mode: the key prefix is the solution's, and the solution below max_number
        assert ISSUER.check(solved_altcha(lambda challenge=challenge: challenge)).failure is None


def test_another_keys_challenge_or_a_changed_solution_is_invalid() -> None:
    forged = ChallengeIssuer(lambda: b"a guessed key", POLICY)
    assert ISSUER.check(solved_altcha(forged.issue)).failure is QuarantineReason.PROOF_OF_WORK_INVALID
    payload = json.loads(base64.b64decode(solved_altcha(ISSUER.issue)))
    payload["solution"]["counter"] += 1
    payload["solution"]["derivedKey"] = "ab" * 32
    assert ISSUER.check(_b64(payload)).failure is QuarantineReason.PROOF_OF_WORK_INVALID


def test_a_challenge_past_its_expiry_is_expired() -> None:
    earlier = ChallengeIssuer(lambda: KEY, POLICY, clock=lambda: time.time() - 3600)
    assert ISSUER.check(solved_altcha(earlier.issue)).failure is QuarantineReason.PROOF_OF_WORK_EXPIRED


@pytest.mark.parametrize(
    "payload",
    [
        "not base64 at all!",
        base64.b64encode(b"\xff\xfe").decode(),
        _b64([1, 2]),
        _b64({"challenge": "x", "solution": "y"}),
        _b64({"challenge": {"parameters": {}, "signature": 1}, "solution": {}}),
        _b64({"challenge": {"parameters": {"algorithm": "MD5", "nonce": "zz", "salt": "zz", "cost": 1}},
              "solution": {"counter": 1, "derivedKey": "00"}}),
    ],
)  # fmt: skip
def test_what_is_no_payload_is_invalid_not_an_error(payload: str) -> None:
    assert ISSUER.check(payload).failure is QuarantineReason.PROOF_OF_WORK_INVALID


JSON = st.recursive(
    st.none() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=300), JSON.map(_b64)))
def test_no_input_makes_the_check_raise(payload: str) -> None:
    proof = ISSUER.check(payload)
    assert proof.failure in (
        QuarantineReason.PROOF_OF_WORK_MISSING,
        QuarantineReason.PROOF_OF_WORK_INVALID,
        QuarantineReason.PROOF_OF_WORK_EXPIRED,
    )
