"""manage.py create_user: creates, then updates (idempotent); the password from the environment."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from users.accounts import display_name_of


def test_creates_then_updates(db, monkeypatch) -> None:
    monkeypatch.setenv("USERS_NEW_PASSWORD", "correct horse battery")
    call_command("create_user", "carol", email="carol@example.com", display_name="Carol")
    monkeypatch.setenv("USERS_NEW_PASSWORD", "another good one")
    call_command("create_user", "carol", email="carol@example.org", display_name="Carol C")
    user = User.objects.get(username="carol")
    assert User.objects.count() == 1
    assert user.email == "carol@example.org"
    assert display_name_of(user) == "Carol C"
    assert user.check_password("another good one")


def test_without_the_password_variable_it_refuses(db, monkeypatch) -> None:
    monkeypatch.delenv("USERS_NEW_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="USERS_NEW_PASSWORD"):
        call_command("create_user", "carol", email="carol@example.com")


def test_a_weak_password_is_refused(db, monkeypatch) -> None:
    monkeypatch.setenv("USERS_NEW_PASSWORD", "123")
    with pytest.raises(CommandError, match="USERS_NEW_PASSWORD: This password is too short"):
        call_command("create_user", "carol", email="carol@example.com")
