"""Django integration of common_auth (extra ``django``): add ``"common_auth.django"`` to
INSTALLED_APPS and `TokenAuthenticationMiddleware` to MIDDLEWARE, configure ``COMMON_AUTH``.

- `TokenAuthenticationMiddleware` sets ``request.user`` (a `TokenUser`) and ``request.auth``;
- `require_scopes` guards function views;
- for the auth service: `jwks_view` publishes its keys, `token_view` is its OAuth2 token
  endpoint (client credentials grant, clients in ``COMMON_AUTH['CLIENTS']``);
- `CommonAuthSettings` documents every ``COMMON_AUTH`` key; the system checks validate it;
- `get_verifier` and `get_signing_keys` give the objects built from the settings.
"""

from common_auth.django._authentication import aauthenticate, authenticate, bearer_token
from common_auth.django._middleware import TokenAuthenticationMiddleware
from common_auth.django._settings import (
    ClientSettings,
    CommonAuthSettings,
    get_signing_keys,
    get_verifier,
)
from common_auth.django._token_endpoint import token_view
from common_auth.django._user import TokenUser
from common_auth.django._views import jwks_view, require_scopes

__all__ = [
    "ClientSettings",
    "CommonAuthSettings",
    "TokenAuthenticationMiddleware",
    "TokenUser",
    "aauthenticate",
    "authenticate",
    "bearer_token",
    "get_signing_keys",
    "get_verifier",
    "jwks_view",
    "require_scopes",
    "token_view",
]
