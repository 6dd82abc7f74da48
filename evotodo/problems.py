"""RFC 9457 problem details, for the clients that ask for them with `Accept: application/problem+json`.

Every API error is first made in the API's own shape, `{"detail", "code", "errors"?}` (evotodo.exceptions, the
middleware, the handlers); `ProblemDetailsMiddleware` (evotodo.middleware) rewrites it on the way out, so one
place covers DRF's errors, Django's handlers and the middleware's own answers alike. A response that is not an
error, or a request that did not ask, is handed on untouched: clients of the plain shape see no change.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from django.http import HttpResponse
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

PROBLEM_JSON = "application/problem+json"
# A problem type is a URI reference per `code`, resolved against the API's own URL (RFC 9457 §3.1.1 allows a
# relative one, with its full path): it names the deployment that answered, and no domain it may not own.
PROBLEM_TYPE_PREFIX = "/problems/"
# Titles where the code, spelled out, would read badly; the others are the code in words ("Token expired").
TITLES = {
    "invalid": "Invalid input",
    "throttled": "Too many requests",
    "csrf_failed": "CSRF check failed",
}


# A weight as RFC 9110 (12.4.2) writes one: 0 to 1, three decimals at most. Anything else (`0e0`, `-0`, `NaN`,
# `0.0001`, `2`) is unreadable and counts as none given.
QVALUE = re.compile(r"0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?")


def range_weight(item: str) -> tuple[str, float]:
    """One element of `Accept` (`application/json; q=0.5`): its media range, lower case, and its weight; an
    unreadable weight (not a QVALUE: `; Q = 0.000` is one) counts as none given (1)."""
    media_range, *parameters = (part.strip() for part in item.split(";"))
    given = [p.split("=", 1)[1].strip() for p in parameters if p.replace(" ", "").lower().startswith("q=")]
    return media_range.lower(), float(given[0]) if given and QVALUE.fullmatch(given[0]) else 1.0


def accept_weights(accept: str) -> dict[str, float]:
    """Each media range `Accept` lists (parameters other than the weight left out) and its weight; the first
    mention of a range counts."""
    weights: dict[str, float] = {}
    for item in accept.split(","):
        media_range, weight = range_weight(item)
        if media_range:
            weights.setdefault(media_range, weight)
    return weights


def weight_of(media_type: str, weights: dict[str, float]) -> float | None:
    """The weight `Accept` gives `media_type`: its most specific matching range's (RFC 9110 12.5.1: the type
    itself, else its `type/*`, else `*/*`), or None when no range names it."""
    kind = media_type.split("/", 1)[0]
    return next(
        (weights[name] for name in (media_type.lower(), f"{kind}/*", "*/*") if name in weights),
        None,
    )


def asks_for_problems(accept: str) -> bool:
    """`Accept` lists application/problem+json with a weight above 0 and not below the weight it gives plain
    JSON (`application/json`, else `application/*`, else `*/*`; none of them: 0): a client that prefers JSON
    (`application/problem+json;q=0.1, application/json`) gets its errors as JSON."""
    if PROBLEM_JSON not in accept.lower():
        return False
    weights = accept_weights(accept)
    problems = weights.get(PROBLEM_JSON, 0.0)
    return problems > 0 and problems >= (weight_of("application/json", weights) or 0.0)


def problem_type(code: str) -> str:
    return f"{PROBLEM_TYPE_PREFIX}{code}"


def problem_title(code: str) -> str:
    return TITLES.get(code) or code.replace("_", " ").capitalize()


def problem_details(body: dict[str, Any], status: int) -> dict[str, Any]:
    """The API's error body as an RFC 9457 problem: `type`, `title`, `status`, `detail`, with `code` and the
    body's other members (`errors`, a batch's `index`) kept as extension members."""
    code = str(body["code"])
    return {
        "type": problem_type(code),
        "title": problem_title(code),
        "status": status,
        "detail": body["detail"],
        "code": code,
        **{name: value for name, value in body.items() if name not in ("detail", "code")},
    }


def as_problem(response: HttpResponse) -> HttpResponse:
    """`response` (an error in the API's JSON shape) rewritten as application/problem+json; any other response
    as it is."""
    if response.streaming or response.get("Content-Type", "").split(";")[0].strip() != "application/json":
        return response
    body = getattr(response, "data", None)
    if not isinstance(body, dict):
        try:
            body = json.loads(response.content)
        except ValueError:
            return response
    if not isinstance(body, dict) or "code" not in body or "detail" not in body:
        return response
    response.content = json.dumps(
        problem_details(body, response.status_code), ensure_ascii=False, separators=(",", ":")
    ).encode()
    response["Content-Type"] = PROBLEM_JSON
    if response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))
    return response


class ProblemAwareContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, where a client that accepts application/problem+json (for its errors) also accepts the
    JSON of the answers that are not errors, instead of a 406 for every request it makes."""

    # What DRF chose for an Accept header and a set of renderers: the same every time, and worked out again on
    # every request (a twentieth of a task retrieve's Python). Bounded: headers past the limits are not kept.
    _chosen: ClassVar[dict[tuple[str | None, tuple[type, ...]], tuple[int, str]]] = {}
    CHOSEN_LIMIT = 256
    CHOSEN_HEADER_LIMIT = 512

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        if format_suffix or self.settings.URL_FORMAT_OVERRIDE in request.query_params:
            return super().select_renderer(request, renderers, format_suffix)
        header = request.META.get("HTTP_ACCEPT")
        key = (header, tuple(type(renderer) for renderer in renderers))
        chosen = self._chosen.get(key)
        if chosen is not None:
            index, media_type = chosen
            return renderers[index], media_type
        # A type whose most specific range in Accept has weight 0 is refused, even where a wildcard admits
        # others (`application/json;q=0, */*`): nothing else is served in its place.
        weights = accept_weights(header or "")
        admitted = [renderer for renderer in renderers if weight_of(renderer.media_type, weights) != 0]
        if not admitted:
            raise NotAcceptable(available_renderers=renderers)
        renderer, media_type = super().select_renderer(request, admitted, format_suffix)  # NotAcceptable: not kept
        if len(self._chosen) < self.CHOSEN_LIMIT and len(header or "") <= self.CHOSEN_HEADER_LIMIT:
            self._chosen[key] = (renderers.index(renderer), media_type)
        return renderer, media_type

    def get_accept_list(self, request: Request) -> list[str]:
        # DRF's split, written out so that the header is read once, without the empty elements of a list
        # (`Accept: ,` or `application/json,`), which RFC 9110 (5.6.1) says to ignore: an Accept header with
        # nothing in it is one that restricts nothing, as no header (DRF answered a 406).
        # A media range of weight 0 is one the client refuses (RFC 9110 12.4.2), which DRF's negotiation would
        # still serve: left out, so that `Accept: application/json;q=0` alone is a 406.
        header = request.META.get("HTTP_ACCEPT", "")
        given = [token for token in (element.strip() for element in header.split(",")) if token]
        accepts = [token for token in given if range_weight(token)[1] != 0] if given else ["*/*"]
        if asks_for_problems(header):
            accepts.append("application/json")
        return accepts
