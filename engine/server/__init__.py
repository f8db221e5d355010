"""The Step Functions API over HTTP (AWS JSON 1.0), so boto3 and the AWS CLI work against statelane.

StatelaneServer(ServerOptions(...))   the API plus worker loops over one store (`statelane serve`)
StepFunctionsApp(ServiceContext)      the ASGI application alone, for any ASGI server
actions.call(ctx, action, body)       one action without HTTP
"""

from engine.server.actions import ACTIONS, call
from engine.server.app import StepFunctionsApp
from engine.server.context import ServiceContext
from engine.server.errors import ApiError
from engine.server.runner import ServerOptions, StatelaneServer
from engine.server.sigv4 import Credentials

__all__ = [
    "ACTIONS",
    "ApiError",
    "Credentials",
    "ServerOptions",
    "ServiceContext",
    "StatelaneServer",
    "StepFunctionsApp",
    "call",
]
