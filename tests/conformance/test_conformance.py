"""The AWS-recorded corpus as a ratchet: every case passes except the listed ones,
and a listed case that starts passing must be taken off the list."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conformance import harness

if not harness.available():
    pytest.skip("../shared/conformance is not present", allow_module_level=True)

CASES = harness.load_cases()
KNOWN = harness.known_failures()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Any) -> None:
    reason = harness.skip_reason(case)
    if reason:
        pytest.skip(reason)
    reasons = harness.run_case(case)
    if case.name in KNOWN:
        assert reasons, f"{case.name} passes now: remove it from tests/conformance/known_failures.tsv"
    else:
        assert not reasons, "; ".join(reasons[:3])


def test_known_failures_exist() -> None:
    names = {c.name for c in CASES}
    stale = sorted(set(KNOWN) - names)
    assert not stale, f"known_failures.tsv names cases that do not exist: {stale}"
