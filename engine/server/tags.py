"""TagResource, UntagResource, ListTagsForResource: tags of state machines, kept in `ServerMeta`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from engine.server.arns import taggable_arn
from engine.server.context import ServiceContext
from engine.server.errors import ApiError
from engine.shapes import ResourceArnInput, Tag, TagResourceInput, UntagResourceInput
from engine.store.errors import StateMachineDoesNotExist

#: AWS's limit of tags per resource.
MAX_TAGS: Final = 50


def tag_resource_action(ctx: ServiceContext, req: TagResourceInput) -> dict[str, Any]:
    tag_resource(ctx, _existing(ctx, req.resourceArn), req.tags)
    return {}


def untag_resource_action(ctx: ServiceContext, req: UntagResourceInput) -> dict[str, Any]:
    ctx.meta.untag(_existing(ctx, req.resourceArn), list(req.tagKeys))
    return {}


def list_tags_for_resource(ctx: ServiceContext, req: ResourceArnInput) -> dict[str, Any]:
    tags = ctx.meta.tags(_existing(ctx, req.resourceArn))
    return {"tags": [{"key": key, "value": value} for key, value in tags.items()]}


def tag_resource(ctx: ServiceContext, arn: str, tags: Sequence[Tag]) -> None:
    """Add tags to an existing resource; TooManyTags when it would carry more than 50."""
    if not ctx.meta.tag(arn, {tag.key: tag.value for tag in tags}, limit=MAX_TAGS):
        raise TooManyTags(arn)


def _existing(ctx: ServiceContext, value: str) -> str:
    arn = taggable_arn(value)
    if arn.resource_type == "stateMachine":
        try:
            return ctx.store.get_state_machine(arn.text).arn
        except StateMachineDoesNotExist:
            pass
    raise ApiError("ResourceNotFound", f"Resource not found: '{arn.text}'")


class TooManyTags(ApiError):
    """AWS's TooManyTags also names the resource (`resourceName`)."""

    def __init__(self, arn: str) -> None:
        super().__init__("TooManyTags", f"Too many tags: a resource can have at most {MAX_TAGS} tags")
        self.resource_name = arn

    def body(self) -> dict[str, str]:
        return {**super().body(), "resourceName": self.resource_name}
