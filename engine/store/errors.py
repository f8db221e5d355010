"""Store failures: one exception type per kind of failure, each with a message a person can act on.

The HTTP API maps these to AWS error codes (`code`), the CLI to messages and exit
statuses; nothing else needs to know which database sits underneath. Lower-layer
errors (sqlite3) are translated to these types at the store's boundary only.
"""

from __future__ import annotations

from collections.abc import Sequence


class StoreError(Exception):
    """Any failure of the durable store."""

    #: A stable code: the AWS API error name where AWS has one.
    code = "StoreError"


class StoreNotFound(StoreError):
    """The store does not exist and the caller asked not to create it (inspection commands)."""

    code = "StoreNotFound"


class StoreCorrupt(StoreError):
    """The database file is damaged, is not a database, or is somebody else's database."""

    code = "StoreCorrupt"


class SchemaTooNew(StoreError):
    """The database was written by a newer statelane whose schema this one does not know."""

    code = "SchemaTooNew"


class StoreReadOnly(StoreError):
    """The database (or its directory) cannot be written."""

    code = "StoreReadOnly"


class StoreFull(StoreError):
    """The disk (or the database's size limit) is full, or the disk failed while writing."""

    code = "StoreFull"


class StoreBusy(StoreError):
    """Another writer held the database lock for longer than the busy timeout."""

    code = "StoreBusy"


class ConflictError(StoreError):
    """The caller lost a race: somebody else appended events, took the lease, or closed the execution."""

    code = "ConflictException"


class StateMachineDoesNotExist(StoreError):
    code = "StateMachineDoesNotExist"

    def __init__(self, ref: str, known: Sequence[str] = ()) -> None:
        self.ref = ref
        self.known = list(known)
        if ref.startswith("arn:"):
            message = f"State Machine Does Not Exist: '{ref}'"
        elif self.known:
            message = f"no state machine named '{ref}'; known ones: {', '.join(self.known)}"
        else:
            message = f"no state machine named '{ref}'; the store has none yet"
        super().__init__(message)


class StateMachineAlreadyExists(StoreError):
    """A state machine of that name exists with another type (the type is fixed at creation)."""

    code = "StateMachineAlreadyExists"

    def __init__(self, arn: str, reason: str) -> None:
        self.arn = arn
        super().__init__(f"State Machine Already Exists: '{arn}' ({reason})")


class ExecutionDoesNotExist(StoreError):
    """No execution has that ARN, name or name prefix; `recent` names a few that do exist."""

    code = "ExecutionDoesNotExist"

    def __init__(self, ref: str, recent: Sequence[str] = ()) -> None:
        self.ref = ref
        self.recent = list(recent)
        if ref.startswith("arn:"):
            message = f"Execution Does Not Exist: '{ref}'"
        elif self.recent:
            message = f"no execution named '{ref}'; recent ones: {', '.join(self.recent)}"
        else:
            message = f"no execution named '{ref}'; the store has none yet"
        super().__init__(message)


class AmbiguousExecution(StoreError):
    """A name or prefix matches several executions; the caller must say which."""

    code = "ValidationException"

    def __init__(self, ref: str, candidates: Sequence[str]) -> None:
        self.ref = ref
        self.candidates = list(candidates)
        shown = ", ".join(self.candidates[:10])
        more = f" and {len(self.candidates) - 10} more" if len(self.candidates) > 10 else ""
        super().__init__(
            f"'{ref}' matches {len(self.candidates)} executions: {shown}{more}; give more of the name or the ARN"
        )


class ExecutionAlreadyExists(StoreError):
    """StartExecution with a name in use by a closed execution or with another input."""

    code = "ExecutionAlreadyExists"

    def __init__(self, arn: str) -> None:
        self.arn = arn
        super().__init__(f"Execution Already Exists: '{arn}'")


class ExecutionNotRunning(ConflictError):
    """A write that needs a RUNNING execution found it closed (stopped, finished, timed out)."""

    def __init__(self, arn: str, status: str) -> None:
        self.arn = arn
        self.status = status
        super().__init__(f"execution '{arn}' is {status}, not RUNNING")


class ExecutionNotRedrivable(StoreError):
    code = "ExecutionNotRedrivable"

    def __init__(self, arn: str, status: str) -> None:
        self.arn = arn
        super().__init__(f"Execution is {status} and cannot be redriven: '{arn}'")


class TaskTokenError(StoreError):
    """A SendTaskSuccess/Failure/Heartbeat that cannot be applied to its token."""

    def __init__(self, token: str, message: str) -> None:
        self.token = token
        super().__init__(message)


class InvalidToken(TaskTokenError):
    """The token was never issued by this store."""

    code = "InvalidToken"

    def __init__(self, token: str) -> None:
        super().__init__(token, f"Invalid Token: '{token}'")


class TaskDoesNotExist(TaskTokenError):
    """The task already finished (or its execution closed): the token is spent."""

    code = "TaskDoesNotExist"

    def __init__(self, token: str, reason: str = "the task is no longer running") -> None:
        super().__init__(token, f"Task Does Not Exist: '{token}' ({reason})")


class TaskTimedOut(TaskTokenError):
    """The task's TimeoutSeconds or HeartbeatSeconds ran out before the call arrived."""

    code = "TaskTimedOut"

    def __init__(self, token: str) -> None:
        super().__init__(token, f"Task Timed Out: '{token}'")
