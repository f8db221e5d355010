"""Execution history events, in AWS's names and shapes.

Events are kept as values (details hold Python JSON values) and rendered to the
GetExecutionHistory shape only when somebody reads them: an express execution
that nobody inspects never pays for serialising its history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asl.json_text import dumps

#: Detail fields whose values are JSON documents, rendered as JSON text.
_DOCUMENT_FIELDS = ("input", "output", "parameters")
#: Event types with no details member at all.
_NO_DETAILS = frozenset(
    {
        "LambdaFunctionStarted",
        "ParallelStateStarted",
        "ParallelStateSucceeded",
        "ParallelStateFailed",
        "ParallelStateAborted",
        "MapStateSucceeded",
        "MapStateFailed",
        "MapStateAborted",
        "MapRunSucceeded",
        "MapRunAborted",
        "TaskStateAborted",
        "WaitStateAborted",
    }
)


class JsonText(str):
    """A document that is already JSON text and must be shown verbatim (the execution input)."""

    __slots__ = ()


class RenderedVariables(dict[str, str]):
    """`assignedVariables` read back from a store: the values are already JSON text."""


def details_member(event_type: str) -> str:
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    return event_type[0].lower() + event_type[1:] + "EventDetails"


@dataclass(slots=True)
class HistoryEvent:
    id: int
    previous_event_id: int
    timestamp: float
    type: str
    details: dict[str, Any] | None

    def to_aws(self, *, iso_timestamps: bool = False, include_data: bool = True) -> dict[str, Any]:
        """The event as GetExecutionHistory returns it."""
        ts: Any = iso_format(self.timestamp) if iso_timestamps else self.timestamp
        out: dict[str, Any] = {
            "timestamp": ts,
            "type": self.type,
            "id": self.id,
            "previousEventId": self.previous_event_id,
        }
        if self.details is not None and self.type not in _NO_DETAILS:
            rendered: dict[str, Any] = {}
            for key, value in self.details.items():
                if key in _DOCUMENT_FIELDS:
                    if not include_data:
                        continue
                    rendered[key] = value if isinstance(value, JsonText) else dumps(value)
                elif key == "assignedVariables":
                    rendered[key] = (
                        dict(value)
                        if isinstance(value, RenderedVariables)
                        else {name: dumps(v) for name, v in value.items()}
                    )
                else:
                    rendered[key] = value
            out[details_member(self.type)] = rendered
        return out


def iso_format(epoch: float) -> str:
    """ISO 8601 with milliseconds and `Z`, as AWS writes `$$.Execution.StartTime`."""
    dt = datetime.fromtimestamp(epoch, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def render(events: Iterable[HistoryEvent], *, iso_timestamps: bool = False) -> list[dict[str, Any]]:
    return [e.to_aws(iso_timestamps=iso_timestamps) for e in events]
