"""Models from what drf-spectacular really emits for a DRF API, with and without split requests.

The document is made by drf-spectacular in a separate process (its Django settings stay out of
this one) from serializers that use what services use: read-only ids and timestamps, write-only
passwords, choice fields with blank and null (spectacular's ``RoleEnum | BlankEnum | NullEnum``),
decimals, UUIDs, nested serializers, JSON fields, page-number pagination.
"""

from __future__ import annotations

import datetime
import decimal
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pydantic
import pytest

from common_clients.codegen import ModelEmitter, Spec, parse_spec

SCHEMA_SCRIPT = """
import json
import sys

import django
from django.conf import settings

settings.configure(
    SECRET_KEY="schema-only",
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.contenttypes",
        "django.contrib.auth",
        "rest_framework",
        "drf_spectacular",
    ],
    REST_FRAMEWORK={
        "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
        "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
        "PAGE_SIZE": 2,
    },
    SPECTACULAR_SETTINGS={
        "TITLE": "Users",
        "VERSION": "1.0.0",
        "COMPONENT_SPLIT_REQUEST": sys.argv[1] == "split",
    },
)
django.setup()

from django.urls import include, path
from drf_spectacular.generators import SchemaGenerator
from rest_framework import mixins, serializers, viewsets
from rest_framework.routers import DefaultRouter


class ProfileSerializer(serializers.Serializer):
    bio = serializers.CharField(allow_blank=True, required=False)
    website = serializers.URLField(allow_null=True, required=False)


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(max_length=150, help_text="Unique login name.")
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True)
    status = serializers.ChoiceField(choices=[("active", "Active"), ("disabled", "Disabled")])
    role = serializers.ChoiceField(
        choices=["admin", "member"], allow_blank=True, allow_null=True, required=False
    )
    balance = serializers.DecimalField(max_digits=10, decimal_places=2)
    created = serializers.DateTimeField(read_only=True)
    birthday = serializers.DateField(allow_null=True, required=False)
    uid = serializers.UUIDField(read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    profile = ProfileSerializer(required=False)
    metadata = serializers.JSONField(required=False)
    score = serializers.FloatField(default=1.0)
    is_staff = serializers.BooleanField(default=False)


class UserViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = UserSerializer
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return []


router = DefaultRouter()
router.register("users", UserViewSet, basename="user")
urlpatterns = [path("api/", include(router.urls))]
print(json.dumps(SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)))
"""

USER = {
    "id": 7,
    "username": "ada",
    "email": "ada@example.com",
    "status": "active",
    "role": None,
    "balance": "12.50",
    "created": "2024-01-31T10:00:00Z",
    "uid": "12345678-1234-5678-1234-567812345678",
    "tags": ["x"],
    "profile": {"bio": "", "website": None},
    "metadata": {"anything": [1, 2]},
    "score": 1.0,
    "is_staff": False,
    "added_by_a_newer_service": True,
}


def _spectacular(mode: str, folder: Path) -> Spec:
    script = folder / "make_schema.py"
    script.write_text(SCHEMA_SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script), mode], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return parse_spec(result.stdout, source=f"spectacular-{mode}.json")


def _generate(spec: Spec, folder: Path, name: str) -> tuple[ModuleType, dict[str, str], Path]:
    """Models, and the annotation of every operation's body and responses (``op:part`` keys)."""
    emitter = ModelEmitter(spec)
    annotations: dict[str, str] = {}
    for operation in spec.operations():
        if operation.request_body is not None:
            media = operation.request_body.content[0]
            annotations[f"{operation.operation_id}:body"] = emitter.type_for(
                media.schema, name_hint=f"{operation.operation_id} body", direction="request"
            )
        for response in operation.responses:
            for media in response.content:
                annotations[f"{operation.operation_id}:{response.status}"] = emitter.type_for(
                    media.schema,
                    name_hint=f"{operation.operation_id} response",
                    direction="response",
                )
    path = folder / f"{name}.py"
    path.write_text(emitter.render())
    module_spec = importlib.util.spec_from_file_location(name, path)
    assert module_spec is not None
    assert module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module, annotations, path


@pytest.fixture(scope="module", params=["split", "plain"])
def generated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, ModuleType, dict[str, str], Path]:
    mode: str = request.param
    folder = tmp_path_factory.mktemp(f"spectacular_{mode}")
    module, annotations, path = _generate(
        _spectacular(mode, folder), folder, f"spectacular_models_{mode}"
    )
    return mode, module, annotations, path


def test_operations_use_the_models_a_person_would_expect(
    generated: tuple[str, ModuleType, dict[str, str], Path],
) -> None:
    mode, _, annotations, _ = generated
    assert annotations["api_users_list:200"] == "PaginatedUserList"
    assert annotations["api_users_retrieve:200"] == "User"
    assert annotations["api_users_create:201"] == "User"
    assert annotations["api_users_create:body"] == "UserRequest"
    # Split or not, the names come out the same: spectacular's own ``UserRequest`` in one mode,
    # the request form of ``User`` (read-only fields left out) in the other.
    assert annotations["api_users_partial_update:body"] == "PatchedUserRequest"
    assert mode in ("split", "plain")


def test_responses_parse_with_read_only_fields_and_unknown_ones(
    generated: tuple[str, ModuleType, dict[str, str], Path],
) -> None:
    _, module, _, _ = generated
    page = module.PaginatedUserList.model_validate(
        {"count": 3, "next": "http://x/api/users/?page=2", "previous": None, "results": [USER]}
    )
    user = page.results[0]
    assert user.id == 7
    assert user.created == datetime.datetime(2024, 1, 31, 10, tzinfo=datetime.UTC)
    assert user.balance == decimal.Decimal("12.50")
    assert user.role is None
    assert user.profile.website is None
    assert user.metadata == {"anything": [1, 2]}
    assert "password" not in module.User.model_fields
    for role in ("admin", ""):
        assert module.User.model_validate({**USER, "role": role}).role == role
    # A role the service added after the client was generated is kept, typed as unknown.
    owner = module.User.model_validate({**USER, "role": "owner"}).role
    assert (type(owner).__name__, owner) == ("UnknownStr", "owner")
    # Requests stay strict: the patch form is reached by requests only, in both modes.
    with pytest.raises(pydantic.ValidationError, match="role"):
        module.PatchedUserRequest(role="owner")


def test_request_forms_leave_out_read_only_fields(
    generated: tuple[str, ModuleType, dict[str, str], Path],
) -> None:
    _, module, _, _ = generated
    fields = set(module.UserRequest.model_fields)
    assert "password" in fields
    assert not {"id", "created", "uid"} & fields
    body = module.UserRequest(
        username="ada",
        email="ada@example.com",
        password="s3cret-for-tests",
        status="active",
        balance=decimal.Decimal("1.10"),
    )
    sent: dict[str, Any] = body.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert sent == {
        "username": "ada",
        "email": "ada@example.com",
        "password": "s3cret-for-tests",
        "status": "active",
        "balance": "1.10",
    }
    patch = module.PatchedUserRequest(role="")
    assert patch.model_dump(mode="json", by_alias=True, exclude_unset=True) == {"role": ""}
    assert json.dumps(sent)


def test_spectacular_output_passes_mypy_strict(
    generated: tuple[str, ModuleType, dict[str, str], Path],
) -> None:
    _, _, _, path = generated
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
