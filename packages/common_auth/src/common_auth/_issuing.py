"""For the auth service itself: signing keys, the published JWKS, issuing tokens, key rotation.

A `SigningKeySet` holds one active key, which signs, and the keys it replaced, which stay
published (and verifying) until every token they signed has expired: `rotate` publishes the old
key for ``max_token_lifetime`` more seconds, and `issue_access_token` refuses lifetimes longer
than that, so the guarantee holds. Keys come from PEM or JWK text, in settings or the
environment; the private halves never appear in a repr or an error.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import time
from base64 import urlsafe_b64encode
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from common_auth._errors import ConfigurationError, SigningKeyError, UnknownSigningKey
from common_auth._jwks import EC_ALGORITHMS, MIN_RSA_BITS, RSA_ALGORITHMS, VerificationKey

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}


def _b64(data: bytes) -> str:
    return urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _public_jwk(key: PrivateKey) -> dict[str, Any]:
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        return RSAAlgorithm.to_jwk(public, as_dict=True)
    if isinstance(public, ec.EllipticCurvePublicKey):
        return ECAlgorithm.to_jwk(public, as_dict=True)
    return OKPAlgorithm.to_jwk(public, as_dict=True)


def _default_algorithm(key: PrivateKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg = EC_ALGORITHMS.get(key.curve.name)
        if alg is None:
            raise SigningKeyError(f"unsupported EC curve {key.curve.name}")
        return alg
    return "EdDSA"


def _check_fit(key: PrivateKey, algorithm: str) -> None:
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise SigningKeyError(f"RSA key of {key.key_size} bits; at least {MIN_RSA_BITS}")
        fits = algorithm in RSA_ALGORITHMS
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        fits = EC_ALGORITHMS.get(key.curve.name) == algorithm
    else:
        fits = algorithm in ("EdDSA", "Ed25519")
    if not fits:
        raise SigningKeyError(f"algorithm {algorithm} does not fit a {type(key).__name__}")


@dataclass(frozen=True)
class SigningKey:
    """A private key with its ``kid`` (by default the RFC 7638 thumbprint) and algorithm."""

    private_key: PrivateKey = field(repr=False)
    algorithm: str
    kid: str

    def __post_init__(self) -> None:
        if not isinstance(
            self.private_key,
            rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey,
        ):
            raise SigningKeyError(f"unsupported key type {type(self.private_key).__name__}")
        _check_fit(self.private_key, self.algorithm)

    @classmethod
    def of(
        cls, private_key: PrivateKey, *, algorithm: str | None = None, kid: str | None = None
    ) -> SigningKey:
        """Wrap a `cryptography` private key; the algorithm follows from its type by default."""
        algorithm = algorithm or _default_algorithm(private_key)
        _check_fit(private_key, algorithm)
        return cls(private_key, algorithm, kid or _thumbprint(_public_jwk(private_key)))

    @classmethod
    def generate(cls, algorithm: str = "ES256", *, kid: str | None = None) -> SigningKey:
        """A new key for `algorithm` (RS256: RSA 2048; ES256: P-256; EdDSA: Ed25519)."""
        key: PrivateKey
        if algorithm in RSA_ALGORITHMS:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif algorithm in EC_ALGORITHMS.values():
            curve = {v: k for k, v in EC_ALGORITHMS.items()}[algorithm]
            key = ec.generate_private_key(
                {"secp256r1": ec.SECP256R1(), "secp384r1": ec.SECP384R1()}.get(
                    curve, ec.SECP521R1()
                )
            )
        elif algorithm in ("EdDSA", "Ed25519"):
            key = ed25519.Ed25519PrivateKey.generate()
        else:
            raise SigningKeyError(f"cannot generate a key for algorithm {algorithm!r}")
        return cls.of(key, algorithm=algorithm, kid=kid)

    @classmethod
    def from_pem(
        cls,
        pem: str | bytes,
        *,
        algorithm: str | None = None,
        kid: str | None = None,
        password: bytes | None = None,
    ) -> SigningKey:
        """Load a PEM private key (PKCS#8 or traditional); errors never quote the key."""
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_private_key(data, password=password)
        except (ValueError, TypeError) as exc:
            raise SigningKeyError(f"not a usable PEM private key ({type(exc).__name__})") from None
        if not isinstance(
            key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
        ):
            raise SigningKeyError(f"unsupported PEM key type {type(key).__name__}")
        return cls.of(key, algorithm=algorithm, kid=kid)

    @classmethod
    def from_jwk(cls, jwk: Mapping[str, Any] | str) -> SigningKey:
        """Load a private JWK (a mapping or its JSON text); ``kid`` and ``alg`` are kept."""
        try:
            data = json.loads(jwk) if isinstance(jwk, str) else dict(jwk)
        except ValueError:
            raise SigningKeyError("the signing JWK is not JSON") from None
        if not isinstance(data, dict):
            raise SigningKeyError("the signing JWK is not a JSON object")
        kty = data.get("kty")
        key: Any
        try:
            if kty == "RSA":
                key = RSAAlgorithm.from_jwk(json.dumps(data))
            elif kty == "EC":
                key = ECAlgorithm.from_jwk(json.dumps(data))
            elif kty == "OKP":
                key = OKPAlgorithm.from_jwk(json.dumps(data))
            else:
                raise SigningKeyError(f"unsupported signing JWK kty {kty!r}")
        except SigningKeyError:
            raise
        except Exception as exc:  # PyJWT's InvalidKeyError and cryptography's ValueError alike
            raise SigningKeyError(f"not a usable JWK ({type(exc).__name__})") from None
        if not isinstance(
            key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
        ):
            raise SigningKeyError("the signing JWK has no private part")
        return cls.of(key, algorithm=data.get("alg"), kid=data.get("kid"))

    @classmethod
    def load(cls, value: str | Mapping[str, Any]) -> SigningKey:
        """A key from settings: PEM text, JWK JSON text or a JWK mapping."""
        if isinstance(value, str) and value.lstrip().startswith("-----BEGIN"):
            return cls.from_pem(value)
        if isinstance(value, str) and not value.lstrip().startswith("{"):
            raise SigningKeyError("neither a PEM private key (-----BEGIN ...) nor a JWK (JSON)")
        return cls.from_jwk(value)

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK with ``kid``, ``alg`` and ``use``."""
        return _public_jwk(self.private_key) | {
            "kid": self.kid,
            "alg": self.algorithm,
            "use": "sig",
        }

    def private_pem(self) -> str:
        """The private key as unencrypted PKCS#8 PEM, for storing it in a secret store."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    @cached_property
    def _verification_key(self) -> VerificationKey:
        return VerificationKey(
            kid=self.kid, key=self.private_key.public_key(), algorithms=frozenset({self.algorithm})
        )

    def verification_key(self) -> VerificationKey:
        """The public half, as `TokenVerifier` uses it."""
        return self._verification_key


def _thumbprint(jwk: Mapping[str, Any]) -> str:
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode("utf-8")).digest())


