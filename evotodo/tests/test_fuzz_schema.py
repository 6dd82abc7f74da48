"""Schemathesis against the live OpenAPI schema, with a real token: no 5xx, every response as documented, for single
requests and for sequences that follow the schema's links (create, then change, complete, read, delete that task)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from evotodo.openapi import MY_TASKS_LINKS, TASK_CREATES, TASK_LINKS
from evotodo.wsgi import application

SEED = 20261123
# Answers that a schema-valid request (sent with a valid token, one request at a time) may rightly get; anything
# else fails `positive_data_acceptance`:
# - 2xx, and 3xx for the 304 of an If-None-Match that matches;
# - 400 for the rules the schema does not state: across fields (remind_at not after due_at, recurrence needs a
#   due_at, no sort with updated_since), and, while the schema still allows them, unknown body fields
#   (`unknown_field`) and offsets the server refuses;
# - 403 for a generated `{user_id}` that is not the caller's, 404 for a generated `{id}` or a deleted task;
# - 410 for an `updated_since` older than the tombstone window;
# - 412 for a generated If-Match, 422 for a generated Idempotency-Key already used with another body.
# Not 401 (the token is valid), 409 (only concurrent writes cause it) or 429 (rate limits are off in tests).
SETTINGS: dict[str, Any] = {
    "seed": SEED,
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ["2xx", "3xx", "400", "403", "404", "410", "412", "422"]}
    },
}
CONFIG = SchemathesisConfig.from_dict(SETTINGS)
# Loading the schema reads no database; each generated request then runs in the test's transaction.
schema = schemathesis.openapi.from_wsgi("/api/schema", application, config=CONFIG)

# The checks that judge the stateful run, named (and switched on, as they are by default) so that a Schemathesis
# upgrade cannot quietly drop one: no 5xx; status code, content type, headers and body as documented; a
# schema-valid request is not refused (beyond the statuses above); a request accepted with the token is refused
# without it and with a wrong one (ignored_auth); across a sequence, a deleted task stays 404 (use_after_free) and
# a created one is found (ensure_resource_availability). The other built-ins stay on too, with nothing to judge
# in this phase: negative_data_rejection (no invalid input is sent), missing_required_header, unsupported_method
# and allow_header_conformance (coverage-phase requests), object_level_authorization (needs a second identity).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
)
# About 30 s on two cores; each scenario is up to this many calls, plus the ignored_auth probes.
SCENARIOS = 300
STEPS_PER_SCENARIO = 10


@pytest.fixture(autouse=True)
def keep_the_test_connection() -> Any:
    """Requests go straight to the WSGI app; like Django's test client, keep each request from closing the
    connection that holds the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: Any, alice: Any, token_for: Any) -> None:
    # Not negative_data_rejection here: this test replaces the generated Authorization header with a valid
    # token, and a generated invalid query value can serialize to nothing (Schemathesis' own false positives,
    # schemathesis#4600), so a "negative" case often reaches the server as a valid request. Refusal of invalid
    # input is held by tasks/tests/test_properties.py, test_strict_input.py and test_edge_values.py instead.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token_for(alice)}"},
        excluded_checks=[schemathesis.checks.negative_data_rejection],
    )


def stateful_schema(token: str) -> Any:
    """The schema again, for the stateful phase, calling with `token` and the same checks (all of CHECKS, and the
    same accepted statuses). It follows only the links the schema publishes (no inference: what runs is what
    clients are told), which take the path-style `{user_id}` from /api/me and from the task's `user_id`, as a
    client would. Requests are schema-valid only: invalid input per operation is the single-request test's job,
    and a refused step ends a sequence early. The token is the configured credential of the security scheme, so
    `ignored_auth` knows it is real and also sends each accepted request without it and with a wrong one."""
    config = SchemathesisConfig.from_dict(
        {
            **SETTINGS,
            "auth": {"openapi": {"BetterAuthJWT": {"bearer": token}}},
            "checks": {name: {"enabled": True, **SETTINGS["checks"].get(name, {})} for name in CHECKS},
            "phases": {"stateful": {"generation": {"mode": "positive"}, "inference": {"algorithms": []}}},
        }
    )
    return schemathesis.openapi.from_wsgi("/api/schema", application, config=config)


def test_the_schema_links_task_creates_to_the_new_task_and_me_to_the_path_style_create(db: Any) -> None:
    operations = {
        operation["operationId"]: operation
        for item in schema.raw_schema["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    on_the_task = {
        **{
            name: {"operationId": target, "parameters": {"id": "$response.body#/id"}}
            for name, target in TASK_LINKS.items()
        },
        **{
            f"PathStyle{name}": {
                "operationId": f"user_{target}",
                "parameters": {"user_id": "$response.body#/user_id", "id": "$response.body#/id"},
            }
            for name, target in TASK_LINKS.items()
        },
    }
    for create in TASK_CREATES:
        assert operations[create]["responses"]["201"]["links"] == on_the_task
    assert operations["me_retrieve"]["responses"]["200"]["links"] == {
        "CreateMyTask": {"operationId": "user_tasks_create", "parameters": {"user_id": "$response.body#/id"}}
    }
    assert {link["operationId"] for link in on_the_task.values()} <= set(operations)


@pytest.mark.django_db
def test_sequences_along_the_links_conform_to_the_schema(alice: Any, token_for: Any) -> None:
    """Alice creates tasks (through both route families), then PUTs, PATCHes, completes, reads and deletes them in
    the orders Hypothesis picks: every answer passes CHECKS, a path-style call only succeeds under her own id, and
    every linked operation did succeed on a live task at least once (so the run cannot pass by reaching nothing)."""
    reached: Counter[tuple[str, int]] = Counter()
    scenario: list[str] = []

    class AliceWorkflow(stateful_schema(token_for(alice)).as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            scenario.clear()

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            operation = case.operation.definition.raw["operationId"]
            reached[operation, response.status_code] += 1
            sent = response.request.body or b""
            body = sent.decode(errors="replace") if isinstance(sent, bytes) else str(sent)
            scenario.append(
                f"{case.method} {case.formatted_path}{' ' if body else ''}{body[:500]} -> {response.status_code}"
            )
            if operation.startswith("user_") and response.status_code < 300:
                assert case.path_parameters["user_id"] == alice.better_auth_id, scenario[-1]

    hypothesis.seed(SEED)(AliceWorkflow)
    try:
        AliceWorkflow.run(
            settings=settings(
                AliceWorkflow.TestCase.settings,
                max_examples=SCENARIOS,
                stateful_step_count=STEPS_PER_SCENARIO,
                derandomize=True,
                database=None,
            )
        )
    except (Exception, BaseExceptionGroup) as failure:  # Schemathesis reports its check failures as a group
        # Schemathesis shows only the last request; the steps before it are what make a stateful failure readable.
        raise AssertionError("The failing sequence:\n  " + "\n  ".join(scenario)) from failure

    linked = {f"{prefix}{target}" for target in TASK_LINKS.values() for prefix in ("", "user_")}
    linked |= set(MY_TASKS_LINKS.values())
    succeeded = {operation for operation, status in reached if 200 <= status < 300}
    assert linked <= succeeded, f"never succeeded: {sorted(linked - succeeded)}; answers: {sorted(reached.items())}"
