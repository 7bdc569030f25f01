"""Guided lessons: files in resources/lessons/, read by `format`, played headless by `runner`."""