@dataclass
class _Published:
    key: SigningKey
    until: float | None  # time.time() after which the key is withdrawn; None: until removed


class SigningKeySet:
    """The auth service's keys: one active key signs; replaced keys stay published a while.

    It is also a `KeySource`, so a `TokenVerifier(keys=key_set, ...)` in the auth service checks
    its own tokens without fetching its own JWKS.

    Args:
        active: the key that signs new tokens.
        previous: keys still published for verification (no expiry: remove with `retire`).
        max_token_lifetime: the longest lifetime `issue_access_token` accepts; a replaced key
            stays published this long after `rotate`.
    """

    def __init__(
        self,
        active: SigningKey,
        *,
        previous: Iterable[SigningKey] = (),
        max_token_lifetime: float = 3600.0,
    ) -> None:
        self._lock = threading.Lock()
        self._active = active
        self._published: dict[str, _Published] = {}
        for key in previous:
            if key.kid == active.kid or key.kid in self._published:
                raise ConfigurationError(f"SigningKeySet: kid {key.kid!r} appears twice")
            self._published[key.kid] = _Published(key, None)
        self.max_token_lifetime = max_token_lifetime

    def __repr__(self) -> str:
        return f"SigningKeySet(active={self._active.kid!r}, published={sorted(self._published)!r})"

    @classmethod
    def from_settings(
        cls,
        keys: Sequence[str | Mapping[str, Any]],
        *,
        max_token_lifetime: float = 3600.0,
        name: str = "SIGNING_KEYS",
    ) -> SigningKeySet:
        """Keys as PEM or JWK: the first signs, the others stay published.

        Rotating by configuration: put the new key first, keep the old one second for at least
        the longest token lifetime, then remove it. Errors name the setting as `name`.
        """
        if isinstance(keys, str | bytes) or not keys:
            raise ConfigurationError(f"{name} must be a non-empty list of PEM or JWK keys")
        loaded: list[SigningKey] = []
        for index, value in enumerate(keys):
            try:
                loaded.append(SigningKey.load(value))
            except SigningKeyError as exc:
                raise ConfigurationError(f"{name}[{index}]: {exc}") from None
        try:
            return cls(loaded[0], previous=loaded[1:], max_token_lifetime=max_token_lifetime)
        except ConfigurationError as exc:
            raise ConfigurationError(f"{name}: {exc}") from None

    @classmethod
    def from_env(
        cls, prefix: str = "COMMON_AUTH", *, environ: Mapping[str, str] | None = None
    ) -> SigningKeySet:
        """Keys from the environment: ``{prefix}_SIGNING_KEY`` (PEM or JWK, required) signs;
        ``{prefix}_PREVIOUS_SIGNING_KEYS`` (a JSON list of PEM strings or JWKs) stay published."""
        env = os.environ if environ is None else environ
        name = f"{prefix}_SIGNING_KEY"
        active = env.get(name)
        if not active:
            raise ConfigurationError(f"environment variable {name} is not set")
        keys: list[str | Mapping[str, Any]] = [active]
        previous_name = f"{prefix}_PREVIOUS_SIGNING_KEYS"
        previous = env.get(previous_name)
        if previous:
            try:
                listed = json.loads(previous)
            except ValueError:
                raise ConfigurationError(f"{previous_name} is not a JSON list") from None
            if not isinstance(listed, list):
                raise ConfigurationError(f"{previous_name} is not a JSON list")
            keys += listed
        return cls.from_settings(keys)

    @property
    def active(self) -> SigningKey:
        """The key that signs new tokens."""
        return self._active

    def rotate(self, new_key: SigningKey, *, now: float | None = None) -> None:
        """Make `new_key` the signing key; the old one stays published `max_token_lifetime`."""
        now = time.time() if now is None else now
        with self._lock:
            if new_key.kid == self._active.kid or new_key.kid in self._published:
                raise ConfigurationError(f"SigningKeySet.rotate: kid {new_key.kid!r} is in use")
            old = self._active
            self._published[old.kid] = _Published(old, now + self.max_token_lifetime)
            self._active = new_key

    def retire(self, kid: str) -> None:
        """Withdraw a replaced key now: tokens it signed stop verifying."""
        with self._lock:
            if self._published.pop(kid, None) is None:
                raise ConfigurationError(f"SigningKeySet.retire: no replaced key has kid {kid!r}")

    def _live(self, now: float) -> list[SigningKey]:
        with self._lock:
            expired = [
                kid
                for kid, item in self._published.items()
                if item.until is not None and now >= item.until
            ]
            for kid in expired:
                del self._published[kid]
            return [self._active, *(item.key for item in self._published.values())]

    def jwks(self, *, now: float | None = None) -> dict[str, Any]:
        """The public JWKS document to publish: the active key and the still-published ones."""
        live = self._live(time.time() if now is None else now)
        return {"keys": [key.public_jwk() for key in live]}

    def get_key(self, kid: str | None) -> VerificationKey:
        """`KeySource`: the published key with this kid."""
        for key in self._live(time.time()):
            if key.kid == kid:
                return key.verification_key()
        raise UnknownSigningKey("no published key has the token's kid")

    async def aget_key(self, kid: str | None) -> VerificationKey:
        """`KeySource`, async form."""
        return self.get_key(kid)


