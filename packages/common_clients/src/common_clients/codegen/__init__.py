"""The client generator (extra ``codegen``): OpenAPI documents in, typed client source out.

``load_spec`` validates a document and walks its operations; ``ModelEmitter`` writes the pydantic
models and gives the operations emitter a type for any schema; ``diff_specs`` lists the API changes
between two versions of a document, each classed breaking or not.
"""

from common_clients.codegen._diff import ApiChange, ChangeKind, diff_specs
from common_clients.codegen._models import Direction, ModelEmitter, format_python
from common_clients.codegen._names import NameAllocator, pascal_case, snake_case
from common_clients.codegen._spec import (
    MediaType,
    Operation,
    Parameter,
    RequestBody,
    Response,
    Spec,
    SpecError,
    load_spec,
    parse_spec,
)

__all__ = [
    "ApiChange",
    "ChangeKind",
    "Direction",
    "MediaType",
    "ModelEmitter",
    "NameAllocator",
    "Operation",
    "Parameter",
    "RequestBody",
    "Response",
    "Spec",
    "SpecError",
    "diff_specs",
    "format_python",
    "load_spec",
    "parse_spec",
    "pascal_case",
    "snake_case",
]
