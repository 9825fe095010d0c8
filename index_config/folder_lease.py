"""FolderLease: who uses an index version folder, told by a flock on its readers.lock.

Readers take it shared while they have the version open; a writer that wants to reuse or
delete the folder takes it exclusive, without waiting. The kernel drops a lease when its
process dies (kill -9 included), so a crashed reader never pins a folder.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

READERS_LOCK = "readers.lock"


class FolderLease:
    """A flock on a version folder's readers.lock: shared for readers, exclusive for a
    writer that wants to recycle or delete the folder."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def take(cls, folder: Path, exclusive: bool) -> FolderLease | None:
        """The lease, or None when the other kind is held (or the folder moved away)."""
        path = folder / READERS_LOCK
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
        except OSError:
            return None
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
            # The folder may have been renamed by a writer between open() and flock().
            if os.fstat(fd).st_ino != os.stat(path).st_ino:
                raise FileNotFoundError(path)
        except OSError:
            os.close(fd)
            return None
        return cls(fd)

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock
