"""`clinic dev` republishes content/ while it runs, so that an editor's change shows within seconds.

watchfiles (inotify where the system has it, polling where not) reports each burst of edits
once; every file under content/ counts (articles, the disclaimer, any YAML beside them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, watch

# An editor's save is often several writes (a temporary file, a rename): wait this long for
# the burst to end, so one save is one republish.
DEBOUNCE_MS = 300


def _lasting_changes(batch: set[tuple[Change, str]]) -> list[Path]:
    """The paths changed, less the temporary files an editor (or `sed -i`) made and removed."""
    kinds: dict[str, set[Change]] = {}
    for change, path in batch:
        kinds.setdefault(path, set()).add(change)
    transient = {Change.added, Change.deleted}
    return sorted(
        Path(path) for path, seen in kinds.items() if not (transient <= seen and not Path(path).exists())
    )


class ContentWatcher:
    """Calls `on_change` with the changed paths after each burst of changes under `directory`."""

    def __init__(self, directory: Path, on_change: Callable[[list[Path]], None]) -> None:
        self._directory = directory
        self._on_change = on_change
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="content-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        changes = watch(
            self._directory, stop_event=self._stopped, debounce=DEBOUNCE_MS, raise_interrupt=False
        )
        for batch in changes:
            changed = _lasting_changes(batch)
            if changed:
                self._on_change(changed)

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
