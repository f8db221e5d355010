"""ARNs and names as the Step Functions API checks them, with AWS's error texts.

Callers pass ARNs only (the CLI's name prefixes are not API syntax), so every ARN is
checked here before it reaches the store: a malformed one is `InvalidArn`, a
well-formed one of the wrong resource type is `InvalidArn` naming that type, and an
express execution ARN is refused where AWS refuses it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from engine.server.errors import ApiError, invalid_arn

#: Whitespace, brackets, wildcards, the listed punctuation, and control characters (AWS's name rules).
_FORBIDDEN: Final = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")
NAME_MAX: Final = 80


def check_name(name: str) -> str:
    """A state machine or execution name: 1-80 characters, none of the forbidden ones."""
    if not name or len(name) > NAME_MAX or _FORBIDDEN.search(name):
        raise ApiError("InvalidName", f"Invalid Name: '{name}'")
    return name


@dataclass(frozen=True, slots=True)
class Arn:
    """`arn:<partition>:states:<region>:<account>:<resource_type>:<parts...>`."""

    text: str
    partition: str
    region: str
    account: str
    resource_type: str
    parts: tuple[str, ...]


def parse_arn(value: str, *allowed: str) -> Arn:
    """Split a Step Functions ARN and check its resource type is one of `allowed`."""
    if not value.startswith("arn:"):
        raise invalid_arn(value, "Invalid ARN prefix")
    fields = value.split(":")
    if len(fields) < 7 or fields[2] != "states" or not fields[1] or any(not f for f in fields[5:]):
        raise invalid_arn(value)
    arn = Arn(value, fields[1], fields[3], fields[4], fields[5], tuple(fields[6:]))
    if arn.resource_type not in allowed:
        raise invalid_arn(arn.resource_type, "Resource type not valid in this context")
    return arn


def state_machine_arn(value: str) -> Arn:
    """A state machine ARN, unqualified (versions and aliases are not kept by this server)."""
    arn = parse_arn(value, "stateMachine")
    if len(arn.parts) > 2:
        raise invalid_arn(value)
    return arn


def execution_arn(value: str, *, express: bool = False) -> Arn:
    """A standard execution ARN; with `express`, an express one is accepted too.

    APIs without express support (DescribeExecution, GetExecutionHistory, StopExecution, ...)
    answer an express ARN as AWS does: `Resource type not valid in this context: express`.
    """
    arn = parse_arn(value, "execution", "express")
    expected = 2 if arn.resource_type == "execution" else 3
    if len(arn.parts) != expected:
        raise invalid_arn(value)
    if arn.resource_type == "express" and not express:
        raise invalid_arn("express", "Resource type not valid in this context")
    return arn


def taggable_arn(value: str) -> Arn:
    """TagResource and friends take state machines and activities."""
    return parse_arn(value, "stateMachine", "activity")
