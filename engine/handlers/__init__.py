"""Task handlers: pluggable backends behind one protocol, looked up by resource ARN."""

from engine.handlers.base import HandlerRegistry, ResourceKind, TaskHandler, TaskRequest, classify

__all__ = ["HandlerRegistry", "ResourceKind", "TaskHandler", "TaskRequest", "classify"]
