"""The accounts app: connects its receivers when ready."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Accounts."""

    name = "bd_monolith.accounts"
    label = "accounts"

    def ready(self) -> None:
        """Connect the receivers."""
        from bd_monolith.accounts import receivers  # noqa: F401
