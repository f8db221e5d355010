"""The catalog worker of the media pipeline sample.

It drains the `catalog` queue: each message is SNS's envelope around the workflow's
announcement, which carries the task token of the waiting `.waitForTaskToken` step.
The worker records the renditions and answers with SendTaskSuccess, then deletes the
message. A message it cannot read is released at once (visibility 0) without being
deleted, so SQS hands it out again; after the queue's maxReceiveCount receives the
queue moves it to its dead-letter queue instead, and the worker never sees it again.

Run it with the store the workflow uses: `python approver.py --db sqlite:///media.db`
(or STATELANE_DB). It waits for the announcement, prints one JSON line per message received, and exits once
it has answered a callback and the queue is empty.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from typing import Any

from engine.queues import Message, Queues
from engine.store.records import TaskOutcome


class Unreadable(ValueError):
    """The message is not a media announcement: a poisoned message."""


def announcement(message: Message) -> dict[str, Any]:
    """The workflow's announcement inside SNS's envelope (raw delivery would skip the envelope)."""
    text = message.body
    try:
        envelope = json.loads(text)
        if isinstance(envelope, dict) and "TopicArn" in envelope:
            text = envelope["Message"]
        inner = json.loads(text)
    except (ValueError, KeyError, TypeError) as exc:
        raise Unreadable(f"not a media announcement: {str(text)[:60]!r}") from exc
    if not isinstance(inner, dict) or "taskToken" not in inner or "renditions" not in inner:
        raise Unreadable(f"not a media announcement: {str(text)[:60]!r}")
    return inner


def catalog(queues: Queues, message: Message) -> dict[str, Any]:
    """Record the renditions and complete the workflow's waiting step with the catalog entry."""
    item = announcement(message)
    catalog_id = "cat-" + hashlib.sha256(item["source"].encode()).hexdigest()[:12]
    result = {"catalogId": catalog_id, "renditions": len(item["renditions"])}
    queues.store.complete_task_token(
        item["taskToken"], TaskOutcome.success(json.dumps(result)), now=time.time()
    )
    return result


def drain(queues: Queues, queue: str = "catalog", *, wait: float = 10.0) -> list[dict[str, Any]]:
    """Handle messages until a callback is done and the queue has nothing left; one record per receive.

    Before the announcement has arrived it long-polls for up to `wait` seconds in all.
    """
    log: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait
    completed = False
    while True:
        remaining = 0.0 if completed else max(0.0, deadline - time.monotonic())
        got = queues.receive(queue, max=1, wait=min(remaining, 20.0))
        if not got:
            if completed or remaining <= 0:
                return log
            continue
        message = got[0]
        receives = int(message.attributes["ApproximateReceiveCount"])
        try:
            result = catalog(queues, message)
        except Unreadable as exc:
            queues.change_visibility(queue, message.receipt_handle, 0)  # let it come back at once
            log.append({"messageId": message.message_id, "receives": receives, "failed": str(exc)})
            continue
        queues.delete(queue, message.receipt_handle)
        completed = True
        log.append({"messageId": message.message_id, "receives": receives, "completed": result})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="Store URL (default: STATELANE_DB, else .statelane/statelane.db)")
    parser.add_argument("--queue", default="catalog")
    parser.add_argument("--wait", type=float, default=10.0, help="Seconds to wait for the announcement")
    args = parser.parse_args(argv)
    with Queues.open(args.db) as queues:
        log = drain(queues, args.queue, wait=args.wait)
    for line in log:
        print(json.dumps(line), flush=True)
    if not any("completed" in line for line in log):
        print("no announcement arrived", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
