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


_JSON_LOGGING_SCRIPT = """
import logging, logging.config
from common_utils import json_logging, request_context
logging.config.dictConfig(json_logging("info", loggers={"noisy": "ERROR"}))
with request_context(request_id="req-7"):
    logging.getLogger("app").info("order placed", extra={"order_id": 7})
    logging.getLogger("httpx").info("HTTP Request: GET http://h/?token=secret")
    logging.getLogger("noisy").warning("not shown")
    logging.getLogger("noisy").error("shown")
logging.getLogger("app").debug("below the root level")
"""


def test_json_logging_is_a_logging_setting_with_the_request_context() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", _JSON_LOGGING_SCRIPT],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == ""
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [(r["logger"], r["message"], r["request_id"]) for r in lines] == [
        ("app", "order placed", "req-7"),
        ("noisy", "shown", "req-7"),
    ]
    assert lines[0]["order_id"] == 7


def test_json_logging_names_a_level_it_does_not_know() -> None:
    from common_utils import json_logging

    with pytest.raises(ValueError, match=r"celery='LOUD' is not a logging level"):
        json_logging("INFO", loggers={"celery": "LOUD"})
    with pytest.raises(ValueError, match=r"level='verbose'"):
        json_logging("verbose")
