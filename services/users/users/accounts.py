"""Creating and updating users with their profile, shared by the API and ``create_user``."""

from __future__ import annotations

from common_utils.django import atomic_for
from django.contrib.auth.models import User

from users.models import Profile


def display_name_of(user: User) -> str:
    """The profile's display name, else the user's full name, else the username."""
    try:
        name = user.profile.display_name
    except Profile.DoesNotExist:
        name = ""
    return name or user.get_full_name() or user.get_username()


def create_user(*, username: str, email: str, display_name: str, password: str) -> User:
    """A new active user with a hashed password and a profile."""
    with atomic_for(User):
        user = User.objects.create_user(username=username, email=email, password=password)
        Profile.objects.create(user=user, display_name=display_name)
    return user


def upsert_user(
    *, username: str, email: str, display_name: str, password: str
) -> tuple[User, bool]:
    """Create the user, or update the email, display name and password of an existing one.
    Returns the user and whether it was created."""
    with atomic_for(User):
        user = User.objects.select_for_update().filter(username=username).first()
        if user is None:
            return create_user(
                username=username, email=email, display_name=display_name, password=password
            ), True
        user.email = email
        user.is_active = True
        user.set_password(password)
        user.save(update_fields=["email", "is_active", "password"])
        Profile.objects.update_or_create(user=user, defaults={"display_name": display_name})
    return user, False
