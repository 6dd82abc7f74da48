"""The API's only request parser: JSON, bounded in size and nesting, every failure a clean 4xx."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


class ContentEncodingUnsupported(APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_detail = "Send the body without a Content-Encoding: gzip and the others are not read here."
    default_code = "unsupported_content_encoding"


# Digits an integer of a body may have: more is past every field's range (Python itself refuses 4 300 and more,
# with a message about its own settings).
MAX_INTEGER_DIGITS = 64


def too_large_message(limit: int) -> str:
    return f"The request body is larger than the limit of {limit} bytes."


# A `\ud800`-style escape decodes to a lone surrogate, which no UTF-8 text can hold: refused on the way in,
# it can reach no field, no error message that echoes it, and no response that would fail to encode it.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _inspect(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion; a ParseError for a lone surrogate in any key or string."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            if any(LONE_SURROGATE.search(key) for key in item):
                raise ParseError("A member name holds a lone surrogate (an unpaired \\ud800-\\udfff escape).")
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str) and LONE_SURROGATE.search(item):
            raise ParseError("A string holds a lone surrogate (an unpaired \\ud800-\\udfff escape).")
    return deepest


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object that names a member twice is ambiguous (which one counts?): refused, not last-one-wins."""
    data = dict(pairs)
    if len(data) != len(pairs):
        twice = next(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
        raise ValueError(f"the member {twice!r} appears twice")
    return data


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser reads any size and lets a RecursionError escape as a 500; this one answers
    413 past `settings.API_MAX_BODY_BYTES` and 400 for invalid UTF-8, bad JSON, a member named twice, a lone
    surrogate or nesting past 32 levels."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        limit = settings.API_MAX_BODY_BYTES
        request = (parser_context or {}).get("request")
        encoding = request.META.get("HTTP_CONTENT_ENCODING", "") if request is not None else ""
        if encoding.strip().lower() not in ("", "identity"):
            raise ContentEncodingUnsupported()  # a compressed body read as if it were JSON would be nonsense
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(too_large_message(limit))
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(too_large_message(limit))
        if declared and declared.isdigit() and len(body) < int(declared):
            # The client stopped sending (or gave up) before the end it announced: whatever arrived is not
            # the request it meant, even when it happens to be valid JSON.
            raise ParseError(f"The body ended after {len(body)} of the {declared} bytes its Content-Length declares.")
        if body.startswith(b"\xef\xbb\xbf"):  # Python's own message would point at its decoder
            raise ParseError("The body starts with a byte order mark (BOM): send the JSON without it.")
        try:
            data = json.loads(
                body.decode("utf-8"),
                parse_constant=_reject_constant,
                parse_float=_finite_float,
                parse_int=_bounded_int,
                object_pairs_hook=_unique_members,
            )
        except UnicodeDecodeError as e:
            raise ParseError("The request body is not valid UTF-8.") from e
        except RecursionError as e:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.") from e
        except ValueError as e:
            raise ParseError(f"JSON parse error: {e}") from e
        if _inspect(data) > MAX_DEPTH:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
        return data


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _bounded_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_INTEGER_DIGITS:
        raise ValueError(f"an integer of {digits} digits is past the range of every field")
    return int(text)


def _finite_float(text: str) -> float:
    """A number with a fraction or an exponent, refused past a double's range: Python would read `1e400` as
    infinity, the value NaN and Infinity stand for, which no field takes and no answer could write back."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is past the range of a number")
    return value
