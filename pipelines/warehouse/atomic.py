"""The one atomic writer: a reader (or a crash) sees the old file or the new one, never half.

A file is written to a temporary name in its target's folder, flushed to disk
(fsync) and renamed over the target, which POSIX makes atomic within one file
system. The temporary name carries the process id, so two writers never share
one; a failed write removes its temporary file, and the next run removes the ones a
killed writer left (`remove_stale_temporaries`). Lake partitions, the catalog,
exports, reports, summaries and rule files all go through `atomic_path`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target` to write to (creating the folder); on
    success it is flushed and renamed over `target`, on failure removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    try:
        yield temporary
        with open(temporary, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write `data` to `path` atomically; return `path`."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)


def write_text_atomic(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically, encoded as `encoding`; return `path`."""
    return write_bytes_atomic(path, text.encode(encoding))


def _writer_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # a process of another user: alive
    return True


def remove_stale_temporaries(root: Path) -> list[Path]:
    """Remove the temporary files that killed writers left under `root`; return them.

    A temporary name carries its writer's process id (`.<name>.<pid>.tmp`, and
    DuckDB's `.<name>.<pid>.tmp.wal` beside a catalog being built), so a file
    whose writer is still alive (another process writing this warehouse now,
    e.g. a run launched from the UI) is left alone.
    """
    removed: list[Path] = []
    root = Path(root)
    if not root.is_dir():
        return removed
    for path in root.rglob(".*.tmp*"):
        name = path.name.removesuffix(".wal")
        if not name.endswith(".tmp") or not path.is_file():
            continue
        pid = name.removesuffix(".tmp").rsplit(".", 1)[-1]
        if pid.isdigit() and not _writer_alive(int(pid)):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return sorted(removed)
