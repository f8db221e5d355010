"""JSONata for the ``"QueryLanguage": "JSONata"`` states, behind one small interface.

Everything that knows which JSONata library is installed lives in `_library`; the rest
of statelane imports only from here:

- `compile_expression` / `Expression.evaluate`: one expression, compiled once;
- `compile_template` / `JsonataTemplate.evaluate`: a field value with ``{% %}`` anywhere,
  failing with AWS's `States.QueryEvaluationError` causes;
- `expect_type`: AWS's "unexpected result type" check for typed fields (Items, ...);
- `referenced_variables`, `uses_states_member`: static facts for the validator.

Bindings map variable names to JSON values and must include ``states``; the optional
``ENV_KEY`` entry carries the evaluation environment: `random()` and `uuid4()` for
unseeded ``$random()`` and ``$uuid()``, and optionally `now_millis()` for ``$now()`` /
``$millis()`` (without it they read the system clock).
"""

from asl.jsonata._library import ENV_KEY
from asl.jsonata.analysis import referenced_variables, uses_states_member
from asl.jsonata.core import UNDEFINED, JsonataError, UnsupportedResult, json_type_name
from asl.jsonata.expression import Expression, compile_expression, expression_source, is_expression
from asl.jsonata.functions import RandomSource, java_random_next_double
from asl.jsonata.template import (
    JsonataTemplate,
    compile_template,
    evaluate_field,
    evaluation_error,
    expect_type,
    undefined_error,
    unexpected_type_error,
    unsupported_type_error,
)

__all__ = [
    "ENV_KEY",
    "UNDEFINED",
    "Expression",
    "JsonataError",
    "JsonataTemplate",
    "RandomSource",
    "UnsupportedResult",
    "compile_expression",
    "compile_template",
    "evaluate_field",
    "evaluation_error",
    "expect_type",
    "expression_source",
    "is_expression",
    "java_random_next_double",
    "json_type_name",
    "referenced_variables",
    "undefined_error",
    "unexpected_type_error",
    "unsupported_type_error",
    "uses_states_member",
]