def issue_access_token(
    keys: SigningKeySet,
    *,
    issuer: str,
    subject: str,
    audience: str | Sequence[str],
    lifetime: float = 300.0,
    scopes: Iterable[str] = (),
    roles: Iterable[str] = (),
    client_id: str | None = None,
    claims: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> str:
    """Sign an RFC 9068 access token (``typ: at+jwt``) with the set's active key.

    The token carries ``iss``, ``sub``, ``aud``, ``iat``, ``nbf``, ``exp``, a random ``jti``,
    ``scope`` (space-separated), ``roles`` and ``client_id`` when given, and `claims` (which may
    not override the registered ones).
    """
    if not 0 < lifetime <= keys.max_token_lifetime:
        raise ConfigurationError(
            f"issue_access_token: lifetime must be in (0, {keys.max_token_lifetime}] seconds, "
            "so that rotation keeps every live token verifiable"
        )
    issued = int(time.time() if now is None else now)
    payload: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience if isinstance(audience, str) else list(audience),
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(lifetime),
        "jti": secrets.token_urlsafe(16),
    }
    scope = " ".join(scopes)
    if scope:
        payload["scope"] = scope
    role_list = list(roles)
    if role_list:
        payload["roles"] = role_list
    if client_id is not None:
        payload["client_id"] = client_id
    for name, value in (claims or {}).items():
        if name in payload or name in ("scope", "roles", "client_id"):
            raise ConfigurationError(f"issue_access_token: claims may not override {name!r}")
        payload[name] = value
    signer = keys.active
    try:
        return jwt.encode(
            payload,
            signer.private_key,
            algorithm=signer.algorithm,
            headers={"kid": signer.kid, "typ": "at+jwt"},
        )
    except Exception as exc:  # PyJWT or cryptography: never let a library error escape
        raise SigningKeyError(
            f"signing with key {signer.kid!r} failed ({type(exc).__name__})"
        ) from None
