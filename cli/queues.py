"""`statelane queues ...` and `statelane topics ...`: the local SQS queues and SNS topics in the store.

They live in the same store as executions (`.statelane/statelane.db` unless `--db` or
STATELANE_DB says otherwise), so a queue created here is the one a state machine run
from this directory sends to. Every command has a `--json` twin in the AWS API's
shape (CreateQueue, ReceiveMessage, Publish, ...). An unknown queue or topic, or a
request SQS/SNS would refuse, is exit status 2 with a message saying why.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from cli.app import app

if TYPE_CHECKING:
    from engine.queues import Queues, Topics

EXIT_USAGE = 2

queues_app = typer.Typer(
    name="queues", help="Local SQS queues: create, send, receive, delete.", no_args_is_help=True
)
topics_app = typer.Typer(
    name="topics", help="Local SNS topics: create, subscribe, publish.", no_args_is_help=True
)
app.add_typer(queues_app, name="queues")
app.add_typer(topics_app, name="topics")

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="STATELANE_DB",
        help="Store URL (sqlite:///file.db, memory://, postgresql://...); default .statelane/statelane.db.",
        show_envvar=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the AWS API's JSON shape instead.")]
AttributeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--attribute", help="A queue/topic attribute KEY=VALUE (repeatable), as CreateQueue/CreateTopic take."
    ),
]
MessageAttributeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--message-attribute",
        "-a",
        help="A message attribute NAME=VALUE (String) or NAME:TYPE=VALUE, e.g. -a n:Number=5 (repeatable).",
    ),
]
MessageAttributesJsonOption = Annotated[
    str | None, typer.Option("--message-attributes", help="MessageAttributes as JSON.")
]
GroupOption = Annotated[str | None, typer.Option("--group", help="MessageGroupId (FIFO).")]
DedupOption = Annotated[str | None, typer.Option("--dedup", help="MessageDeduplicationId (FIFO).")]


def _fail(message: str) -> NoReturn:
    typer.echo(f"statelane: {message}", err=True)
    raise typer.Exit(EXIT_USAGE)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


@contextmanager
def _services(db: str | None) -> Iterator[tuple[Queues, Topics]]:
    """Open the store and turn every refusal (unknown name, invalid request, store trouble) into exit 2."""
    from engine.queues import Queues, ServiceError, Topics
    from engine.store import StoreError, open_store

    try:
        store = open_store(db)
    except StoreError as exc:
        _fail(str(exc))
    try:
        queues = Queues(store)
        yield queues, Topics(store, queues=queues)
    except ServiceError as exc:
        _fail(f"{exc.code}: {exc.message}")
    except StoreError as exc:
        _fail(str(exc))
    finally:
        store.close()


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _fail(f"{what} {item!r} is not KEY=VALUE")
        out[key] = value
    return out


def _message_attributes(values: list[str] | None, as_json: str | None) -> dict[str, Any] | None:
    """`-a name=value`, `-a name:Number=5` and `--message-attributes JSON` as MessageAttributes."""
    out: dict[str, Any] = {}
    if as_json is not None:
        try:
            parsed = json.loads(as_json)
        except ValueError as exc:
            _fail(f"--message-attributes is not JSON: {exc}")
        if not isinstance(parsed, dict):
            _fail("--message-attributes must be a JSON object of NAME -> {DataType, StringValue}")
        out.update(parsed)
    for key, value in _pairs(values, "message attribute").items():
        name, _, data_type = key.partition(":")
        data_type = data_type or "String"
        field = "BinaryValue" if data_type.startswith("Binary") else "StringValue"
        out[name] = {"DataType": data_type, field: value}
    return out or None


def _text_argument(value: str) -> str:
    """A message given inline, as @file, or as - (standard input)."""
    if value == "-":
        return sys.stdin.read()
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            _fail(f"cannot read {value[1:]}: {exc.strerror or exc}")
    return value


def _fifo_flag(name: str, fifo: bool) -> bool:
    """A name ending in .fifo means FIFO here: CreateQueue/CreateTopic would insist on the attribute."""
    return fifo or name.endswith(".fifo")


# ---------------------------------------------------------------- queues


@queues_app.command("create")
def create_queue(
    name: Annotated[str, typer.Argument(help="Queue name (a FIFO queue's ends in .fifo).")],
    fifo: Annotated[
        bool, typer.Option("--fifo", help="A FIFO queue (message groups, deduplication).")
    ] = False,
    visibility_timeout: Annotated[
        int | None, typer.Option("--visibility-timeout", help="Seconds a received message stays invisible.")
    ] = None,
    dead_letter: Annotated[
        str | None, typer.Option("--dead-letter", help="Move messages received too often to this queue.")
    ] = None,
    max_receives: Annotated[
        int | None,
        typer.Option(
            "--max-receives", help="With --dead-letter: receives before the move (maxReceiveCount)."
        ),
    ] = None,
    attribute: AttributeOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a queue (again with the same settings is fine)."""
    if (dead_letter is None) != (max_receives is None):
        _fail("--dead-letter and --max-receives go together")
    attributes = _pairs(attribute, "attribute")
    with _services(db) as (queues, _):
        record = queues.create(
            name,
            attributes,
            fifo=_fifo_flag(name, fifo) and "FifoQueue" not in attributes,
            visibility_timeout=visibility_timeout,
            dead_letter=dead_letter,
            max_receives=max_receives,
        )
        url = queues.url(record.name)
    if as_json:
        _print_json({"QueueUrl": url})
    else:
        typer.echo(f"queue {record.name} ({'FIFO' if record.fifo else 'standard'}): {url}")


