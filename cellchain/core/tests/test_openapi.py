"""The OpenAPI document names every schema class once, so no operation is documented with another's body (issue 15 item 3)."""

from __future__ import annotations

import enum
import json
import typing
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from cellchain.core.tests.openapi_responses import OpenAPIMismatch, validate_response


def _types_in(annotation: Any) -> Iterator[type]:
    """Yield the classes inside a field annotation (`list[X]`, `X | None`, `dict[str, X]`, ...)."""
    if isinstance(annotation, type):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _types_in(arg)


def _reachable(model: type[BaseModel], seen: set[type]) -> None:
    """Collect the models and enums a model's fields reach, the model itself included."""
    if model in seen:
        return
    seen.add(model)
    for field in model.model_fields.values():
        for cls in _types_in(field.annotation):
            if issubclass(cls, BaseModel):
                _reachable(cls, seen)
            elif issubclass(cls, enum.Enum):
                seen.add(cls)


def _operation_models() -> set[type]:
    """Every model and enum reachable from the request and response schemas of every API operation."""
    from cellchain.project.api import api

    seen: set[type] = set()
    for _prefix, router in api._routers:
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for model in operation.models:
                    _reachable(model, seen)
                for model in operation.response_models.values():
                    if isinstance(model, type) and issubclass(model, BaseModel):  # not NOT_SET / None
                        _reachable(model, seen)
    # ninja's own wrappers (parameter and response containers) are flattened, never components.
    return {cls for cls in seen if not cls.__module__.startswith(("ninja.", "pydantic."))}


def test_every_schema_class_has_its_own_component_name() -> None:
    """Two classes of one name would share one component: the last one generated documents both."""
    by_name: dict[str, set[str]] = defaultdict(set)
    for cls in _operation_models():
        by_name[cls.__name__].add(f"{cls.__module__}.{cls.__qualname__}")
    duplicates = {name: sorted(classes) for name, classes in by_name.items() if len(classes) > 1}
    assert duplicates == {}, f"schema names used by more than one class: {duplicates}"


def test_the_document_lists_every_schema_class() -> None:
    """Each reachable schema class appears as its own component, defined by its own fields."""
    from cellchain.project.api import api

    components = api.get_openapi_schema()["components"]["schemas"]
    for cls in _operation_models():
        if issubclass(cls, BaseModel) and cls.model_fields and cls.__name__ in components:
            documented = set(components[cls.__name__].get("properties", {}))
            assert documented == _json_names(cls), (
                f"component {cls.__name__} does not document {cls.__module__}.{cls.__qualname__}"
            )


def _json_names(cls: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in cls.model_fields.items()}


class TestResponseValidation:
    """The autouse check of conftest.py really catches a body that breaks its schema (issue 15 item 3)."""

    def test_a_body_missing_a_declared_field_names_the_operation_and_the_field(self, world, client_for):
        from cellchain.ledger.heads import head_issue

        head_issue()
        response = client_for("qa_li").get("/api/ledger/heads/latest")
        body = response.json()
        del body["root"]
        response.content = json.dumps(body).encode()
        with pytest.raises(OpenAPIMismatch, match=r"GET /api/ledger/heads/latest -> 200: .*'root'"):
            validate_response(response)

    def test_an_undocumented_error_must_have_the_error_shape(self, world, client_for):
        response = client_for("qa_li").get("/api/ledger/heads/999999")
        assert response.status_code == 404
        response.content = b'{"error": "gone"}'
        with pytest.raises(OpenAPIMismatch, match="not the error shape"):
            validate_response(response)


# One successful read per router, each validated against the document by the autouse check of conftest.py.
ROUTER_READS = [
    ("qa_li", "/api/accounts/me"),
    ("qa_li", "/api/core/worklist"),
    ("qa_li", "/api/quality/deviations"),
    ("qa_li", "/api/quality/notifications"),
    ("qa_li", "/api/manufacturing/versions"),
    ("qa_li", "/api/manufacturing/batches"),
    ("logistics_zhao", "/api/logistics/shipments"),
    ("logistics_zhao", "/api/logistics/receipt-checks"),
    ("qa_li", "/api/ledger/keys"),
    ("coordinator_zhou", "/api/journeys/"),
    ("physician_wang", "/api/clinic/product-versions"),
    ("auditor_xiehe", "/api/records/retention?record_type=clinic.infusion&record_id=1"),
]


@pytest.mark.parametrize(("persona", "path"), ROUTER_READS)
def test_a_read_of_every_router_matches_the_document(world, client_for, persona, path):
    response = client_for(persona).get(path)
    assert response.status_code == 200, response.content
