"""Page helpers every context's views share: run a form's service and say what happened.

A page handler's work is always the same three outcomes: the service did it (a success message), the service
refused (its `ServiceError` message: what, where, why; its transaction rolled back, so nothing was written),
or the form itself was incomplete (which field, what is wrong). These helpers say each outcome once, so a
refused POST is never silent and no view repeats the try/except.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest
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


def run_service[T](
    request: HttpRequest, call: Callable[[], T], success: Success, *, form: forms.BaseForm | None = None
) -> T | None:
    """Call a service; a refusal goes on the form (its field when it names one) or into the page's messages.

    Returns the service's result, or None when it refused.
    """
    try:
        result = call()
    except ServiceError as exc:
        if form is None:
            messages.error(request, exc.message)
        else:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None
    text = success(result) if callable(success) else success
    if text:
        messages.success(request, text)
    return result


def submit[T](
    request: HttpRequest,
    form: forms.BaseForm,
    call: Callable[[Mapping[str, Any]], T],
    success: Success,
    *,
    invalid: str | None = None,
) -> T | None:
    """Run a POST-and-redirect handler's service with the form's cleaned data.

    An invalid form shows `invalid` or, by default, each field's error; a refused service shows its message.
    Returns the service's result, or None when nothing was done.
    """
    if not form.is_valid():
        messages.error(request, invalid or form_errors_text(form))
        return None
    return run_service(request, lambda: call(form.cleaned_data), success)
