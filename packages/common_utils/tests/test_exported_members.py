"""The public surface of common_utils changes only on purpose."""

import common_utils


def test_all_is_sorted_and_exported() -> None:
    assert common_utils.__all__ == sorted(common_utils.__all__)
    for name in common_utils.__all__:
        assert hasattr(common_utils, name), name


def test_version_is_a_release_version() -> None:
    from packaging.version import Version

    assert str(Version(common_utils.__version__)) == common_utils.__version__
