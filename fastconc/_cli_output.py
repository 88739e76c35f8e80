"""Where one command-line result goes: ``Output.open(path, force=...)``.

- ``-``: standard output, written through.
- An existing character device, FIFO or socket (or a symbolic link to
  one): opened for writing and written through; it stays what it was.
- An existing symbolic link to a regular file (or a dangling one): written
  through to its target, which is replaced only with ``force``; the link
  stays a link.
- A regular file, or a name that does not exist yet: the data goes to a
  temporary file in the same directory, which is flushed, synced and
  renamed over the name only by ``commit()``, so a failure leaves neither
  a partial output nor a changed one.  An existing regular file is
  replaced only with ``force`` (as gzip and zstd).

This module never reads input and never removes anything but its own
temporary file.
"""
from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from typing import IO

from ._cli_common import CliError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class Output:
    """An opened destination; ``fp`` takes the bytes, then ``commit()`` or
    ``abort()`` (one of them, once)."""

    def __init__(self, fp: IO[bytes], name: str, *, regular: bool,
                 tmp_path: str | None = None, final: str | None = None,
                 source: str | None = None, closefp: bool = True) -> None:
        self.fp = fp
        self.name = name
        # True when the data lands in a regular file (renamed into place,
        # or written through a symbolic link to one): only then may the
        # input be removed without --rm.
        self.regular = regular
        self._tmp = tmp_path
        self._final = final
        self._source = source
        self._closefp = closefp

    @property
    def fresh(self) -> bool:
        """A new temporary file, renamed into place at commit: nobody else
        sees it, and it may be sought back and written over."""
        return self._tmp is not None

    @classmethod
    def open(cls, path: str, *, force: bool, source: str | None = None
             ) -> Output:
        """Open ``path`` ('-' for stdout) as described in the module
        docstring.  ``source`` is the input file (never written over, and
        whose mode and times a new regular output receives); raises
        CliError for a refusal."""
        if path == "-":
            return cls(sys.stdout.buffer, "stdout", regular=False,
                       closefp=False)
        try:
            lst = os.lstat(path)
        except FileNotFoundError:
            lst = None
        except OSError as exc:
            raise CliError(f"{path}: {exc.strerror}", named=True) from None
        if lst is None:
            return cls._temporary(path, source)
        if source is not None:
            try:
                same = os.path.samefile(source, path)
            except OSError:
                same = False
            if same:
                raise CliError(f"{path}: input and output are the same "
                               "file", named=True)
        try:
            st: os.stat_result | None = os.stat(path)    # follows a link
        except FileNotFoundError:
            st = None                                     # dangling link
        except OSError as exc:
            raise CliError(f"{path}: {exc.strerror}", named=True) from None
        if st is not None and stat.S_ISDIR(st.st_mode):
            raise CliError(f"{path}: is a directory", named=True)
        if st is not None and not stat.S_ISREG(st.st_mode):
            if stat.S_ISBLK(st.st_mode) and not force:
                raise CliError(f"{path} is a block device; not "
                               "overwritten (use -f to write to it)",
                               named=True)
            return cls._through(path, truncate=False, regular=False)
        if not force:
            raise CliError(f"{path} already exists; not overwritten (use "
                           "-f to overwrite)", named=True)
        if stat.S_ISLNK(lst.st_mode):
            return cls._through(path, truncate=True, regular=True)
        return cls._temporary(path, source)

    @classmethod
    def _through(cls, path: str, *, truncate: bool, regular: bool
                 ) -> Output:
        flags = os.O_WRONLY | os.O_CLOEXEC
        if truncate:
            flags |= os.O_TRUNC | os.O_CREAT
        try:
            fd = os.open(path, flags, 0o666)
        except OSError as exc:
            raise CliError(f"{path}: {exc.strerror}", named=True) from None
        return cls(os.fdopen(fd, "wb"), path, regular=regular)

    @classmethod
    def _temporary(cls, path: str, source: str | None) -> Output:
        directory = os.path.dirname(os.path.abspath(path))
        try:
            fd, tmp = tempfile.mkstemp(
                dir=directory, prefix="." + os.path.basename(path) + ".",
                suffix=".tmp")
        except OSError as exc:
            raise CliError(f"{path}: {exc.strerror}", named=True) from None
        return cls(os.fdopen(fd, "wb"), path, regular=True, tmp_path=tmp,
                   final=path, source=source)

    def commit(self) -> None:
        """Everything was written: make it the output."""
        fp = self.fp
        fp.flush()
        if self._tmp is None:
            if self._closefp:
                fp.close()
            return
        os.fsync(fp.fileno())
        fp.close()
        if self._source is not None:
            shutil.copystat(self._source, self._tmp)
            st = os.stat(self._source)
            try:
                # As gzip: keep the owner where we may (root).
                os.chown(self._tmp, st.st_uid, st.st_gid)
            except OSError:
                pass
        else:
            os.chmod(self._tmp, 0o666 & ~_umask())
        assert self._final is not None
        os.replace(self._tmp, self._final)
        self._tmp = None

    def abort(self) -> None:
        """Something failed: leave no trace of this output (a written
        through target keeps what was written, as with a shell
        redirection)."""
        try:
            if self._closefp:
                self.fp.close()
        except OSError:
            pass
        if self._tmp is not None:
            try:
                os.unlink(self._tmp)
            except OSError:
                pass
            self._tmp = None
