"""The users app's configuration: registers the system checks and the OpenAPI extension."""

from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported for their side effects: the system check and the bearer security scheme.
        from users import checks  # noqa: F401
