"""Clinic pages, one module per stage of the hospital's part of the journey (issue 15 item 1)."""
