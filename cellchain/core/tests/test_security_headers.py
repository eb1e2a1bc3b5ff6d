"""Content-Security-Policy, Permissions-Policy and no-store on every dynamic answer (issue 15; REGULATORY 57)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import cellchain
from cellchain.logistics.charts import Chart, chart_svg

pytestmark = pytest.mark.django_db

TEMPLATES = sorted(Path(cellchain.__file__).parent.glob("**/templates/**/*.html"))


def test_the_sign_in_page_is_not_stored_either() -> None:
    from django.test import Client

    response = Client().get("/accounts/login/")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p).split("cellchain/", 1)[-1])
def test_templates_hold_no_inline_code_the_policy_would_block(template: Path) -> None:
    """No inline <script>, on* handler or style attribute; an inline <style> must carry the nonce."""
    text = template.read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", text), "inline event handler"
    assert not re.search(r"\sstyle\s*=", text), "style attribute"
    for tag in re.findall(r"<style[^>]*>", text):
        assert "csp_nonce" in tag, "<style> without the CSP nonce"


def test_the_temperature_chart_has_no_inline_style() -> None:
    chart = Chart(
        (("S1", "#000", ((0.0, 1.0), (2.0, 3.0))),), ((1.0, "8 °C"),), ((0.0, 1.0, "gap"),), (), (), False
    )
    assert "style=" not in chart_svg(chart, "t")
