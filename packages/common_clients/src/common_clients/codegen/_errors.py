"""The generator's errors, one tree (the command prints any of them as one line and exits 2)::

CodegenError                 anything the generator refuses, with what and where
├── MissingExtraError        the ``codegen`` extra is not installed
├── SpecError                a document that cannot be used (``.pointer``: its JSON pointer)
└── OutputError              a folder the generator will not write into, or a bad name
"""

from __future__ import annotations

__all__ = ["CodegenError", "MissingExtraError", "OutputError", "SpecError", "SpecWarning"]


class CodegenError(Exception):
    """The root of the generator's errors: the message says what is wrong and where."""


class MissingExtraError(CodegenError):
    """A module of the ``codegen`` extra is missing: ``pip install 'common-clients[codegen]'``."""

    def __init__(self, module: str) -> None:
        self.module = module
        super().__init__(
            f"the generator needs the codegen extra (module {module!r} is missing):"
            " pip install 'common-clients[codegen]'"
        )


class OutputError(CodegenError):
    """The generator will not write there (a folder it did not make, a symlink, a bad name)."""


class SpecError(CodegenError):
    """An OpenAPI document that cannot be used, with the JSON pointer of the problem.

    ``pointer`` is an RFC 6901 pointer into the document (``""`` for the whole document); ``source``
    names the file when there is one.
    """

    def __init__(self, message: str, *, pointer: str, source: str | None = None) -> None:
        self.message = message
        self.pointer = pointer
        self.source = source
        where = f"#{pointer}" if pointer else "#/"
        prefix = f"{source}: " if source else ""
        super().__init__(f"{prefix}{where}: {message}")


class SpecWarning(SpecError):
    """A deviation the generator tolerates (it says what it did instead); an error under strict.

    Kept in :attr:`Spec.warnings <common_clients.codegen.Spec.warnings>` in document order;
    ``str()`` is the one-line message the command prints.
    """
