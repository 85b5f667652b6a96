"""``manage.py create_user USERNAME --email E --display-name D``: create or update a user.

The password comes from the environment variable ``USERS_NEW_PASSWORD`` (never from the command
line, where other users of the machine could read it). Running it again updates the user's email,
display name and password, and reactivates it.
"""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from users.accounts import upsert_user

PASSWORD_VARIABLE = "USERS_NEW_PASSWORD"  # noqa: S105 (a variable name, not a password)


class Command(BaseCommand):
    help = (
        f"Create a user, or update an existing one; the password is read from ${PASSWORD_VARIABLE}."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", required=True)
        parser.add_argument("--display-name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        email: str = options["email"]
        display_name: str = options["display_name"]
        password = os.environ.get(PASSWORD_VARIABLE, "")
        if not password:
            raise CommandError(f"set the password in the environment variable {PASSWORD_VARIABLE}")
        try:
            UnicodeUsernameValidator()(username)
        except ValidationError as exc:
            raise CommandError(f"USERNAME: {' '.join(exc.messages)}") from None
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"--email: not an email address: {email!r}") from None
        if len(display_name) > 150:
            raise CommandError("--display-name: at most 150 characters")
        try:
            password_validation.validate_password(password, User(username=username, email=email))
        except ValidationError as exc:
            raise CommandError(f"{PASSWORD_VARIABLE}: {' '.join(exc.messages)}") from None
        user, created = upsert_user(
            username=username, email=email, display_name=display_name, password=password
        )
        self.stdout.write(
            f"{'created' if created else 'updated'} user {user.username} (id {user.pk})"
        )
