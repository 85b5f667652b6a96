"""JWKSCache over a real HTTP server: TTL, unknown-kid refetch policy, stale keys, single fetch."""

from __future__ import annotations

import asyncio
import threading

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from common_auth import (
    ConfigurationError,
    InvalidSignature,
    JWKSCache,
    KeySetUnavailable,
    SigningKey,
    TokenVerifier,
    UnknownSigningKey,
    UnsupportedAlgorithm,
)
from common_auth._jwks import parse_jwks, ttl_from_cache_control

ISSUER = "https://issuer.commons.test"
AUDIENCE = "https://api.commons.test"


def make_verifier(cache: JWKSCache) -> TokenVerifier:
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=cache)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, 300),
        ("max-age=600", 600),
        ("public, max-age=120, must-revalidate", 120),
        ('max-age="90"', 90),
        ("max-age=5", 60),  # below min_ttl
        ("max-age=999999", 3600),  # above max_ttl
        ("no-store", 60),
        ("no-cache, max-age=600", 60),
        ("private", 300),
    ],
)
def test_ttl_comes_from_cache_control_within_bounds(header, expected) -> None:
    assert ttl_from_cache_control(header, default=300, minimum=60, maximum=3600) == expected


def test_keys_are_fetched_once_and_reused(forge, jwks_server, clock) -> None:
    verifier = make_verifier(JWKSCache(jwks_server.url, clock=clock))
    for alg in ("RS256", "ES256", "EdDSA") * 10:
        verifier.verify(forge.token(alg=alg))
    assert jwks_server.fetches == 1


def test_keys_are_refetched_when_the_ttl_ends(forge, jwks_server, clock) -> None:
    jwks_server.cache_control = "max-age=120"
    cache = JWKSCache(jwks_server.url, clock=clock)
    verifier = make_verifier(cache)
    verifier.verify(forge.token())
    clock.advance(119)
    verifier.verify(forge.token())
    assert jwks_server.fetches == 1
    clock.advance(2)
    verifier.verify(forge.token())
    assert jwks_server.fetches == 2


def test_a_flood_of_unknown_kids_costs_one_fetch_per_interval(forge, jwks_server, clock) -> None:
    cache = JWKSCache(jwks_server.url, refetch_interval=60, clock=clock)
    verifier = make_verifier(cache)
    verifier.verify(forge.token())
    attacker = SigningKey.generate("ES256", kid="x")
    for i in range(500):
        with pytest.raises(UnknownSigningKey):
            verifier.verify(forge.token(alg="ES256", key=attacker, header={"kid": f"bad-{i}"}))
    assert jwks_server.fetches == 1  # the last fetch is younger than the interval
    clock.advance(61)
    for i in range(500):
        with pytest.raises(UnknownSigningKey):
            verifier.verify(forge.token(alg="ES256", key=attacker, header={"kid": f"bad-{i}"}))
    assert jwks_server.fetches == 2
    verifier.verify(forge.token())  # known keys keep working throughout
    assert jwks_server.fetches == 2


def test_a_new_kid_is_found_by_a_refetch(forge, jwks_server, clock) -> None:
    cache = JWKSCache(jwks_server.url, refetch_interval=30, clock=clock)
    verifier = make_verifier(cache)
    verifier.verify(forge.token())
    new = SigningKey.generate("ES256", kid="ec-2")
    jwks_server.publish(forge.rsa, new)
    clock.advance(31)
    assert verifier.verify(forge.token(alg="ES256", key=new)).sub == "user-42"
    assert jwks_server.fetches == 2


def test_stale_keys_serve_while_the_issuer_is_down(forge, jwks_server, clock) -> None:
    jwks_server.cache_control = "max-age=60"
    cache = JWKSCache(jwks_server.url, retry_interval=10, clock=clock)
    verifier = make_verifier(cache)
    verifier.verify(forge.token())
    jwks_server.status = 503
    clock.advance(61)
    verifier.verify(forge.token())  # the fetch fails, the stale key verifies
    assert jwks_server.fetches == 2
    for _ in range(50):
        verifier.verify(forge.token())
    assert jwks_server.fetches == 2  # no retry before retry_interval
    clock.advance(11)
    verifier.verify(forge.token())
    assert jwks_server.fetches == 3
    jwks_server.status = 200
    clock.advance(11)
    verifier.verify(forge.token())
    assert jwks_server.fetches == 4
    clock.advance(30)
    verifier.verify(forge.token())
    assert jwks_server.fetches == 4  # fresh again for max-age


def test_stale_keys_serve_when_the_issuer_is_unreachable(forge, unused_url, clock) -> None:
    cache = JWKSCache(unused_url, clock=clock)
    with pytest.raises(KeySetUnavailable, match="no keys are cached"):
        cache.get_key("rsa-1")
    assert cache.fetch_count == 1
    with pytest.raises(KeySetUnavailable):
        cache.get_key("rsa-1")
    assert cache.fetch_count == 1  # waits retry_interval before trying again


