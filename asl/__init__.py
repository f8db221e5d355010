"""The Amazon States Language: loading, validation and expression evaluation.

Pure: no I/O, no clock, no threads, no globals. Everything that runs lives in `engine`.
"""

from asl.diagnostics import Diagnostic, Severity
from asl.errors import DefinitionError, StatesError
from asl.loader import Document, LoadError, load
from asl.validation import validate

__all__ = [
    "DefinitionError",
    "Diagnostic",
    "Document",
    "LoadError",
    "Severity",
    "StatesError",
    "load",
    "validate",
]
