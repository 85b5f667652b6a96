"""Spans and counters of verification and JWKS fetches, read back from the OpenTelemetry SDK.

Each verification is one ``auth.verify_token`` span with its outcome and nothing from the token;
each JWKS fetch is one span whose ``traceparent`` the issuer receives (or, with the httpx
instrumentation on, an INTERNAL span over httpx's HTTP span, never two HTTP spans); the counters
go up by outcome and result. Without an SDK (a fresh interpreter), verification works and records
nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from common_auth import (
    InvalidSignature,
    JWKSCache,
    KeySetUnavailable,
    SigningKey,
    TokenExpired,
    TokenVerifier,
)

ISSUER = "https://issuer.commons.test"
AUDIENCE = "https://api.commons.test"
VERIFICATIONS = "commons.auth.verifications"
FETCHES = "commons.auth.jwks.fetches"


def _traceparent(span: Any) -> str:
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def _named(spans: Any, name: str) -> list[Any]:
    return [span for span in spans if span.name == name]


def test_a_verification_is_a_span_with_its_outcome_and_nothing_from_the_token(forge, telemetry):
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=forge.keys)
    before = telemetry.counts(VERIFICATIONS)
    token = forge.token()
    verifier.verify(token)

    (span,) = _named(telemetry.spans.get_finished_spans(), "auth.verify_token")
    assert span.kind is SpanKind.INTERNAL
    assert dict(span.attributes) == {
        "commons.auth.verifier": "jwt",
        "commons.auth.outcome": "ok",
    }
    assert span.status.status_code is StatusCode.UNSET
    shown = json.dumps(dict(span.attributes)) + span.name
    for secret in (token, "user-42", "web", "jti-1"):
        assert secret not in shown
    assert telemetry.added(VERIFICATIONS, before) == {
        "commons.auth.outcome=ok,commons.auth.verifier=jwt": 1
    }


def test_refused_tokens_are_counted_by_outcome_with_the_reason_on_the_span(forge, telemetry):
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=forge.keys, leeway=0)
    expired = forge.token(forge.claims(exp=1_000, iat=900, nbf=900))
    forged = forge.token(key=SigningKey.generate("RS256", kid=forge.rsa.kid))
    before = telemetry.counts(VERIFICATIONS)
    with pytest.raises(TokenExpired):
        verifier.verify(expired)
    with pytest.raises(InvalidSignature):
        verifier.verify(forged)

    spans = _named(telemetry.spans.get_finished_spans(), "auth.verify_token")
    assert [
        (s.attributes["commons.auth.outcome"], s.attributes["error.type"], s.status.status_code)
        for s in spans
    ] == [
        ("expired", "TokenExpired", StatusCode.ERROR),
        ("bad_signature", "InvalidSignature", StatusCode.ERROR),
    ]
    assert spans[0].attributes["commons.auth.reason"] == "expired"
    assert telemetry.added(VERIFICATIONS, before) == {
        "commons.auth.outcome=bad_signature,commons.auth.verifier=jwt": 1,
        "commons.auth.outcome=expired,commons.auth.verifier=jwt": 1,
    }


def test_a_jwks_fetch_is_a_client_span_under_the_verification_whose_traceparent_is_sent(
    forge, jwks_server, telemetry
):
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=JWKSCache(jwks_server.url))
    before = telemetry.counts(FETCHES)
    verifier.verify(forge.token())

    spans = telemetry.spans.get_finished_spans()
    (verification,) = _named(spans, "auth.verify_token")
    (fetch,) = _named(spans, "auth.jwks_fetch")
    assert fetch.kind is SpanKind.CLIENT
    assert fetch.parent.span_id == verification.context.span_id
    assert fetch.attributes["commons.auth.jwks.result"] == "ok"
    assert fetch.attributes["commons.auth.jwks.keys"] == 3
    assert fetch.attributes["http.response.status_code"] == 200
    assert fetch.attributes["url.full"] == jwks_server.url
    (received,) = jwks_server.received
    assert received["traceparent"] == _traceparent(fetch)
    assert telemetry.added(FETCHES, before) == {"commons.auth.jwks.result=ok": 1}


def test_failed_fetches_are_counted_by_result(forge, jwks_server, unused_url, telemetry):
    jwks_server.status = 500
    before = telemetry.counts(FETCHES)
    verifications = telemetry.counts(VERIFICATIONS)
    for url in (jwks_server.url, unused_url):
        verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=JWKSCache(url))
        with pytest.raises(KeySetUnavailable):
            verifier.verify(forge.token())

    fetches = _named(telemetry.spans.get_finished_spans(), "auth.jwks_fetch")
    assert [f.attributes["commons.auth.jwks.result"] for f in fetches] == [
        "http_error",
        "unreachable",
    ]
    assert [f.attributes["error.type"] for f in fetches] == ["http_error", "ConnectError"]
    assert all(f.status.status_code is StatusCode.ERROR for f in fetches)
    assert telemetry.added(FETCHES, before) == {
        "commons.auth.jwks.result=http_error": 1,
        "commons.auth.jwks.result=unreachable": 1,
    }
    assert telemetry.added(VERIFICATIONS, verifications) == {
        "commons.auth.outcome=keys_unavailable,commons.auth.verifier=jwt": 2
    }


def test_async_verification_and_its_fetch_make_the_same_spans(forge, jwks_server, telemetry):
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=JWKSCache(jwks_server.url))
    asyncio.run(verifier.averify(forge.token(alg="ES256")))
    spans = telemetry.spans.get_finished_spans()
    (verification,) = _named(spans, "auth.verify_token")
    (fetch,) = _named(spans, "auth.jwks_fetch")
    assert fetch.parent.span_id == verification.context.span_id  # across the worker thread
    assert verification.attributes["commons.auth.outcome"] == "ok"


@pytest.fixture
def httpx_instrumented(telemetry):
    """opentelemetry-instrumentation-httpx on (every httpx transport), off again after."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    instrumentor = HTTPXClientInstrumentor()
    instrumentor.instrument()
    try:
        yield
    finally:
        instrumentor.uninstrument()


