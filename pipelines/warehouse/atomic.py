"""The one atomic writer: a reader (or a crash) sees the old file or the new one, never half.

A file is written to a temporary name in its target's folder, flushed to disk
(fsync) and renamed over the target, which POSIX makes atomic within one file
system. The temporary name carries the process id, so two writers never share
one; a failed write removes its temporary file. Lake partitions, the catalog,
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
