"""A Map's finished iterations in its checkpoint: runs carried over between snapshots equal runs
computed afresh, whatever order the iterations finish in."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.checkpoint import _extend_runs, _runs, _unruns


def afresh(refs: dict[int, int]) -> list[list[int]]:
    return _extend_runs([], sorted(refs.items()))


@st.composite
def finishing_orders(draw: st.DrawFn) -> list[tuple[int, int]]:
    """(index, event id) in finishing order: mostly in index order a few events apart, with
    iterations overtaking each other within a window, as concurrent iterations do."""
    count = draw(st.integers(0, 60))
    window = draw(st.integers(1, 8))
    pending = list(range(count))
    order: list[tuple[int, int]] = []
    event = 5
    while pending:
        index = pending.pop(draw(st.integers(0, min(window, len(pending)) - 1)))
        event += draw(st.sampled_from([3, 3, 3, 4, 7]))
        order.append((index, event))
    return order


@settings(max_examples=300, deadline=None)
@given(finishing_orders(), st.lists(st.integers(1, 4), max_size=30))
def test_carried_over_runs_equal_fresh_runs(order: list[tuple[int, int]], batches: list[int]) -> None:
    refs: dict[int, int] = {}
    snapshots = []
    position = 0
    for size in [*batches, len(order)]:  # several iterations may finish between two snapshots
        for index, event in order[position : position + size]:
            refs[index] = event
        position += size
        runs = _runs(refs)
        assert runs == afresh(refs)
        assert _unruns(runs) == refs
        snapshots.append((runs, afresh(refs)))
    for runs, expected in snapshots:  # a snapshot handed out earlier is never changed afterwards
        assert runs == expected
