"""The reference server against its own OpenAPI document, with schemathesis: for every operation,
generated requests (valid and invalid) never give a server error, and every answer has the shape the
document promises (errors included: they are all ErrorResponse).

Deterministic (a fixed seed, derandomized, no example database) and small (MAX_EXAMPLES per
operation), so a failure replays the same way and the run stays well under a minute. The app runs
in process (ASGI) on a database of its own: what the generated requests pay or order touches no other
test's server.
"""

from __future__ import annotations


import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from central.app import create_app
from central.embedded import prepare_database
from central.seed import DEMO_KIOSK_TOKEN
from support.scratch import scratch_dir

MAX_EXAMPLES = 25
SEED = 20250513
AUTHORIZATION = {"Authorization": f"Bearer {DEMO_KIOSK_TOKEN}"}


WORKDIR = scratch_dir("central-schemathesis-")
# Hypothesis keeps caches in ./.hypothesis by default: not in the working tree.
set_hypothesis_home_dir(str(WORKDIR / "hypothesis"))


def _app():
    # Schemathesis reads the document when the module is collected, so the app is made here, once.
    db_path = WORKDIR / "central.sqlite"
    prepare_database(db_path, seed_articles=20)
    return create_app(db_path)


schema = schemathesis.openapi.from_asgi("/openapi.json", _app(), config=schemathesis.Config.from_dict({
    "seed": SEED,
    "headers": AUTHORIZATION,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
}))


# Each operation its own test, with its own id ("GET /v1/carts/{cart_id}"): schemathesis's own
# `schema.parametrize()` gives every operation's test the same id, and pytest-xdist (scripts/test.sh)
# then runs one of the 31 and drops the rest without a word.
OPERATIONS = {operation.label: operation for operation in (result.ok() for result in schema.get_all_operations())}


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_every_operation_answers_as_documented_and_never_fails(label):
    operation = OPERATIONS[label]
    # Valid and invalid requests, as the "all" generation mode of `schema.parametrize()` makes them.
    cases = st.one_of([operation.as_strategy(generation_mode=mode) for mode in GenerationMode])

    @given(case=cases)
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    def answers_as_documented(case):
        case.call_and_validate(headers=AUTHORIZATION, checks=[not_a_server_error, response_schema_conformance])

    answers_as_documented()
