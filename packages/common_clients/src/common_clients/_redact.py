"""URLs as the runtime shows them in messages, reprs and logs: no credentials, no query values.

A request URL can carry secrets in two places: the userinfo of a base URL
(``https://user:password@host``) and the query string (``?access_token=...``, ``?api_key=...``,
a signed URL's ``signature``). :func:`redact_url` drops the userinfo (the user name alone can be a
token) and the fragment, and replaces *every* non-empty query value with ``***`` while keeping the
parameter names and their order: ``https://host/items/?page=***&access_token=***``.

Every value, rather than a list of sensitive names: a list (OpenTelemetry's ``sig``,
``Signature``, ``AWSAccessKeyId``, ``X-Goog-Signature``) misses each service's own names
(``access_token``, ``key``, ``code``, ``session``), and the values of ordinary filters are often
personal data (an email, a name searched for) that has no place in a log either. The names stay:
they tell a reader which call was made without saying with what. httpx itself offers no such
rule (``URL.__repr__`` masks only the password, ``str()`` shows everything), and its own
``httpx`` logger writes the full URL at INFO level.

The :class:`httpx.Request` and :class:`httpx.Response` on an error stay as they were sent, for
code that needs the real URL.
"""

from __future__ import annotations

import re

import httpx

__all__ = ["REDACTED", "redact_url", "redact_urls_in"]

REDACTED = "***"
"""What a query value (or an unreadable URL) is shown as."""

# A URL with an authority inside free text (an exception message): up to whitespace or a quote.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")


def _redact_query(query: str) -> str:
    parts = []
    for part in query.split("&"):
        name, equals, value = part.partition("=")
        parts.append(f"{name}={REDACTED}" if equals and value else part)
    return "&".join(parts)


def redact_url(url: httpx.URL | str) -> str:
    """``url`` without userinfo and fragment, each query value replaced by ``***``."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return REDACTED
    path, question, query = parsed.raw_path.decode("ascii").partition("?")
    shown = path + (f"?{_redact_query(query)}" if question else "")
    if parsed.host:
        return f"{parsed.scheme}://{parsed.netloc.decode('ascii')}{shown}"
    # No authority: a relative reference is shown as its path; anything else with a scheme
    # (``user:password@host`` parses as scheme "user") may hide a credential in its "path".
    return f"{parsed.scheme}:{REDACTED}" if parsed.scheme else shown


def redact_urls_in(text: str) -> str:
    """``text`` (an exception's message, say) with every ``scheme://`` URL in it redacted."""
    return _URL_IN_TEXT.sub(lambda match: redact_url(match.group()), text)
