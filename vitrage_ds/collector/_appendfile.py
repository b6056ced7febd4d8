"""A file the collector appends whole batches to, following log rotation."""

from __future__ import annotations

import errno
import logging
import os

__all__ = ['AppendFile']

LOG = logging.getLogger(__name__)


class AppendFile:
    """Appends byte strings to a path, each whole or not at all.

    * **All or nothing.** :meth:`append` remembers the file's size, writes
      (looping over short writes) and, with ``fsync``, syncs. If any of it
      fails (a full disk, a file size limit, an I/O error) the file is
      truncated back to that size and the error raised: a failed batch
      leaves no half line, so its retry leaves no duplicate. Not when the
      process dies mid-write (a SIGKILL): then a last, partial line can
      remain, which readers of JSON lines skip as the last line.
    * **Rotation.** Before each append the path is looked up again; when
      it no longer names the open file (moved away by logrotate, deleted)
      the path is opened anew, created if missing, as
      :class:`logging.handlers.WatchedFileHandler` does. Nothing written
      before is lost: it is in the moved file. ``copytruncate`` rotation
      needs nothing: appends go to the (new) end.

    Not thread-safe: the caller serialises appends. One writer per file:
    two processes appending to one path can interleave batches.

    :param path: the file, opened for append (created if missing).
    :param fsync: also ``fsync`` after each append.
    """

    def __init__(self, path: str, *, fsync: bool = False) -> None:
        self.path = path
        self.fsync = fsync
        self.reopened = 0
        self._fd = -1
        self._identity = (0, 0)
        self._open()

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def append(self, data: bytes) -> None:
        """Write ``data`` at the end of the file, whole, or raise having written nothing.

        :raises OSError: the write failed (the file is as it was before);
            or it failed and could not be undone (logged as an error: a
            partial batch may remain at the end of the file).
        :raises ValueError: the file is closed.
        """
        if self._fd < 0:
            raise ValueError(f'{self.path} is closed')
        self._follow()
        fd = self._fd
        size = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                if written <= 0:  # never for a regular file; a guard against a loop
                    raise OSError(errno.EIO, 'write wrote nothing', self.path)
                view = view[written:]
            if self.fsync:
                os.fsync(fd)
        except OSError:
            try:
                os.ftruncate(fd, size)
            except OSError as undo:
                LOG.error('a failed write to %s could not be undone (%s): a partial '
                          'batch may remain at its end', self.path, undo)
            raise

    def close(self) -> None:
        """Close the file. Idempotent."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def _open(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        stat = os.fstat(fd)
        self._fd = fd
        self._identity = (stat.st_dev, stat.st_ino)

    def _follow(self) -> None:
        """Reopen the path if it no longer names the open file."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            identity = None
        else:
            identity = (stat.st_dev, stat.st_ino)
        if identity == self._identity:
            return
        old = self._fd
        self._open()
        os.close(old)
        self.reopened += 1
        LOG.info('%s was moved or deleted (rotated?); writing to a new file at that path',
                 self.path)