@pytest.mark.usefixtures("httpx_instrumented")
def test_with_the_httpx_instrumentation_a_fetch_has_one_http_span_not_two(
    forge, jwks_server, telemetry
):
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=JWKSCache(jwks_server.url))
    verifier.verify(forge.token())
    spans = telemetry.spans.get_finished_spans()
    (fetch,) = _named(spans, "auth.jwks_fetch")
    assert fetch.kind is SpanKind.INTERNAL
    (http_span,) = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert http_span.instrumentation_scope.name == "opentelemetry.instrumentation.httpx"
    assert http_span.parent.span_id == fetch.context.span_id
    (received,) = jwks_server.received
    assert received["traceparent"] == _traceparent(http_span)


NO_SDK = textwrap.dedent(
    """
    import sys
    from opentelemetry import trace
    from common_auth import SigningKey, SigningKeySet, StaticKeySet, TokenVerifier
    from common_auth import issue_access_token

    key = SigningKey.generate("ES256", kid="k")
    verifier = TokenVerifier(
        issuer="https://i.test", audience="api", keys=StaticKeySet([key.verification_key()])
    )
    token = issue_access_token(
        SigningKeySet(key), issuer="https://i.test", subject="s", audience="api"
    )
    claims = verifier.verify(token)
    print(type(trace.get_tracer_provider()).__name__, claims.sub)
    """
)


def test_without_an_sdk_verification_works_and_records_nothing():
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", NO_SDK],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["ProxyTracerProvider", "s"]


def test_a_verifier_with_telemetry_off_records_nothing(forge, telemetry):
    verifier = TokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=forge.keys)
    verifier.telemetry = False
    before = telemetry.counts(VERIFICATIONS)
    verifier.verify(forge.token())
    assert not telemetry.spans.get_finished_spans()
    assert not telemetry.added(VERIFICATIONS, before)
