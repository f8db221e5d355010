"""The peer: moto's Step Functions interpreter as a user drives it, one measurement per process.

`python -m benchmarks.peer_moto SPEC_JSON`. Inside `mock_aws(config={"stepfunctions":
{"execute_state_machine": True}})` it creates the state machine and starts one execution
with a boto3 `stepfunctions` client, then polls DescribeExecution until the status is
no longer RUNNING or the cap passes.

Lambda: moto's interpreter calls `lambda_eval_utils._invoke_lambda_function(parameters,
region, state_credentials)` for `arn:aws:states:::lambda:invoke`, which would send a
boto3 Lambda Invoke to moto's mocked Lambda service (and from there to Docker, which a
user needs for moto to run function code). We replace that one function with a direct
call of the same local handler statelane calls, returning the Invoke response moto
expects (`StatusCode`, `Payload`, and `FunctionError: "Unhandled"` with the Python
runtime's error document for a raised exception). This removes moto's Lambda HTTP
round-trip and Docker start, so it makes moto faster than as installed: it cannot
favour statelane.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

from benchmarks.handlers import HANDLERS
from benchmarks.sample import CAPPED, ERROR, Sample, Spec, cpu_seconds, emit, judge, peak_rss_kb
from benchmarks.workloads import Workload, load_workloads

REGION = "us-east-1"
ROLE_ARN = "arn:aws:iam::123456789012:role/statelane-bench"
POLL_S = 0.01


def local_invoke(parameters: dict[str, Any], region: str, state_credentials: Any) -> dict[str, Any]:
    """moto's `_invoke_lambda_function`, served by the local handlers (see module docstring)."""
    function = str(parameters["FunctionName"]).split(":function:")[-1].split(":")[0]
    raw = parameters.get("Payload")
    event = json.loads(raw) if raw else {}
    try:
        result = HANDLERS[function](event, None)
    except Exception as exc:
        error = {
            "errorMessage": str(exc),
            "errorType": type(exc).__name__,
            "requestId": str(uuid.uuid4()),
            "stackTrace": traceback.format_tb(exc.__traceback__),
        }
        return {
            "StatusCode": 200,
            "FunctionError": "Unhandled",
            "ExecutedVersion": "$LATEST",
            "Payload": error,
        }
    return {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": json.loads(json.dumps(result))}


def measure(spec: Spec) -> Sample:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    workload = load_workloads(Path(spec.workloads_dir))[spec.workload]
    start = time.perf_counter()
    import boto3  # type: ignore[import-untyped]
    from moto import mock_aws
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    import_s = time.perf_counter() - start
    lambda_eval_utils._invoke_lambda_function = local_invoke
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client = boto3.client("stepfunctions", region_name=REGION)
        start = time.perf_counter()
        machine = client.create_state_machine(
            name=workload.name, definition=workload.definition.read_text(encoding="utf-8"), roleArn=ROLE_ARN
        )
        parse_s = time.perf_counter() - start
        sample = _execute(client, machine["stateMachineArn"], workload, spec.cap_s)
    sample.parse_s, sample.import_s, sample.rss_kb = parse_s, import_s, peak_rss_kb()
    return sample


def _execute(client: Any, machine_arn: str, workload: Workload, cap_s: float) -> Sample:
    input_text = workload.input.read_text(encoding="utf-8")
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    arn = client.start_execution(stateMachineArn=machine_arn, name=f"bench-{uuid.uuid4()}", input=input_text)[
        "executionArn"
    ]
    while True:
        described = client.describe_execution(executionArn=arn)
        wall = time.perf_counter() - wall0
        if described["status"] != "RUNNING" or wall >= cap_s:
            break
        time.sleep(POLL_S)
    cpu = cpu_seconds() - cpu0
    if described["status"] == "RUNNING":
        client.stop_execution(executionArn=arn)  # stop it using the CPU while its history is read
        entered = _entered_so_far(client, arn)
        detail = f"still RUNNING after {cap_s:.0f} s, {entered:,} of {workload.transitions:,} states entered"
        return Sample(CAPPED, wall, cpu, status="RUNNING", detail=detail, transitions_seen=entered)
    failure = f"{described.get('error')}: {str(described.get('cause'))[:300]}"
    sample = judge(
        described["status"], lambda: json.loads(described.get("output", "null")), failure, workload
    )
    sample.wall_s, sample.cpu_s = wall, cpu
    return sample


def _entered_so_far(client: Any, arn: str) -> int:
    """StateEntered events recorded so far, read through GetExecutionHistory like a user would."""
    entered, token = 0, None
    while True:
        page = client.get_execution_history(
            executionArn=arn, maxResults=1000, **({"nextToken": token} if token else {})
        )
        entered += sum(1 for e in page["events"] if e["type"].endswith("StateEntered"))
        token = page.get("nextToken")
        if not token:
            return entered


def main(argv: list[str]) -> int:
    spec = Spec.from_json(argv[0])
    try:
        sample = measure(spec)
    except BaseException as exc:  # report every failure as a sample: the suite goes on
        sample = Sample(outcome=ERROR, detail=f"{type(exc).__name__}: {str(exc)[:300]}", rss_kb=peak_rss_kb())
    emit(sample)
    sys.stdout.flush()
    os._exit(0)  # moto's execution thread may still be running after a cap: do not wait for it


if __name__ == "__main__":
    main(sys.argv[1:])
