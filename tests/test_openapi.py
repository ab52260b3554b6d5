"""schemathesis against the OpenAPI document, in-process over WSGI (bounded example count):
no 5xx, and every answer matches the document."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from vidpipe.api.app import make_app
from vidpipe.api.jobs import JobManager

pytestmark = pytest.mark.slow  # schemathesis against the whole API

EXAMPLES_PER_OPERATION = 25


def test_api_conforms_to_its_openapi_document(projects):
    projects.mkdir()
    jobs = JobManager(projects, max_builds=0)  # requests only: queued builds never start
    try:
        schema = schemathesis.openapi.from_wsgi("/api/openapi.json", make_app(projects, jobs))
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 18  # every route but the document itself
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case) -> None:
                # Schema-valid is not always acceptable: cross-field rules (a crossfade longer
                # than half a clip), known provider names and JSON integers written as 53.0
                # are answered 422 by design. Every other check runs: no 5xx, and status
                # codes, content types, headers and bodies as documented.
                case.call_and_validate(excluded_checks=[positive_data_acceptance])

            check()
    finally:
        jobs.shutdown()
