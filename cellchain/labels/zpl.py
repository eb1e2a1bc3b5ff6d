"""Unit label as ZPL II for Zebra printers: UTF-8 text and a ^BX DataMatrix (T-10.6; item 40).

``^CI28`` selects UTF-8. Chinese needs a CJK TrueType font on the printer; ``cjk_font`` names it (the
default ``E:SIMSUN.TTF`` assumes the font was downloaded to the printer's E: memory as SIMSUN.TTF).
Free text from users goes through ``^FH`` hex escapes so a ``^`` or ``~`` in a site name cannot become
a printer command.
"""

from __future__ import annotations

from cellchain.labels.content import AUTOLOGOUS_ONLY_EN, AUTOLOGOUS_ONLY_ZH, UnitLabel

DOTS_PER_MM = 8
"""203 dpi print head."""

_ZPL_SPECIAL = {"^", "~", "_", "\\"}


def zpl_field_hex(text: str) -> str:
    """Escape ZPL control characters as ``_XX`` (UTF-8 bytes) for a ``^FH_`` field."""
    escaped = []
    for char in text:
        if char in _ZPL_SPECIAL or ord(char) < 32:
            escaped.append("".join(f"_{byte:02X}" for byte in char.encode()))
        else:
            escaped.append(char)
    return "".join(escaped)


def _text(x_mm: float, y_mm: float, text: str, *, height: int, font: str) -> str:
    x, y = round(x_mm * DOTS_PER_MM), round(y_mm * DOTS_PER_MM)
    return f"^FO{x},{y}^A@N,{height},{height},{font}^FH_^FD{zpl_field_hex(text)}^FS"


def unit_label_zpl(label: UnitLabel, *, cjk_font: str = "E:SIMSUN.TTF", module_dots: int = 7) -> str:
    """Render ``label`` as one ZPL II label (100 x 62 mm at 203 dpi)."""
    payload = label.payload
    lines = [
        "^XA",
        "^CI28",
        f"^PW{100 * DOTS_PER_MM}",
        f"^LL{62 * DOTS_PER_MM}",
        # ECC 200; its field data uses '_' as escape character, which the payload alphabet never holds.
        f"^FO{72 * DOTS_PER_MM},{3 * DOTS_PER_MM}^BXN,{module_dots},200^FD{payload.encode()}^FS",
        _text(3, 3, f"COI {payload.coi.eye_readable}", height=28, font=cjk_font),
        _text(3, 9, f"DIN {payload.din.eye_readable}", height=28, font=cjk_font),
        _text(3, 15, f"PRODUCT {payload.product_code.code}", height=24, font=cjk_font),
        _text(3, 28, f"{AUTOLOGOUS_ONLY_EN} {AUTOLOGOUS_ONLY_ZH}", height=30, font=cjk_font),
    ]
    y = 33.0
    for line in label.text_lines():
        lines.append(_text(3, y, line, height=22, font=cjk_font))
        y += 4.6
    lines.append(_text(60, 58, f"template {label.template_version}", height=16, font=cjk_font))
    lines.append("^XZ")
    return "\n".join(lines) + "\n"
