"""The API's representations: a user as other services see it, and what creating one takes."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from users.accounts import create_user, display_name_of


class UserSerializer(serializers.ModelSerializer[User]):
    """A user: what the other services look up (``users_retrieve``)."""

    display_name = serializers.SerializerMethodField(
        help_text="The name shown to people: the profile's, else the full name, else the username."
    )

    class Meta:
        model = User
        fields = ("id", "username", "email", "display_name", "is_active", "date_joined")
        read_only_fields = fields

    def get_display_name(self, user: User) -> str:
        return display_name_of(user)


class UserCreateSerializer(serializers.Serializer[User]):
    """A new user; the password is checked against the password validators and stored hashed."""

    username = serializers.CharField(
        max_length=150,
        validators=[
            UnicodeUsernameValidator(),
            UniqueValidator(queryset=User.objects.all(), message="this username is taken"),
        ],
        help_text="Letters, digits and @/./+/-/_ only.",
    )
    email = serializers.EmailField(max_length=254)
    display_name = serializers.CharField(
        max_length=150, required=False, allow_blank=True, default=""
    )
    password = serializers.CharField(
        write_only=True, min_length=1, max_length=128, trim_whitespace=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        candidate = User(username=attrs["username"], email=attrs["email"])
        try:
            password_validation.validate_password(attrs["password"], candidate)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from None
        return attrs

    def create(self, validated_data: dict[str, Any]) -> User:
        return create_user(
            username=validated_data["username"],
            email=validated_data["email"],
            display_name=validated_data["display_name"],
            password=validated_data["password"],
        )


class TokenSerializer(serializers.Serializer[Any]):
    """An OAuth2 token request (RFC 6749 §4.3 password, §4.4 client credentials)."""

    grant_type = serializers.ChoiceField(choices=["password", "client_credentials"])
    username = serializers.CharField(required=False, help_text="password grant")
    password = serializers.CharField(required=False, help_text="password grant")
    scope = serializers.CharField(required=False, help_text="space-separated scopes")
    audience = serializers.CharField(
        required=False, help_text="space-separated audiences (client credentials: one)"
    )
    client_id = serializers.CharField(
        required=False, help_text="client credentials, unless sent with HTTP Basic"
    )
    client_secret = serializers.CharField(
        required=False, help_text="client credentials, unless sent with HTTP Basic"
    )


class AccessTokenSerializer(serializers.Serializer[Any]):
    """An access token (RFC 6749 §5.1)."""

    access_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_in = serializers.IntegerField()
    scope = serializers.CharField()


class OAuthErrorSerializer(serializers.Serializer[Any]):
    """A refused token request (RFC 6749 §5.2)."""

    error = serializers.CharField()
    error_description = serializers.CharField(required=False)