@queues_app.command("list")
def list_queues(
    prefix: Annotated[str, typer.Option("--prefix", help="Only queues whose name starts with this.")] = "",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The queues with their message counts."""
    with _services(db) as (queues, _):
        rows = [(q, queues.attributes(q.name)) for q in queues.list_queues(prefix)]
        urls = [queues.url(q.name) for q, _ in rows]
    if as_json:
        _print_json({"QueueUrls": urls})
        return
    if not rows:
        typer.echo("no queues (create one: statelane queues create NAME)")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("QUEUE", "TYPE", "VISIBLE", "IN FLIGHT", "DELAYED", "DEAD-LETTER TO"):
        table.add_column(column)
    for record, attrs in rows:
        redrive = record.redrive
        table.add_row(
            record.name,
            "FIFO" if record.fifo else "standard",
            attrs["ApproximateNumberOfMessages"],
            attrs["ApproximateNumberOfMessagesNotVisible"],
            attrs["ApproximateNumberOfMessagesDelayed"],
            f"{redrive.dead_letter_queue} after {redrive.max_receive_count}" if redrive else "",
        )
    Console(highlight=False).print(table)


@queues_app.command("send")
def send(
    name: Annotated[str, typer.Argument(help="Queue name, URL or ARN.")],
    body: Annotated[str, typer.Argument(help="The message body; @FILE reads a file, - standard input.")],
    message_attribute: MessageAttributeOption = None,
    message_attributes: MessageAttributesJsonOption = None,
    group: GroupOption = None,
    dedup: DedupOption = None,
    delay: Annotated[int | None, typer.Option("--delay", help="DelaySeconds (standard queues).")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send one message."""
    text = _text_argument(body)
    attributes = _message_attributes(message_attribute, message_attributes)
    with _services(db) as (queues, _):
        result = queues.send(
            name, text, attributes=attributes, delay_seconds=delay, group_id=group, dedup_id=dedup
        )
    if as_json:
        _print_json(result)
    else:
        typer.echo(result["MessageId"])


@queues_app.command("receive")
def receive(
    name: Annotated[str, typer.Argument(help="Queue name, URL or ARN.")],
    max_messages: Annotated[int, typer.Option("--max", help="At most this many messages (1-10).")] = 1,
    wait: Annotated[
        float | None,
        typer.Option("--wait", help="Long poll: wait up to this many seconds (0-20) for a message."),
    ] = None,
    visibility_timeout: Annotated[
        int | None, typer.Option("--visibility-timeout", help="Keep the messages invisible this long.")
    ] = None,
    delete: Annotated[bool, typer.Option("--delete", help="Delete the messages once printed.")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Receive messages as ReceiveMessage does (they stay in the queue, invisible, unless deleted)."""
    with _services(db) as (queues, _):
        got = queues.receive(name, max=max_messages, wait=wait, visibility_timeout=visibility_timeout)
        if delete:
            for message in got:
                queues.delete(name, message.receipt_handle)
    if as_json:
        _print_json({"Messages": [m.to_sqs() for m in got]})
        return
    if not got:
        typer.echo("no messages")
        return
    for message in got:
        shape = message.to_sqs()
        typer.echo(f"MessageId      {shape['MessageId']}")
        typer.echo(f"ReceiptHandle  {shape['ReceiptHandle']}")
        typer.echo(f"MD5OfBody      {shape['MD5OfBody']}")
        for key, value in shape["Attributes"].items():
            typer.echo(f"  {key:<33}{value}")
        for key, value in shape.get("MessageAttributes", {}).items():
            shown = value.get("StringValue", value.get("BinaryValue"))
            typer.echo(f"  attribute {key} ({value['DataType']}): {shown}")
        typer.echo(f"Body           {shape['Body']}\n")


@queues_app.command("delete")
def delete_message(
    name: Annotated[str, typer.Argument(help="Queue name, URL or ARN.")],
    receipt_handle: Annotated[str, typer.Argument(help="The ReceiptHandle of the latest receive.")],
    db: DbOption = None,
) -> None:
    """Delete a received message by its receipt handle."""
    with _services(db) as (queues, _):
        queues.delete(name, receipt_handle)


@queues_app.command("purge")
def purge(
    name: Annotated[str, typer.Argument(help="Queue name, URL or ARN.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete every message in the queue."""
    with _services(db) as (queues, _):
        count = queues.purge(name)
    if as_json:
        _print_json({"Purged": count})
    else:
        typer.echo(f"purged {count} message{'s' if count != 1 else ''}")


@queues_app.command("delete-queue")
def delete_queue(
    name: Annotated[str, typer.Argument(help="Queue name, URL or ARN.")], db: DbOption = None
) -> None:
    """Delete the queue and its messages."""
    with _services(db) as (queues, _):
        queues.delete_queue(name)


# ---------------------------------------------------------------- topics


@topics_app.command("create")
def create_topic(
    name: Annotated[str, typer.Argument(help="Topic name (a FIFO topic's ends in .fifo).")],
    fifo: Annotated[
        bool, typer.Option("--fifo", help="A FIFO topic (message groups, deduplication).")
    ] = False,
    attribute: AttributeOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a topic (again with the same settings is fine)."""
    attributes = _pairs(attribute, "attribute")
    with _services(db) as (_, topics):
        record = topics.create(
            name, attributes, fifo=_fifo_flag(name, fifo) and "FifoTopic" not in attributes
        )
    if as_json:
        _print_json({"TopicArn": record.arn})
    else:
        typer.echo(f"topic {record.name} ({'FIFO' if record.fifo else 'standard'}): {record.arn}")


@topics_app.command("subscribe")
def subscribe(
    topic: Annotated[str, typer.Argument(help="Topic name or ARN.")],
    queue: Annotated[str | None, typer.Option("--queue", help="Deliver to this local queue.")] = None,
    function: Annotated[
        str | None, typer.Option("--function", help="Deliver to this local Lambda function.")
    ] = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Raw message delivery: the message, not SNS's envelope.")
    ] = False,
    filter_policy: Annotated[
        str | None, typer.Option("--filter-policy", help="Only messages matching this JSON filter policy.")
    ] = None,
    filter_policy_scope: Annotated[
        str | None, typer.Option("--filter-policy-scope", help="MessageAttributes (default) or MessageBody.")
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Subscribe a local queue or a local Lambda function to the topic."""
    if (queue is None) == (function is None):
        _fail("give exactly one of --queue NAME and --function NAME")
    with _services(db) as (_, topics):
        record = topics.subscribe(
            topic,
            queue=queue,
            function=function,
            raw=raw,
            filter_policy=filter_policy,
            filter_policy_scope=filter_policy_scope,
        )
    if as_json:
        _print_json({"SubscriptionArn": record.arn})
    else:
        typer.echo(record.arn)


@topics_app.command("list")
def list_topics(db: DbOption = None, as_json: JsonOption = False) -> None:
    """The topics and their subscriptions."""
    with _services(db) as (_, topics):
        found = [(t, topics.subscriptions(t.name)) for t in topics.list_topics()]
    if as_json:
        _print_json(
            {
                "Topics": [
                    {
                        "TopicArn": t.arn,
                        "Attributes": dict(t.attributes),
                        "Subscriptions": [
                            {
                                "SubscriptionArn": s.arn,
                                "Protocol": s.protocol,
                                "Endpoint": s.endpoint,
                                "Attributes": dict(s.attributes),
                            }
                            for s in subs
                        ],
                    }
                    for t, subs in found
                ]
            }
        )
        return
    if not found:
        typer.echo("no topics (create one: statelane topics create NAME)")
    for topic, subs in found:
        typer.echo(f"{topic.name} ({'FIFO' if topic.fifo else 'standard'}) {topic.arn}")
        for s in subs:
            extras = [k for k in ("raw",) if s.raw]
            if "FilterPolicy" in s.attributes:
                extras.append(f"filter {s.attributes['FilterPolicy']}")
            typer.echo(
                f"  -> {s.protocol} {s.endpoint.rsplit(':', 1)[-1]}"
                + (f" ({', '.join(extras)})" if extras else "")
            )


@topics_app.command("publish")
def publish(
    topic: Annotated[str, typer.Argument(help="Topic name or ARN.")],
    message: Annotated[str, typer.Argument(help="The message; @FILE reads a file, - standard input.")],
    subject: Annotated[str | None, typer.Option("--subject", help="Subject (email-style).")] = None,
    message_attribute: MessageAttributeOption = None,
    message_attributes: MessageAttributesJsonOption = None,
    group: GroupOption = None,
    dedup: DedupOption = None,
    lambdas: Annotated[
        list[str] | None,
        typer.Option(
            "--lambdas", help="Python file or module with the local functions subscribed to the topic."
        ),
    ] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Publish a message: subscribed queues receive it, subscribed functions are called."""
    text = _text_argument(message)
    attributes = _message_attributes(message_attribute, message_attributes)
    with _services(db) as (_, topics):
        if lambdas or any(s.protocol == "lambda" for s in topics.subscriptions(topic)):
            topics.invoke_function = _function_invoker(lambdas)
        result = topics.publish(
            topic, text, subject=subject, attributes=attributes, group_id=group, dedup_id=dedup
        )
    if as_json:
        _print_json(result)
    else:
        typer.echo(result["MessageId"])


def _function_invoker(lambdas: list[str] | None) -> Callable[[str, Any], Any]:
    """Call subscribed functions through the handler registry the configuration (and --lambdas) build."""
    from engine.config import ConfigError, load_config
    from engine.handlers.base import TaskRequest
    from engine.handlers.lambda_local import LambdaSourceError
    from engine.handlers.registry import build_registry
    from engine.ids import Partition

    try:
        registry = build_registry(load_config(), lambdas=lambdas, plugins=False)
    except (ConfigError, LambdaSourceError) as exc:
        _fail(str(exc))
    partition = Partition()

    def invoke(name: str, event: Any) -> Any:
        arn = partition.lambda_arn(name)
        return registry.resolve(arn).invoke(TaskRequest(arn, event, "SNS", "", arn, partition.region))

    return invoke
