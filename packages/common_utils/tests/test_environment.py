"""Settings from environment variables: types read from text, defaults, every bad one named."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import pytest
from pydantic import Field, Json, ValidationInfo, field_validator, model_validator

from common_utils import (
    CommonUtilsError,
    Duration,
    EnvironmentSettings,
    EnvironmentSettingsError,
    Url,
    Words,
)


class ServiceEnvironment(EnvironmentSettings):
    SECRET_KEY: str
    DEBUG: bool = False
    ALLOWED_HOSTS: Words = ("127.0.0.1", "localhost")
    DATABASE_URL: Url
    UPSTREAM_URL: Url | None = None
    TIMEOUT: Annotated[Duration, Field(gt=timedelta(0))] = timedelta(seconds=5)
    WORKERS: Annotated[int, Field(ge=1, le=64)] = 4
    ACCOUNTS: Json[dict[str, list[str]]] = Field(default_factory=dict)

    @field_validator("ACCOUNTS")
    @classmethod
    def _no_admin(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, scopes in value.items():
            if "admin" in scopes:
                raise ValueError(f"[{name!r}]['scopes']: admin may not be granted")
        return value


GOOD = {"SECRET_KEY": "s3cret", "DATABASE_URL": "sqlite:////tmp/db.sqlite3"}


def test_defaults_apply_and_values_are_typed() -> None:
    env = ServiceEnvironment.from_environ(
        {
            **GOOD,
            "DEBUG": "yes",
            "ALLOWED_HOSTS": "a.example, b.example c.example,a.example",
            "UPSTREAM_URL": "http://users:8000/",
            "TIMEOUT": "1.5",
            "ACCOUNTS": '{"orders": ["users:read"]}',
        }
    )
    assert env.SECRET_KEY == "s3cret"
    assert env.DEBUG is True
    assert env.ALLOWED_HOSTS == ("a.example", "b.example", "c.example")
    assert env.UPSTREAM_URL == "http://users:8000/"
    assert timedelta(seconds=1.5) == env.TIMEOUT
    assert env.WORKERS == 4
    assert env.ACCOUNTS == {"orders": ["users:read"]}
    defaults = ServiceEnvironment.from_environ(GOOD)
    assert defaults.ALLOWED_HOSTS == ("127.0.0.1", "localhost")
    assert defaults.UPSTREAM_URL is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30", 30),
        ("1.5", 1.5),
        ("500ms", 0.5),
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("PT5M", 300),
        (" 10 s ", 10),
    ],
)
def test_durations_read_in_their_usual_forms(text: str, seconds: float) -> None:
    env = ServiceEnvironment.from_environ({**GOOD, "TIMEOUT": text})
    assert env.TIMEOUT.total_seconds() == seconds


def test_empty_and_blank_values_count_as_unset() -> None:
    env = ServiceEnvironment.from_environ({**GOOD, "DEBUG": "", "WORKERS": "   "})
    assert env.DEBUG is False
    assert env.WORKERS == 4
    with pytest.raises(EnvironmentSettingsError) as caught:
        ServiceEnvironment.from_environ({**GOOD, "SECRET_KEY": "  "})
    assert caught.value.errors == {"SECRET_KEY": "required, not set"}


def test_every_bad_variable_is_named_at_once() -> None:
    with pytest.raises(EnvironmentSettingsError) as caught:
        ServiceEnvironment.from_environ(
            {
                "DEBUG": "maybe",
                "DATABASE_URL": "not a url",
                "UPSTREAM_URL": "http:///path-without-host",
                "TIMEOUT": "soon",
                "WORKERS": "100",
                "ACCOUNTS": '{"orders": "users:read"}',
            }
        )
    errors = caught.value.errors
    assert list(errors) == [
        "SECRET_KEY",
        "DEBUG",
        "DATABASE_URL",
        "UPSTREAM_URL",
        "TIMEOUT",
        "WORKERS",
        "ACCOUNTS['orders']",
    ]
    assert errors["SECRET_KEY"] == "required, not set"
    assert "boolean" in errors["DEBUG"]
    assert errors["DATABASE_URL"] == "expected an absolute URL (scheme://host/path)"
    assert "with a host" in errors["UPSTREAM_URL"]
    assert errors["TIMEOUT"].startswith("expected a duration")
    assert errors["WORKERS"] == "Input should be less than or equal to 64"
    assert errors["ACCOUNTS['orders']"] == "Input should be a valid list"
    message = str(caught.value)
    assert message.startswith("7 environment variables are missing or wrong:\n  SECRET_KEY: ")
    assert isinstance(caught.value, CommonUtilsError)
    assert isinstance(caught.value, ValueError)


def test_a_validator_names_the_place_inside_a_variable() -> None:
    with pytest.raises(EnvironmentSettingsError) as caught:
        ServiceEnvironment.from_environ({**GOOD, "ACCOUNTS": '{"ops": ["admin"]}'})
    assert caught.value.errors == {"ACCOUNTS['ops']['scopes']": "admin may not be granted"}


def test_bad_json_is_named_and_values_are_never_echoed() -> None:
    secret = '{"orders": ["s3cret-value"'
    with pytest.raises(EnvironmentSettingsError) as caught:
        ServiceEnvironment.from_environ({**GOOD, "ACCOUNTS": secret, "WORKERS": "s3cret-value"})
    assert set(caught.value.errors) == {"ACCOUNTS", "WORKERS"}
    assert "s3cret-value" not in str(caught.value)


def test_the_process_environment_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    monkeypatch.delenv("WORKERS", raising=False)
    env = ServiceEnvironment.from_environ()
    assert (env.SECRET_KEY, env.DATABASE_URL) == ("from-env", "postgresql://db/x")


def test_the_settings_are_frozen() -> None:
    env = ServiceEnvironment.from_environ(GOOD)
    with pytest.raises(ValueError, match="frozen"):
        env.SECRET_KEY = "other"


class BrokerEnvironment(EnvironmentSettings):
    BROKER_URL: Url | None = None
    # Checked even when unset (validate_default), so it is reported with the other variables.
    BROKER_DIR: Annotated[str | None, Field(validate_default=True)] = None
    WORKERS: int = 1
    LOW: int = 0
    HIGH: int = 10

    @field_validator("BROKER_DIR")
    @classmethod
    def _dir_without_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("BROKER_URL") is None:
            raise ValueError("required when BROKER_URL is not set")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> BrokerEnvironment:
        if self.LOW > self.HIGH:
            raise ValueError("HIGH: must not be below LOW")
        return self


def test_a_rule_across_variables_is_reported_with_the_others() -> None:
    with pytest.raises(EnvironmentSettingsError) as caught:
        BrokerEnvironment.from_environ({"WORKERS": "many"})
    assert set(caught.value.errors) == {"BROKER_DIR", "WORKERS"}
    assert caught.value.errors["BROKER_DIR"] == "required when BROKER_URL is not set"
    assert BrokerEnvironment.from_environ({"BROKER_URL": "amqp://mq//"}).BROKER_DIR is None


def test_a_model_validator_names_its_variable() -> None:
    with pytest.raises(EnvironmentSettingsError) as caught:
        BrokerEnvironment.from_environ({"BROKER_DIR": "broker", "LOW": "5", "HIGH": "1"})
    assert caught.value.errors == {"HIGH": "must not be below LOW"}
