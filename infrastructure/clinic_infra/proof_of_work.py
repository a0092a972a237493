"""Solving the API's proof-of-work challenge as a script: what `clinic doctor`'s test lead
does (and the tests), so that it is notified like a form sent from a browser."""

from __future__ import annotations

from typing import Any

import altcha


def solve(challenge: dict[str, Any], timeout: float = 60.0) -> str:
    """The `altcha` field for a challenge from GET /consultations/challenge (the base64
    payload the widget would send); raises TimeoutError if no solution is found in time."""
    issued = altcha.Challenge.from_dict(challenge)
    solution = altcha.solve_challenge(issued, timeout=timeout)
    if solution is None:
        raise TimeoutError("the proof-of-work challenge was not solved in time")
    return str(altcha.Payload(issued, solution).to_base64())
