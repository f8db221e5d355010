"""A loopback load: hundreds of concurrent StartExecution / DescribeExecution / GetExecutionHistory calls.

Bounded (a pool of 32 client threads, 127.0.0.1 only). Every answer must be right, and
every execution must end SUCCEEDED with its whole history, once.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest
from botocore.config import Config  # type: ignore[import-untyped]
from test_server_fixtures import PASS, REGION, create

from engine.server import ServerOptions, StatelaneServer

EXECUTIONS = 200
CLIENT_THREADS = 32
EXPECTED_TYPES = [
    "ExecutionStarted",
    "PassStateEntered",
    "PassStateExited",
    "SucceedStateEntered",
    "SucceedStateExited",
    "ExecutionSucceeded",
]


@pytest.fixture
def loaded_server(tmp_path: Path) -> Any:
    options = ServerOptions(host="127.0.0.1", port=0, db=f"sqlite:///{tmp_path}/load.db", concurrency=4)
    with StatelaneServer(options) as running:
        yield running


def test_hundreds_of_concurrent_calls_are_all_answered_correctly(loaded_server: StatelaneServer) -> None:
    sfn = boto3.client(
        "stepfunctions",
        endpoint_url=loaded_server.url,
        region_name=REGION,
        aws_access_key_id="load",
        aws_secret_access_key="load",
        config=Config(max_pool_connections=CLIENT_THREADS, retries={"total_max_attempts": 1}),
    )
    arn = create(sfn, "Load", PASS)

    def start_then_look(i: int) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
        started = sfn.start_execution(stateMachineArn=arn, name=f"n{i}", input=f'{{"i": {i}}}')
        described = sfn.describe_execution(executionArn=started["executionArn"])
        events = sfn.get_execution_history(executionArn=started["executionArn"])["events"]
        return started["executionArn"], described, events

    began = time.perf_counter()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        first = list(pool.map(start_then_look, range(EXECUTIONS)))
    mixed_seconds = time.perf_counter() - began
    for i, (execution, described, events) in enumerate(first):
        assert execution.endswith(f":execution:Load:n{i}")
        assert described["name"] == f"n{i}" and described["input"] == f'{{"i": {i}}}'
        assert described["status"] in ("RUNNING", "SUCCEEDED")
        assert [e["type"] for e in events] == EXPECTED_TYPES[: len(events)]

    deadline = time.monotonic() + 60
    while len(_all_succeeded(sfn, arn)) < EXECUTIONS:
        assert time.monotonic() < deadline, "executions did not all finish"
        time.sleep(0.1)

    began = time.perf_counter()
    with ThreadPoolExecutor(CLIENT_THREADS) as pool:
        histories = list(
            pool.map(lambda item: sfn.get_execution_history(executionArn=item[0])["events"], first)
        )
    history_seconds = time.perf_counter() - began
    for events in histories:
        assert [e["type"] for e in events] == EXPECTED_TYPES
        assert [e["id"] for e in events] == list(range(1, 7))
    print(
        f"\n{EXECUTIONS * 3} mixed calls in {mixed_seconds:.2f}s ({EXECUTIONS * 3 / mixed_seconds:.0f}/s); "
        f"{EXECUTIONS} histories in {history_seconds:.2f}s ({EXECUTIONS / history_seconds:.0f}/s)"
    )


def _all_succeeded(sfn: Any, arn: str) -> list[str]:
    names: list[str] = []
    kwargs: dict[str, Any] = {"stateMachineArn": arn, "statusFilter": "SUCCEEDED", "maxResults": 1000}
    while True:
        page = sfn.list_executions(**kwargs)
        names += [e["name"] for e in page["executions"]]
        if "nextToken" not in page:
            return names
        kwargs["nextToken"] = page["nextToken"]
