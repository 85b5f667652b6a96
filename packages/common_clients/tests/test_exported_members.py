"""The public surface of common_clients changes only on purpose."""

import common_clients
import common_clients.errors


def _isort_order(name: str) -> tuple[int, str]:
    """ruff's order for ``__all__``: CONSTANTS, then Classes, then everything else."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def test_all_is_sorted_and_exported() -> None:
    assert common_clients.__all__ == sorted(common_clients.__all__, key=_isort_order)
    for name in common_clients.__all__:
        assert hasattr(common_clients, name), name


def test_public_names_are_exactly_the_runtime_api() -> None:
    assert set(common_clients.__all__) == {
        "DEFAULT_LIMITS",
        "DEFAULT_TIMEOUT",
        "NOT_GIVEN",
        "AsyncClient",
        "AsyncPage",
        "AsyncPager",
        "CursorPagination",
        "HTTPCache",
        "LimitOffsetPagination",
        "NotGiven",
        "PageNumberPagination",
        "RawResponse",
        "RequestOptions",
        "RetryPolicy",
        "SyncClient",
        "SyncPage",
        "UnknownInt",
        "UnknownStr",
        "__version__",
    }


def test_errors_module_exports_one_tree_rooted_at_client_error() -> None:
    names = common_clients.errors.__all__
    assert names == sorted(names, key=_isort_order)
    for name in names:
        error = getattr(common_clients.errors, name)
        assert issubclass(error, common_clients.errors.ClientError), name


def test_version_is_a_release_version() -> None:
    from packaging.version import Version

    assert str(Version(common_clients.__version__)) == common_clients.__version__


def test_runtime_module_is_the_surface_generated_code_stands_on() -> None:
    import common_clients.runtime

    names = common_clients.runtime.__all__
    assert names == sorted(names, key=_isort_order)
    assert set(names) == {
        "AsyncRawMethod",
        "GeneratedModel",
        "RawMethod",
        "discriminate",
        "path_param",
    }
    for name in names:
        assert hasattr(common_clients.runtime, name), name
