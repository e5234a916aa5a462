"""The OpenAPI document is the contract: schemathesis generates requests from it (valid ones, and in its negative
mode ones breaking a constraint) against the live seeded app, in process, and fails on any 5xx, any status code the
document does not list, a response not matching its schema, a valid request refused or an invalid one accepted.
Bounded (MAX_EXAMPLES per operation and mode) and seeded (derandomize), so it stays quick and repeats exactly.

Each operation × mode is its own test, driven through `APIOperation.as_strategy` with Hypothesis' `given`
(schemathesis' own pytest fixture loader does not run on pytest 9).
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from web.openapi import openapi_document

MAX_EXAMPLES = 30
OPERATIONS = sorted(openapi_document("/api/v1")["paths"])


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("path", OPERATIONS)
def test_the_api_keeps_its_openapi_promise(api_schema, path, mode):
    operation = api_schema[path]["GET"]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        case.call_and_validate()

    check()
