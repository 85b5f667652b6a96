"""The public surface of common_clients changes only on purpose."""

import common_clients


def test_all_is_sorted_and_exported() -> None:
    assert common_clients.__all__ == sorted(common_clients.__all__)
    for name in common_clients.__all__:
        assert hasattr(common_clients, name), name


def test_version_is_a_release_version() -> None:
    from packaging.version import Version

    assert str(Version(common_clients.__version__)) == common_clients.__version__
