"""The client generator (extra ``codegen``): OpenAPI documents in, typed client source out.

``load_spec`` validates a document and walks its operations; ``ModelEmitter`` writes the pydantic
models and gives the operations emitter a type for any schema; ``diff_specs`` lists the API changes
between two versions of a document, each classed breaking or not. In short::

    spec = load_spec("specs/users.yaml")            # SpecError, with a JSON pointer, if bad
    models = ModelEmitter(spec, progress=report)     # report(done, total) while rendering
    for op in spec.operations():                     # parameters merged, $refs resolved
        body = op.request_body.content[0] if op.request_body else None
        annotation = models.type_for(body.schema, name_hint=f"{op.operation_id} body",
                                     direction="request") if body else None
    source = models.render()                         # models.py, ruff-formatted
    breaking = [c for c in diff_specs(old_spec, spec) if c.breaking]

Or all at once: ``write_client(generate_client(spec, service="catalog"), Path("src/catalog"))``.
Every refusal is a :class:`CodegenError` (one tree, see ``_errors``); what the generator read
leniently is in ``spec.warnings`` (:class:`SpecWarning`), or raised under ``strict=True``.
"""

from common_clients.codegen._diff import ApiChange, ChangeKind, diff_specs
from common_clients.codegen._errors import (
    CodegenError,
    MissingExtraError,
    OutputError,
    SpecError,
    SpecWarning,
)
from common_clients.codegen._generate import MARKER, generate_client, stale_files, write_client
from common_clients.codegen._names import NameAllocator, pascal_case, snake_case
from common_clients.codegen._source import format_python
from common_clients.codegen._spec import (
    MediaType,
    Operation,
    Parameter,
    RequestBody,
    Response,
    Spec,
    load_spec,
    parse_spec,
)
from common_clients.codegen._types import Direction, ModelEmitter

__all__ = [
    "MARKER",
    "ApiChange",
    "ChangeKind",
    "CodegenError",
    "Direction",
    "MediaType",
    "MissingExtraError",
    "ModelEmitter",
    "NameAllocator",
    "Operation",
    "OutputError",
    "Parameter",
    "RequestBody",
    "Response",
    "Spec",
    "SpecError",
    "SpecWarning",
    "diff_specs",
    "format_python",
    "generate_client",
    "load_spec",
    "parse_spec",
    "pascal_case",
    "snake_case",
    "stale_files",
    "write_client",
]
