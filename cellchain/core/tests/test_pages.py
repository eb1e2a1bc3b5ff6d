"""The shared page helpers: every outcome of a form POST is said once, a refusal is never silent."""

from __future__ import annotations

from typing import Any

import pytest
from django import forms
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.test import RequestFactory

from cellchain.core.errors import Conflict, ValidationFailed
from cellchain.core.pages import form_errors_text, form_page, run_service, submit


class DoseForm(forms.Form):
    dose = forms.IntegerField(label="Dose (cells)", min_value=1)
    note = forms.CharField(label="Note", required=False)


def _request(method: str = "post", data: dict[str, Any] | None = None) -> HttpRequest:
    request = getattr(RequestFactory(), method)("/", data or {})
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


def test_submit_needs_every_posted_form_valid() -> None:
    request, calls = _request(), []
    submit(request, DoseForm({"dose": "5"}), calls.append, "done", also=[DoseForm({"dose": "0"})])
    assert calls == []
    assert _said(request) == [("error", "Dose (cells): Ensure this value is greater than or equal to 1.")]


# --------------------------------------------------------------------------- form_page

PAGE = "pages_test.html"


@pytest.fixture
def page_template(settings: Any) -> None:
    """A template that shows the form's errors and one context value, so the tests read what a user sees."""
    settings.TEMPLATES = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {
                "loaders": [
                    (
                        "django.template.loaders.locmem.Loader",
                        {
                            PAGE: "[{{ form.non_field_errors|join:'|' }}]"
                            "{% for f in form %}[{{ f.name }}:{{ f.errors|join:'|' }}]{% endfor %}({{ title }})"
                        },
                    )
                ]
            },
        }
    ]


def _page(
    request: HttpRequest, form: forms.Form, call: Any, *, also: tuple[forms.Form, ...] = ()
) -> tuple[HttpResponse, list[Any]]:
    """Run `form_page` with a redirect to /done/ that records what it was given."""
    given: list[Any] = []

    def done(result: Any) -> HttpResponse:
        given.append(result)
        return HttpResponseRedirect("/done/")

    response = form_page(
        request, form, call, "Dose recorded.", done=done, template=PAGE, context={"title": "Dose"}, also=also
    )
    return response, given


def _bound(request: HttpRequest) -> DoseForm:
    return DoseForm(request.POST or None)


@pytest.mark.usefixtures("page_template")
def test_form_page_get_shows_the_form_and_calls_nothing() -> None:
    request, calls = _request("get"), []
    response, given = _page(request, _bound(request), calls.append)
    assert response.status_code == 200 and given == [] and calls == []
    assert response.content.decode() == "[][dose:][note:](Dose)"


@pytest.mark.usefixtures("page_template")
def test_form_page_invalid_post_shows_the_field_error_and_calls_nothing() -> None:
    request, calls = _request(data={"dose": "0"}), []
    response, given = _page(request, _bound(request), calls.append)
    assert response.status_code == 200 and given == [] and calls == []
    assert "[dose:Ensure this value is greater than or equal to 1.]" in response.content.decode()
    assert _said(request) == []


@pytest.mark.usefixtures("page_template")
def test_form_page_post_without_any_field_says_the_form_is_incomplete() -> None:
    request, calls = _request(), []
    response, _given = _page(request, _bound(request), calls.append)
    assert response.status_code == 200 and calls == []
    assert _said(request) == [("error", "The form is incomplete.")]


@pytest.mark.django_db
@pytest.mark.usefixtures("page_template")
@pytest.mark.parametrize(
    ("field", "shown"),
    [("dose", "[][dose:Dose above the maximum.]"), (None, "[Dose above the maximum.][dose:]")],
)
def test_form_page_refusal_is_shown_on_the_form_and_nothing_is_written(field: str | None, shown: str) -> None:
    @transaction.atomic
    def refuse(data: Any) -> None:
        Group.objects.create(name=f"dose {data['dose']}")  # written, then rolled back by the refusal
        raise ValidationFailed("Dose above the maximum.", field=field)

    request = _request(data={"dose": "5"})
    response, given = _page(request, _bound(request), refuse)
    assert response.status_code == 200 and given == []
    assert response.content.decode().startswith(shown)
    assert not Group.objects.exists()
    assert _said(request) == []  # no success message for a refusal


@pytest.mark.usefixtures("page_template")
def test_form_page_success_goes_to_done_with_the_result() -> None:
    request = _request(data={"dose": "5"})
    response, given = _page(request, _bound(request), lambda data: data["dose"] * 2)
    assert response.status_code == 302 and response["Location"] == "/done/" and given == [10]
    assert _said(request) == [("success", "Dose recorded.")]


@pytest.mark.usefixtures("page_template")
def test_form_page_service_returning_none_still_succeeds() -> None:
    """A service that does its work and returns None (clinic's `_run` turned that into True) is no refusal."""
    request, calls = _request(data={"dose": "5"}), []
    response, given = _page(request, _bound(request), calls.append)
    assert calls == [{"dose": 5, "note": ""}]
    assert response.status_code == 302 and given == [None]
    assert _said(request) == [("success", "Dose recorded.")]


@pytest.mark.usefixtures("page_template")
def test_form_page_needs_the_other_forms_valid_too() -> None:
    request, calls = _request(data={"dose": "5"}), []
    response, given = _page(request, _bound(request), calls.append, also=(DoseForm({"dose": "0"}),))
    assert response.status_code == 200 and given == [] and calls == []
