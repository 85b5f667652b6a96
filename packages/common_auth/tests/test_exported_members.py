"""The public surface of common_auth changes only on purpose."""

import common_auth


def test_all_is_sorted_and_exported() -> None:
    assert common_auth.__all__ == sorted(common_auth.__all__)
    for name in common_auth.__all__:
        assert hasattr(common_auth, name), name


def test_version_is_a_release_version() -> None:
    from packaging.version import Version

    assert str(Version(common_auth.__version__)) == common_auth.__version__
