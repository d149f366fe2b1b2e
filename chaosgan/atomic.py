"""All-or-nothing outputs: files and folders are built beside their target, then renamed onto it.

A file is written to a temporary sibling (``.name.XXXX.tmp``) and moved onto its path with
``os.replace`` (atomic on POSIX within one file system), so a reader sees the old content or the
new, never a half-written file, and a crash leaves the old file untouched. A folder (a report, a
figure folder, a fresh training run) is built the same way in a temporary sibling and swapped in
as a whole by :class:`StagedFolder`: a failure before :meth:`StagedFolder.publish` leaves the old
folder exactly as it was, and after it no file of the old folder survives.

Temporary files are created by :func:`tempfile.mkstemp` with mode 0600; they are given the mode
an ordinary ``open()`` would have given them (0666 less the user's umask) before they are moved
into place, and folders 0777 less the umask. Operating-system errors (a read-only mount, a path
under ``/proc``, a full disk) become one-line :class:`~chaosgan.errors.ChaosganError` messages.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from chaosgan.errors import ChaosganError


def current_umask() -> int:
    """The process's umask (read by setting and restoring it: there is no other portable way)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _os_error(path: Path, exc: OSError) -> ChaosganError:
    return ChaosganError(f"cannot write {path}: {exc.strerror or exc}")


def _make_parent(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _os_error(path.parent, exc) from None
    if not path.parent.is_dir():
        raise ChaosganError(f"cannot write {path}: {path.parent} is not a folder")


def check_writable(path: str | Path, force: bool) -> Path:
    """Refuse an empty path, a folder, or an existing file without ``force``; check that the
    parent folder can take a new file. Nothing is created: call this before any work starts."""
    if str(path).strip() == "":
        raise ChaosganError("the output path is empty")
    path = Path(path)
    if path.is_dir():
        raise ChaosganError(f"{path} is a folder, not a file")
    if path.exists() and not force:
        raise ChaosganError(f"{path} exists; pass --force to overwrite it")
    _check_parent(path)
    return path


def check_folder_writable(path: str | Path, force: bool, marker: str | None = None) -> Path:
    """Like :func:`check_writable` for an output folder: an existing non-empty folder (or, with
    ``marker``, one that holds ``marker``) is refused without ``force``; a file is refused."""
    if str(path).strip() == "":
        raise ChaosganError("the output folder path is empty")
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ChaosganError(f"{path} is a file, not a folder")
    if path.is_dir() and not force:
        occupied = (path / marker).exists() if marker else any(path.iterdir())
        if occupied:
            raise ChaosganError(f"{path} exists and is not empty; pass --force to replace it")
    _check_parent(path)
    return path


def _check_parent(path: Path) -> None:
    """The nearest existing ancestor must be a folder that takes a new file (checked by creating
    and removing one; its missing children are made later, when the output is written)."""
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise ChaosganError(f"cannot write {path}: {parent} is not a folder")
    try:  # os.access says yes to root on read-only mounts and /proc: try it
        fd, probe = tempfile.mkstemp(prefix=".chaosgan-probe.", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ChaosganError(f"cannot write {path}: {parent}: {exc.strerror or exc}") from None


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    A crash or exception leaves any existing ``path`` untouched and removes the temporary file.
    """
    path = Path(path)
    _make_parent(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _os_error(path, exc) from None
    os.close(fd)
    try:
        yield Path(tmp)
        try:
            os.chmod(tmp, 0o666 & ~current_umask())
            os.replace(tmp, path)
        except OSError as exc:
            raise _os_error(path, exc) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp_path)`` and move the result onto ``path`` atomically."""
    with atomic_path(path) as tmp:
        try:
            write(tmp)
        except OSError as exc:
            raise _os_error(path, exc) from None


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    write_atomic(path, lambda tmp: tmp.write_text(text))


class StagedFolder:
    """A folder built in a temporary sibling and swapped onto ``target`` as a whole.

    ``path`` is where to write: the staging folder until :meth:`publish`, ``target`` after it.
    :meth:`publish` moves any old ``target`` aside, renames the staging folder onto it and
    deletes the old one; if the second rename fails the old folder is put back. :meth:`discard`
    removes an unpublished staging folder (call it when the work fails).
    """

    def __init__(self, target: str | Path) -> None:
        self.target = Path(target)
        _make_parent(self.target)
        try:
            staging = tempfile.mkdtemp(
                prefix=f".{self.target.name}.", suffix=".tmp", dir=self.target.parent
            )
            os.chmod(staging, 0o777 & ~current_umask())
        except OSError as exc:
            raise _os_error(self.target, exc) from None
        self.path = Path(staging)
        self.published = False

    def publish(self) -> Path:
        """Swap the staging folder onto the target (idempotent); returns the target."""
        if self.published:
            return self.target
        old = None
        try:
            if self.target.exists():
                old = Path(
                    tempfile.mkdtemp(
                        prefix=f".{self.target.name}.", suffix=".old", dir=self.target.parent
                    )
                )
                os.replace(self.target, old / "folder")
            try:
                os.replace(self.path, self.target)
            except OSError:
                if old is not None:
                    os.replace(old / "folder", self.target)
                raise
        except OSError as exc:
            raise _os_error(self.target, exc) from None
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        self.path, self.published = self.target, True
        return self.target

    def discard(self) -> None:
        """Remove the staging folder if it was never published."""
        if not self.published:
            shutil.rmtree(self.path, ignore_errors=True)


@contextmanager
def atomic_folder(target: str | Path) -> Iterator[Path]:
    """Yield a staging folder; on success it replaces ``target`` whole, on failure it vanishes."""
    stage = StagedFolder(target)
    try:
        yield stage.path
        stage.publish()
    finally:
        stage.discard()
