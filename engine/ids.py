"""Identifiers, names and ARNs as AWS forms them, from an injectable random source."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


@dataclass
class IdSource:
    """Where every non-deterministic id comes from; seed it for reproducible runs."""

    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed) if self.seed is not None else random.Random()

    def random(self) -> random.Random:
        return self._rng

    def uuid4(self) -> str:
        if self.seed is None:
            return str(uuid.uuid4())
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))


@dataclass(frozen=True)
class Partition:
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT

    def state_machine_arn(self, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}"

    def execution_arn(self, machine: str, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:execution:{machine}:{name}"

    def express_execution_arn(self, machine: str, name: str, run_id: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:express:{machine}:{name}:{run_id}"

    def map_run_arn(self, machine: str, label: str, run_id: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:mapRun:{machine}/{label}:{run_id}"

    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role/StatelaneExecutionRole"

    def lambda_arn(self, function: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{function}"
