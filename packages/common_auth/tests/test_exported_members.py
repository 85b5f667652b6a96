"""The public surface of common_auth changes only on purpose."""

import subprocess
import sys

import pytest

import common_auth

EXPECTED = {
    "AccessTokenClaims",
    "ClientCredentials",
    "CommonAuthError",
    "ConfigurationError",
    "ForwardUserToken",
    "InsufficientScope",
    "IntrospectionError",
    "IntrospectionVerifier",
    "InvalidClaims",
    "InvalidSignature",
    "InvalidToken",
    "JWKSCache",
    "KeySetUnavailable",
    "KeySource",
    "MalformedToken",
    "SigningKey",
    "SigningKeyError",
    "SigningKeySet",
    "StaticKeySet",
    "TokenEndpointError",
    "TokenExpired",
    "TokenNotYetValid",
    "TokenVerifier",
    "UnknownSigningKey",
    "UnsupportedAlgorithm",
    "VerificationKey",
    "__version__",
    "access_token_context",
    "current_access_token",
    "issue_access_token",
}


def test_all_is_sorted_and_exported() -> None:
    assert common_auth.__all__ == sorted(common_auth.__all__)
    for name in common_auth.__all__:
        assert hasattr(common_auth, name), name


def test_all_is_exactly_the_public_api() -> None:
    assert set(common_auth.__all__) == EXPECTED


@pytest.mark.parametrize("module", ["common_auth.django", "common_auth.drf"])
def test_integrations_export_a_sorted_all(module) -> None:
    imported = __import__(module, fromlist=["__all__"])
    assert imported.__all__ == sorted(imported.__all__)
    for name in imported.__all__:
        assert hasattr(imported, name), name


def test_every_error_derives_from_the_root() -> None:
    for name in common_auth.__all__:
        value = getattr(common_auth, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, common_auth.CommonAuthError), name


def test_the_core_imports_without_django() -> None:
    # TokenVerifier and ClientCredentials must work in services without Django settings.
    code = (
        "import sys, common_auth; "
        "assert not [m for m in sys.modules if m == 'django' or m.startswith('django.')], "
        "sorted(m for m in sys.modules if m.startswith('django'))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_version_is_a_release_version() -> None:
    from packaging.version import Version

    assert str(Version(common_auth.__version__)) == common_auth.__version__
