"""Page helpers every context's views share: run a form's service and say what happened.

A page handler's work is always the same three outcomes: the service did it (a success message), the service
refused (its `ServiceError` message: what, where, why; its transaction rolled back, so nothing was written),
or the form itself was incomplete (which field, what is wrong). These helpers say each outcome once, so a
refused POST is never silent and no view repeats the try/except.

* `run_service`: call a service, show its refusal (on the form or in the page's messages).
* `submit`: a POST-and-redirect handler (the form lives on another page): errors go into the messages.
* `form_page`: a GET/POST page that shows its own form: errors stay on the form it shows again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from cellchain.core.errors import ServiceError

Success = str | Callable[[Any], str | None] | None
"""The success message, a function of the service's result giving it, or None (no message, e.g. an htmx
swap that shows the new state itself)."""


def form_errors_text(form: forms.BaseForm) -> str:
    """The form's errors on one line, each named by its field's label ("Password: This field is required.")."""
    parts = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        where = str(field.label) if field is not None and field.label else name
        text = " ".join(str(e) for e in errors)
        parts.append(text if name == forms.forms.NON_FIELD_ERRORS else f"{where}: {text}")
    return "; ".join(parts) or _("The form is incomplete.")


class _Refused:
    """The outcome "the service refused", told apart from a service that did its work and returned None."""


_REFUSED: Final = _Refused()


def _attempt[T](
    request: HttpRequest, call: Callable[[], T], success: Success, form: forms.BaseForm | None
) -> T | _Refused:
    """Call a service; a refusal goes on the form (its field when it names one) or into the page's messages."""
    try:
        result = call()
    except ServiceError as exc:
        if form is None:
            messages.error(request, exc.message)
        else:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return _REFUSED
    text = success(result) if callable(success) else success
    if text:
        messages.success(request, text)
    return result


def run_service[T](
    request: HttpRequest, call: Callable[[], T], success: Success, *, form: forms.BaseForm | None = None
) -> T | None:
    """Call a service; a refusal goes on the form (its field when it names one) or into the page's messages.

    Returns the service's result, or None when it refused (a service that returns None itself cannot be told
    apart here: use `form_page`, or `submit` and the page's messages, for those).
    """
    result = _attempt(request, call, success, form)
    return None if isinstance(result, _Refused) else result


def _all_valid(forms_: Sequence[forms.BaseForm]) -> bool:
    """Validate every form (not only up to the first invalid one), so each shows all of its errors."""
    return all([form.is_valid() for form in forms_])


def submit[T](
    request: HttpRequest,
    form: forms.BaseForm,
    call: Callable[[Mapping[str, Any]], T],
    success: Success,
    *,
    invalid: str | None = None,
    also: Sequence[forms.BaseForm] = (),
) -> T | None:
    """Run a POST-and-redirect handler's service with the form's cleaned data.

    `also` are further forms posted with it that must be valid too (the service reads them itself). An invalid
    form shows `invalid` or, by default, each field's error; a refused service shows its message.
    Returns the service's result, or None when nothing was done.
    """
    if not _all_valid([form, *also]):
        messages.error(
            request, invalid or "; ".join(form_errors_text(f) for f in (form, *also) if not f.is_valid())
        )
        return None
    return run_service(request, lambda: call(form.cleaned_data), success)


def redirect_to(to: str, *args: Any, **kwargs: Any) -> Callable[[Any], HttpResponse]:
    """A `done` for `form_page` that redirects to the named URL whatever the service returned."""
    return lambda _result: redirect(to, *args, **kwargs)


def form_page[T](
    request: HttpRequest,
    form: forms.BaseForm,
    call: Callable[[Mapping[str, Any]], T],
    success: Success,
    *,
    done: Callable[[T], HttpResponse],
    template: str,
    context: Mapping[str, Any] | None = None,
    also: Sequence[forms.BaseForm] = (),
) -> HttpResponse:
    """A page that shows a form and runs its service on POST (bind the form with `request.POST or None`).

    A GET shows the form. A valid POST calls the service with the cleaned data and, when it did its work
    (whatever it returned, None included), says `success` and returns `done(result)`, usually a redirect.
    Otherwise the form is shown again saying what is wrong: its field errors, or the service's refusal on
    the field it names or above the form; nothing was written. `also` are further forms on the page that
    must be valid too. The template gets `{"form": form, **context}` (`context` may bind "form" otherwise,
    for a page with several forms).
    """
    if request.method == "POST":
        if not form.is_bound:  # a POST without any field: nothing to show on the form, say it above
            messages.error(request, _("The form is incomplete."))
        elif _all_valid([form, *also]):
            result = _attempt(request, lambda: call(form.cleaned_data), success, form)
            if not isinstance(result, _Refused):
                return done(result)
    return render(request, template, {"form": form, **(context or {})})
