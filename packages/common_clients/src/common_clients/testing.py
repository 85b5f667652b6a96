"""Testing code that calls a service, against the service's OpenAPI document.

``DocumentTransport("specs/users.yaml")`` is an httpx transport, sync and async, for any client
(``UsersClient(base_url="http://users.test", transport=transport)``): it answers each operation
from the document (its examples, else values built from its schemas), answers what a test sets
with :meth:`DocumentTransport.answer`, and raises :class:`RequestMismatch` (an
``AssertionError``) for a request the document does not allow. Needs the ``testing`` extra
(``pip install 'common-clients[testing]'``).
"""

from common_clients._testing import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    Answer,
    DocumentError,
    DocumentTransport,
    RecordedCall,
    RequestMismatch,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "Answer",
    "DocumentError",
    "DocumentTransport",
    "RecordedCall",
    "RequestMismatch",
]
