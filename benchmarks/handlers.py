"""Reference Lambda handlers used by the task-lambda-1k and retry-catch workloads.

Copied from the shared benchmark kit (only type hints added). Every runner (peer or
statelane) must give these exact semantics to the function names "echo", "flaky" and
"fail" called through arn:aws:states:::lambda:invoke. A raised exception is a Lambda
*function error*: the Task fails with Error = the exception's class name (the Lambda
errorType), Cause = the JSON error payload.
"""

from typing import Any


class FlakyError(Exception):
    pass


class AlwaysError(Exception):
    pass


_attempts: dict[Any, int] = {}


def echo(event: Any, context: Any = None) -> Any:
    """Return the event unchanged."""
    return event


def flaky(event: Any, context: Any = None) -> Any:
    """Fail with FlakyError on the 1st and 2nd call for a given event["key"] (the execution
    name), succeed on the 3rd and later calls with {"attempt": n}."""
    key = event.get("key")
    n = _attempts.get(key, 0) + 1
    _attempts[key] = n
    if n <= 2:
        raise FlakyError(f"attempt {n} for {key} fails on purpose")
    return {"attempt": n}


def fail(event: Any, context: Any = None) -> Any:
    """Always fail with AlwaysError."""
    raise AlwaysError("this function always fails")


HANDLERS = {"echo": echo, "flaky": flaky, "fail": fail}
