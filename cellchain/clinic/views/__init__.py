"""Clinic pages, one module per stage of the hospital's part of the journey (issue 15 item 1).

Thin handlers that parse a form, call one service and show its message (STYLE habit 5); built for a bedside
tablet with a keyboard-wedge scanner: scan fields take Enter, htmx swaps the verdict.
"""
