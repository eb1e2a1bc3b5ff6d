"""Every page and API endpoint, walked with every role, against the permission table (issue 2 item 7).

The URL conf and the API's operations are enumerated, so a new endpoint cannot be left out: one without
`@requires(...)` fails `test_every_endpoint_declares_a_permission`. REGULATORY items 23-24 (0 unauthorised).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from cellchain.accounts.roles import Role
from cellchain.core.permissions import PUBLIC, SIGNED_IN, roles_for
from cellchain.core.tests.endpoints import Endpoint, endpoints

PERSONA_OF_ROLE = {
    Role.QA: "qa_li",
    Role.QC_ANALYST: "qc_zhang",
    Role.PRODUCTION_OPERATOR: "operator_chen",
    Role.LOGISTICS: "logistics_zhao",
    Role.PHYSICIAN: "physician_wang",
    Role.NURSE: "nurse_wang",
    Role.PHARMACIST: "pharmacist_liu",
    Role.APHERESIS_OPERATOR: "apheresis_sun",
    Role.COORDINATOR: "coordinator_zhou",
    Role.SITE_ADMIN: "admin_shenghe",
    Role.AUDITOR: "auditor_xiehe",
}
ALL = endpoints()


def _request(client: Client, endpoint: Endpoint) -> Any:
    method = endpoint.methods[0]
    if method == "GET":
        return client.get(endpoint.path)
    call = getattr(client, method.lower())
    return call(endpoint.path, data=json.dumps({}), content_type="application/json")


def test_every_endpoint_declares_a_permission() -> None:
    undeclared = [e.name for e in ALL if e.permission is None]
    assert not undeclared, f"endpoints without @requires(...): {undeclared}"


def test_every_declared_permission_is_in_the_table() -> None:
    for endpoint in ALL:
        if endpoint.permission not in (PUBLIC, SIGNED_IN):
            roles_for(endpoint.permission)  # raises for a permission no context grants


def test_role_matrix_covers_every_role() -> None:
    assert set(PERSONA_OF_ROLE) == set(Role)


@pytest.mark.django_db
def test_signed_out_visitor_reaches_only_public_endpoints(world: Any) -> None:
    client = Client()
    for endpoint in ALL:
        if endpoint.permission == PUBLIC:
            continue
        response = _request(client, endpoint)
        expected = (401,) if endpoint.is_api else (302,)
        assert response.status_code in expected, (
            f"{endpoint.name} {endpoint.path} gave {response.status_code}"
        )
        if not endpoint.is_api:
            assert "/accounts/login/" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(PERSONA_OF_ROLE), ids=str)
def test_role_gets_exactly_its_grants(role: str, client_for: Any) -> None:
    client = client_for(PERSONA_OF_ROLE[role])
    for endpoint in ALL:
        if endpoint.permission in (PUBLIC,):
            continue
        allowed = endpoint.permission == SIGNED_IN or role in roles_for(endpoint.permission)
        response = _request(client, endpoint)
        where = f"{role} -> {endpoint.name} {endpoint.path}"
        if allowed:
            assert response.status_code not in (401, 403), f"{where}: refused ({response.status_code})"
            assert response.status_code < 500, f"{where}: server error"
        else:
            assert response.status_code == 403, f"{where}: expected 403, got {response.status_code}"
