"""The shared page helpers: every outcome of a form POST is said once, a refusal is never silent."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.http import HttpRequest
from django.test import RequestFactory

from cellchain.core.errors import Conflict, ValidationFailed
from cellchain.core.pages import form_errors_text, run_service, submit


class DoseForm(forms.Form):
    dose = forms.IntegerField(label="Dose (cells)", min_value=1)
    note = forms.CharField(label="Note", required=False)


def _request() -> HttpRequest:
    request = RequestFactory().post("/")
    request.session = SessionStore()  # type: ignore[attr-defined]
    request._messages = FallbackStorage(request)  # type: ignore[attr-defined]
    return request


def _said(request: HttpRequest) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(request)]


def test_errors_text_names_each_field_by_its_label() -> None:
    form = DoseForm({"dose": "0"})
    assert not form.is_valid()
    assert form_errors_text(form) == "Dose (cells): Ensure this value is greater than or equal to 1."


def test_invalid_form_says_what_is_wrong_and_calls_nothing() -> None:
    request, calls = _request(), []
    result = submit(request, DoseForm({}), lambda data: calls.append(data), "done")
    assert result is None and calls == []
    assert _said(request) == [("error", "Dose (cells): This field is required.")]


def test_invalid_form_can_say_its_own_message() -> None:
    request = _request()
    submit(request, DoseForm({}), lambda data: 1, "done", invalid="Give the dose.")
    assert _said(request) == [("error", "Give the dose.")]


def test_refused_service_shows_its_message() -> None:
    def refuse(data: Any) -> None:
        raise Conflict("Unit U1 is quarantined; it cannot be infused.")

    request = _request()
    assert submit(request, DoseForm({"dose": "5"}), refuse, "done") is None
    assert _said(request) == [("error", "Unit U1 is quarantined; it cannot be infused.")]


def test_success_message_may_use_the_result() -> None:
    request = _request()
    result = submit(
        request, DoseForm({"dose": "5"}), lambda data: data["dose"] * 2, lambda r: f"Dose {r} given."
    )
    assert result == 10
    assert _said(request) == [("success", "Dose 10 given.")]


def test_refusal_naming_a_field_goes_on_that_field() -> None:
    def refuse() -> None:
        raise ValidationFailed("Dose above the product's maximum.", field="dose")

    request, form = _request(), DoseForm({"dose": "5"})
    assert form.is_valid()
    assert run_service(request, refuse, "done", form=form) is None
    assert form.errors == {"dose": ["Dose above the product's maximum."]}
    assert _said(request) == []


@pytest.mark.parametrize("field", [None, "unknown"])
def test_refusal_without_a_known_field_goes_on_the_form(field: str | None) -> None:
    def refuse() -> None:
        raise ValidationFailed("Not now.", field=field)

    form = DoseForm({"dose": "5"})
    form.is_valid()
    run_service(_request(), refuse, "done", form=form)
    assert form.non_field_errors() == ["Not now."]