def test_no_keys_and_issuer_down_is_key_set_unavailable(forge, jwks_server, clock) -> None:
    jwks_server.status = 500
    verifier = make_verifier(JWKSCache(jwks_server.url, clock=clock))
    with pytest.raises(KeySetUnavailable):
        verifier.verify(forge.token())


def test_concurrent_threads_share_one_fetch(forge, jwks_server, clock) -> None:
    jwks_server.gate.clear()  # the server holds its answer until every thread waits
    cache = JWKSCache(jwks_server.url, clock=clock)
    verifier = make_verifier(cache)
    token = forge.token()
    results: list[str] = []
    started = threading.Barrier(9)

    def worker() -> None:
        started.wait()
        results.append(verifier.verify(token).sub)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    started.wait()
    jwks_server.gate.set()
    for thread in threads:
        thread.join()
    assert results == ["user-42"] * 8
    assert jwks_server.fetches == 1


def test_concurrent_tasks_share_one_fetch(forge, jwks_server, clock) -> None:
    verifier = make_verifier(JWKSCache(jwks_server.url, clock=clock))
    token = forge.token()

    async def many() -> list[str]:
        claims = await asyncio.gather(*(verifier.averify(token) for _ in range(30)))
        return [c.sub for c in claims]

    assert asyncio.run(many()) == ["user-42"] * 30
    assert jwks_server.fetches == 1


def test_async_flood_of_unknown_kids_costs_nothing(forge, jwks_server, clock) -> None:
    verifier = make_verifier(JWKSCache(jwks_server.url, clock=clock))
    attacker = SigningKey.generate("ES256", kid="x")
    tokens = [forge.token(alg="ES256", key=attacker, header={"kid": f"k{i}"}) for i in range(200)]

    async def flood() -> list[BaseException | object]:
        await verifier.averify(forge.token())
        return await asyncio.gather(*(verifier.averify(t) for t in tokens), return_exceptions=True)

    outcomes = asyncio.run(flood())
    assert all(isinstance(o, UnknownSigningKey) for o in outcomes)
    assert jwks_server.fetches == 1


def test_unusable_keys_in_the_jwks_are_skipped(forge, jwks_server, clock, caplog) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (the point)
    small_jwk = RSAAlgorithm.to_jwk(small.public_key(), as_dict=True) | {"kid": "small"}
    jwks_server.document = {
        "keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            small_jwk,
            forge.rsa.public_jwk() | {"kid": "enc", "use": "enc"},
            forge.ec.public_jwk() | {"kid": "mislabelled", "alg": "RS256"},
            {"kty": "EC", "kid": "broken", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
            "not an object",
            forge.rsa.public_jwk(),
            forge.rsa.public_jwk(),  # a duplicate kid: the first is kept
        ]
    }
    cache = JWKSCache(jwks_server.url, clock=clock)
    verifier = make_verifier(cache)
    verifier.verify(forge.token())
    for kid in ("hmac", "small", "enc", "mislabelled", "broken"):
        with pytest.raises(UnknownSigningKey):
            cache.get_key(kid)
    assert "skipped" in caplog.text


