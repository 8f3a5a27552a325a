"""Fuzzing the running sync service with hypothesis: whatever a desk (or anyone) sends, the
answer is a 2xx or a 4xx with a reason, never a 500 (the ``svc`` fixture also checks that
the unexpected-error handler was never reached). SQLite only: this is about the HTTP and
validation layers, which do not depend on the database."""

from __future__ import annotations

import copy
import json
import uuid as uuidlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sync_service_stack import ApiClient, SvcPki, draft_body

from bts_desk.sync import wire

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SQLITE_ONLY = pytest.mark.parametrize("svc_db_url", ["sqlite"], indirect=True)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside nested dicts/lists."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


def replace(body: Any, path: tuple[Any, ...], new: Any) -> Any:
    body = copy.deepcopy(body)
    holder = body
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = new
    return body


@pytest.fixture
def token(api: ApiClient, svc_pki: SvcPki) -> str:
    """One login for all examples of a test (hypothesis reuses function-scoped fixtures)."""
    return api.login(svc_pki.officer_a)


@pytest.fixture
def base(svc_pki: SvcPki) -> dict[str, Any]:
    return draft_body(10, svc_pki.officer_a)[1]


def assert_handled(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        detail = wire.decode_error(response.json())
        assert detail is not None and detail.message, response.text


@SQLITE_ONLY
@FUZZ
@given(body=json_values)
def test_any_json_is_answered_with_a_reason(api: ApiClient, token: str, body: Any) -> None:
    response = api.put(token, str(uuidlib.uuid4()), json.dumps(body).encode())
    assert 400 <= response.status_code < 500
    assert_handled(response)
    assert_handled(api.batch(token, [(str(uuidlib.uuid4()), body)]))


@SQLITE_ONLY
@FUZZ
@given(data=st.data())
def test_a_valid_body_with_one_field_replaced(
    api: ApiClient, token: str, base: dict[str, Any], data: st.DataObject
) -> None:
    path = data.draw(st.sampled_from(paths(base)))
    body = replace(base, path, data.draw(json_values))
    assert_handled(api.put(token, str(uuidlib.uuid4()), body))


@SQLITE_ONLY
@FUZZ
@given(raw=st.binary(max_size=300), uuid=st.text(max_size=40))
def test_raw_bytes_and_odd_uuids(api: ApiClient, token: str, raw: bytes, uuid: str) -> None:
    safe_uuid = uuid.replace("/", "_").replace("?", "_").replace("#", "_") or "x"
    assert_handled(api.put(token, safe_uuid, raw))
    session = api.http.post(api.url + wire.PATH_SESSION, data=raw, timeout=10)
    assert_handled(session)
