"""What a visitor's browser would show as broken: script errors and console errors."""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage


class PageProblems:
    """Script errors and unexpected console errors (a CSP violation is one)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def console(self, message: ConsoleMessage) -> None:
        # Chromium logs every 4xx fetch as "Failed to load resource"; the tests expect some.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)
