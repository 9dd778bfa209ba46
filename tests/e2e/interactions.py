"""Count what a person does, the way issue 16 counts it: one click, one choice, or one field typed
into is one interaction. Journeys use it to hold the why session to its budget per level."""

from __future__ import annotations

from collections import defaultdict


class Interactions:
    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.current = ""

    def start(self, step: str) -> None:
        """Count what follows towards `step` (e.g. "level 3")."""
        self.current = step
        self.counts[step] += 0

    def _count(self) -> None:
        assert self.current, "start(step) before counting"
        self.counts[self.current] += 1

    def type(self, locator, text: str) -> None:
        locator.fill(text)
        self._count()

    def choose(self, locator) -> None:
        locator.check()
        self._count()

    def click(self, locator) -> None:
        locator.click()
        self._count()

    def over_budget(self, budget: int, prefix: str = "") -> dict[str, int]:
        return {
            step: n for step, n in self.counts.items() if step.startswith(prefix) and n > budget
        }
