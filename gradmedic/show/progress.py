"""Progress over many runs or trials (compare, tune): a rich bar on a terminal, a numbered plain line
per finished item elsewhere, nothing when quiet.  (A single training run's progress is the trainer's.)"""

from __future__ import annotations

from typing import Any


class Bar:
    def __init__(self, console: Any, total: int, quiet: bool, label: str):
        self.console, self.total, self.done = console, total, 0
        self.mode = "none" if quiet else "rich" if console.is_terminal else "plain"
        if self.mode == "rich":
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                TextColumn("{task.description}"), console=console, transient=True)
            self.task = self.bar.add_task("", total=total)
            self.bar.start()

    def set(self, done: int, text: str = "", line: str | None = None) -> None:
        """``done`` of the total finished; ``text`` beside the bar; ``line`` said once: above the bar, or as
        ``[done/total] line``."""
        self.done = done
        if self.mode == "rich":
            if line:
                self.bar.console.print(line, highlight=False)
            self.bar.update(self.task, completed=min(done, self.total), description=text)
        elif self.mode == "plain" and line:
            self.console.print(f"[{done}/{self.total}] {line}", highlight=False)

    def update(self, line: str) -> None:
        """One more finished, said in ``line``."""
        self.set(self.done + 1, line=line)

    def close(self) -> None:
        if self.mode == "rich":
            self.bar.stop()
