"""The public surface of common_utils changes only on purpose, and importing it stays cheap."""

import json
import subprocess
import sys

import common_utils

# What `import common_utils` must not pull in: every generated client imports it for the request id.
# OpenTelemetry's API loads on the first trace read or written, not on import.
HEAVY = ("pydantic", "django", "celery", "kombu", "httpx", "opentelemetry")


def test_all_is_sorted_and_exported() -> None:
    assert common_utils.__all__ == sorted(common_utils.__all__)
    for name in common_utils.__all__:
        assert hasattr(common_utils, name), name


def test_version_is_a_release_version() -> None:
    from packaging.version import Version

    assert str(Version(common_utils.__version__)) == common_utils.__version__


def _fresh_python(code: str) -> object:
    """Run ``code`` in a new interpreter and return the JSON it prints."""
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return json.loads(out)


def test_importing_the_package_loads_no_framework() -> None:
    loaded = _fresh_python(
        "import json, sys\n"
        "import common_utils\n"
        "from common_utils import get_request_id, outgoing_headers, request_context\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps(sorted({m.partition('.')[0] for m in sys.modules} & set(heavy))))\n"
    )
    assert loaded == []


def test_every_exported_name_resolves_in_a_fresh_interpreter() -> None:
    result = _fresh_python(
        "import json\n"
        "import common_utils\n"
        "listed = sorted(dir(common_utils))\n"
        "missing = [n for n in common_utils.__all__ if n not in listed]\n"
        "values = {n: type(getattr(common_utils, n)).__name__ for n in common_utils.__all__}\n"
        "namespace = {}\n"
        "exec('from common_utils import *', namespace)\n"
        "starred = sorted(n for n in namespace if n != '__builtins__')\n"
        "print(json.dumps({'missing': missing, 'values': values, 'starred': starred}))\n"
    )
    assert isinstance(result, dict)
    assert result["missing"] == []
    assert sorted(result["values"]) == sorted(common_utils.__all__)
    assert result["starred"] == sorted(common_utils.__all__)
    # The lazily loaded names are the real objects, not placeholders.
    assert result["values"]["Envelope"] == "ModelMetaclass"
    assert result["values"]["JsonLogFormatter"] == "type"
    assert result["values"]["httpx_request_hook"] == "function"
    assert result["values"]["records_spans"] == "function"


def test_lazy_names_are_the_objects_of_their_modules() -> None:
    from common_utils import _events, _httpx_hooks, _logging, _tracing

    assert common_utils.Envelope is _events.Envelope
    assert common_utils.events is _events.events
    assert common_utils.async_httpx_request_hook is _httpx_hooks.async_httpx_request_hook
    assert common_utils.RequestContextLogFilter is _logging.RequestContextLogFilter
    assert common_utils.records_spans is _tracing.records_spans


def test_an_unknown_name_is_an_attribute_error_naming_it() -> None:
    import pytest

    with pytest.raises(AttributeError, match="'common_utils' has no attribute 'Envelop'"):
        common_utils.Envelop  # type: ignore[attr-defined]  # noqa: B018 - the access is the test


def test_the_testing_module_shows_its_api() -> None:
    import common_utils.testing

    assert common_utils.testing.__all__ == ["DEFAULT_MAX_BODY_SIZE", "OtlpReceiver", "ReceivedSpan"]