def test_an_hmac_key_published_in_the_jwks_can_never_verify(forge, jwks_server, clock) -> None:
    import hmac
    import json
    from hashlib import sha256

    from common_auth._verifier import _b64decode

    jwks_server.document = {"keys": [{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]}
    verifier = make_verifier(JWKSCache(jwks_server.url, clock=clock))
    header = forge.unsigned({"alg": "HS256", "kid": "hmac"}, json.dumps(forge.claims()))
    signing_input = header.rsplit(".", 1)[0]
    mac = hmac.new(_b64decode("c2VjcmV0", "k"), signing_input.encode(), sha256).digest()
    import base64

    token = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(UnsupportedAlgorithm):
        verifier.verify(token)


def test_an_oversized_or_broken_jwks_answer_is_a_failed_fetch(forge, jwks_server, clock) -> None:
    jwks_server.document = {"keys": [forge.rsa.public_jwk()] * 200, "pad": "x" * 300_000}
    with pytest.raises(KeySetUnavailable):
        JWKSCache(jwks_server.url, clock=clock).get_key("rsa-1")
    jwks_server.document = {"not": "a jwks"}
    with pytest.raises(KeySetUnavailable):
        JWKSCache(jwks_server.url, clock=clock).get_key("rsa-1")


def test_refresh_fetches_now(forge, jwks_server, clock) -> None:
    cache = JWKSCache(jwks_server.url, clock=clock)
    cache.refresh()
    asyncio.run(cache.arefresh())
    assert jwks_server.fetches == 2
    assert cache.get_key("ec-1").algorithms == {"ES256"}
    assert "rsa-1" in repr(cache)


def test_a_wrong_signature_does_not_trigger_a_fetch(forge, jwks_server, clock) -> None:
    verifier = make_verifier(JWKSCache(jwks_server.url, clock=clock))
    attacker = SigningKey.generate("RS256", kid=forge.rsa.kid)
    verifier.verify(forge.token())
    clock.advance(3600)
    with pytest.raises(InvalidSignature):
        verifier.verify(forge.token(key=attacker))
    assert jwks_server.fetches <= 2


def test_bad_cache_configuration_is_typed() -> None:
    with pytest.raises(ConfigurationError, match="jwks_url"):
        JWKSCache("file:///etc/passwd")
    with pytest.raises(ConfigurationError, match="min_ttl"):
        JWKSCache("http://127.0.0.1/jwks", min_ttl=10, max_ttl=5)


def test_parse_jwks_refuses_a_non_jwks() -> None:
    with pytest.raises(ValueError, match="not a JWKS"):
        parse_jwks([], source="test")


def test_threads_and_event_loops_together_share_one_fetch(forge, jwks_server, clock) -> None:
    jwks_server.gate.clear()
    verifier = make_verifier(JWKSCache(jwks_server.url, clock=clock))
    token = forge.token()
    subjects: list[str] = []

    def thread_caller() -> None:
        subjects.append(verifier.verify(token).sub)

    def loop_caller() -> None:
        async def many() -> list[str]:
            claims = await asyncio.gather(*(verifier.averify(token) for _ in range(5)))
            return [c.sub for c in claims]

        subjects.extend(asyncio.run(many()))

    callers = [threading.Thread(target=thread_caller) for _ in range(3)]
    callers += [threading.Thread(target=loop_caller) for _ in range(2)]
    for caller in callers:
        caller.start()
    assert jwks_server.requested.wait(timeout=10)
    jwks_server.gate.set()
    for caller in callers:
        caller.join()
    assert subjects == ["user-42"] * 13
    assert jwks_server.fetches == 1


def test_ed25519_is_the_rfc9864_name_of_eddsa(forge, jwks_server, clock) -> None:
    unpinned = {k: v for k, v in forge.ed.public_jwk().items() if k != "alg"}
    jwks_server.document = {"keys": [unpinned]}
    verifier = make_verifier(JWKSCache(jwks_server.url, clock=clock))
    for alg in ("EdDSA", "Ed25519"):
        assert verifier.verify(forge.token(alg=alg, key=forge.ed)).sub == "user-42"
    jwks_server.document = {"keys": [forge.ed.public_jwk()]}  # pinned to "EdDSA"
    pinned = make_verifier(JWKSCache(jwks_server.url, clock=clock))
    with pytest.raises(UnsupportedAlgorithm):
        pinned.verify(forge.token(alg="Ed25519", key=forge.ed))


def test_a_flood_of_unknown_kids_from_threads_and_loops_costs_one_fetch(
    forge, jwks_server, clock
) -> None:
    # The refetch interval has passed, and 6 threads and 2 event loops send invented kids while
    # the issuer is slow to answer: one refetch reaches it, then none until the next interval.
    verifier = make_verifier(JWKSCache(jwks_server.url, refetch_interval=60, clock=clock))
    verifier.verify(forge.token())
    clock.advance(61)
    attacker = SigningKey.generate("ES256", kid="x")
    tokens = [forge.token(alg="ES256", key=attacker, header={"kid": f"k{i}"}) for i in range(40)]
    jwks_server.gate.clear()
    jwks_server.requested.clear()
    outcomes: list[object] = []

    def thread_flood() -> None:
        for token in tokens:
            try:
                verifier.verify(token)
            except UnknownSigningKey as exc:
                outcomes.append(exc)

    def loop_flood() -> None:
        async def flood() -> list[object]:
            return await asyncio.gather(
                *(verifier.averify(t) for t in tokens), return_exceptions=True
            )

        outcomes.extend(asyncio.run(flood()))

    callers = [threading.Thread(target=thread_flood) for _ in range(6)]
    callers += [threading.Thread(target=loop_flood) for _ in range(2)]
    for caller in callers:
        caller.start()
    assert jwks_server.requested.wait(timeout=10)
    jwks_server.gate.set()
    for caller in callers:
        caller.join()
    assert len(outcomes) == 8 * len(tokens)
    assert all(isinstance(o, UnknownSigningKey) for o in outcomes)
    assert jwks_server.fetches == 2
    verifier.verify(forge.token())  # the known keys kept working
    assert jwks_server.fetches == 2
