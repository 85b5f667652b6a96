"""A URLconf whose views fail in every way an API can, for the problem details tests."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common_utils.drf import BoundedJSONParser


class LineSerializer(serializers.Serializer[Any]):
    sku = serializers.CharField(max_length=8)


class ItemSerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    quantity = serializers.IntegerField(min_value=1)
    lines = LineSerializer(many=True, required=False)


class UpstreamUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "the upstream service is unavailable; try again later"
    default_code = "upstream_unavailable"
    wait = 5


class Items(APIView):
    authentication_classes = ()
    permission_classes = ()
    # A view's parsers are read from the settings when APIView is first imported: named here.
    parser_classes = (BoundedJSONParser,)

    def post(self, request: Request) -> Response:
        serializer = ItemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data, status=201)


class Item(APIView):
    authentication_classes = ()
    permission_classes = ()

    def get(self, request: Request, pk: int) -> Response:
        if pk == 1:
            raise PermissionDenied("item 1 is private")
        raise Http404(f"no item {pk}")


class Upstream(APIView):
    authentication_classes = ()
    permission_classes = ()

    def get(self, request: Request) -> Response:
        raise UpstreamUnavailable()


def form(request: HttpRequest) -> HttpResponse:
    """A plain Django view that reads a form (Django's own size limit applies)."""
    return HttpResponse(str(len(request.POST)))


def crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


urlpatterns = [
    path("items/", Items.as_view()),
    path("items/<int:pk>/", Item.as_view()),
    path("upstream/", Upstream.as_view()),
    path("form/", form),
    path("crash/", crash),
]

handler400 = "common_utils.django.problem_bad_request"
handler403 = "common_utils.django.problem_permission_denied"
handler404 = "common_utils.django.problem_not_found"
handler500 = "common_utils.django.problem_server_error"
