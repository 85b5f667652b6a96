"""Log records carry the request context; the JSON formatter writes one object per line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from common_utils import JsonLogFormatter, RequestContextLogFilter, request_context


@pytest.fixture
def json_log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("test_common_utils.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_the_request_context_and_extras(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_log
    with request_context(request_id="req-42") as ctx:
        logger.info("order %s placed", 7, extra={"order_id": 7})
    logger.warning("outside")
    inside, outside = _lines(stream)
    assert inside["message"] == "order 7 placed"
    assert inside["level"] == "INFO"
    assert inside["logger"] == "test_common_utils.json"
    assert inside["request_id"] == "req-42"
    assert inside["trace_id"] == ctx.trace_id
    assert inside["order_id"] == 7
    assert outside["request_id"] is None


def test_json_lines_carry_exceptions_and_survive_unencodable_extras(
    json_log: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = json_log
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("failed", extra={"thing": object()})
    (line,) = _lines(stream)
    assert "RuntimeError: boom" in str(line["exc_info"])
    assert str(line["thing"]).startswith("<object object")


def test_filter_lets_plain_formats_use_the_request_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContextLogFilter())
    handler.setFormatter(logging.Formatter("%(request_id)s %(message)s"))
    logger = logging.getLogger("test_common_utils.plain")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with request_context(request_id="abc"):
            logger.warning("hello")
        logger.warning("bye")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().splitlines() == ["abc hello", "None bye"]
