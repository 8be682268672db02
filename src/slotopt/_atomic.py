"""Write a folder (or a file) whole or not at all, and never over something slotopt did not write.

The output-folder contract (docs/contracts.md):

- The body fills a temporary folder ``.NAME.slotopt-tmp-*`` beside the target (same file system),
  which is then renamed into place: a reader sees the old folder or the new one, never a mix.
- A target that exists is replaced only with ``force=True``, and only if slotopt wrote it: its
  ``summary.json`` (or ``estimate.json``) carries ``slotopt_version``, or its ``instance.json`` a
  ``generated_by`` of ``slotopt generate``, and it holds no file slotopt did not write. Never the
  current directory or one of its parents, never an input (the instance folder) or a folder that
  contains one, never a symbolic link.
- Writers to one target take an exclusive lock on ``.NAME.slotopt-lock`` beside it (``flock``,
  released by the kernel when a process dies), so two runs cannot both write it: the second one
  fails at once with a clear error. Under that lock, temporary folders left by a killed run are
  removed; only folders carrying slotopt's ``.slotopt-partial`` marker, never anyone else's.
- ``rename(2)`` onto an existing non-empty folder fails (``ENOTEMPTY``), so even a writer that
  ignores the lock cannot be silently replaced: the loser gets :class:`OutputExistsError`.
- A disk that is read-only or full raises :class:`OutputError` (a ``UsageError``: the CLI prints
  one line and exits 2), and nothing is left behind.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from slotopt.errors import OutputError, OutputExistsError, SlotoptError

__all__ = [
    "OutputError",
    "OutputExistsError",
    "atomic_file",
    "atomic_folder",
    "check_output_file",
    "check_output_folder",
    "refusal",
    "write_json",
]

PARTIAL = ".slotopt-partial"  # marks a temporary folder as slotopt's (and so removable)
RESULT_SUFFIXES = frozenset({".csv", ".json", ".png", ".parquet"})

PathLike = str | os.PathLike[str]


# -- what may be replaced ------------------------------------------------------------------


def _read_marker(folder: Path) -> tuple[str, dict[str, Any]] | None:
    """(marker file name, its JSON) when ``folder`` carries slotopt's mark, else None."""
    for name in ("summary.json", "estimate.json", "instance.json"):
        path = folder / name
        if not path.is_file() or path.is_symlink():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        if name != "instance.json" and "slotopt_version" in data:
            return name, data
        generated = data.get("generated_by")
        if (
            name == "instance.json"
            and isinstance(generated, str)
            and generated.startswith("slotopt generate ")
        ):
            return name, data
    return None


def _foreign_files(folder: Path, marker: str, data: dict[str, Any]) -> list[str]:
    """Entries of ``folder`` slotopt did not write (by the ``files`` list slotopt records in the
    marker, or, for folders without one, anything that is not a plain table/figure file)."""
    listed = data.get("files")
    entries = sorted(folder.iterdir())
    if isinstance(listed, list) and all(isinstance(f, str) for f in listed):
        known = {*listed, marker}
        return [e.name for e in entries if e.name not in known or not _plain_file(e)]
    return [e.name for e in entries if not _plain_file(e) or e.suffix not in RESULT_SUFFIXES]


def _plain_file(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def refusal(target: PathLike, *, inputs: Sequence[PathLike] = ()) -> str | None:
    """Why ``--force`` may not replace the existing ``target`` folder (None when it may)."""
    target = Path(target)
    if target.is_symlink():
        return "is a symbolic link; slotopt replaces only folders it wrote itself"
    if not target.is_dir():
        return "is a file, not a folder slotopt wrote"
    real = target.resolve()
    cwd = Path.cwd().resolve()
    if real == cwd:
        return "is the current directory"
    if _inside(cwd, real):
        return "contains the current directory"
    for item in inputs:
        source = Path(item).resolve()
        if real == source:
            return "is the instance folder (an input of this run)"
        if _inside(source, real):
            return f"contains an input of this run ({source.name})"
    mark = _read_marker(target)
    if mark is None:
        return (
            "was not written by slotopt (no summary.json with slotopt_version), so --force "
            "will not replace it"
        )
    foreign = _foreign_files(target, *mark)
    if foreign:
        shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        return f"holds files slotopt did not write ({shown}); move them or choose another folder"
    return None


def check_output_folder(
    target: PathLike, *, force: bool = False, inputs: Sequence[PathLike] = ()
) -> None:
    """Check, before any work starts, that ``target`` can be written.

    Raises
    ------
    OutputExistsError
        ``target`` exists and ``force`` is False.
    OutputError
        ``force`` may not replace it (see :func:`refusal`), or its parent is not a writable
        folder (a file, read-only, a full disk).
    """
    target = Path(target)
    if target.exists() or target.is_symlink():
        if not force:
            raise OutputExistsError(
                f"{target}: already exists; choose another folder or pass --force to replace it"
            )
        why = refusal(target, inputs=inputs)
        if why is not None:
            raise OutputError(f"{target}: {why}")
    _check_parent(target)


def check_output_file(
    target: PathLike, *, force: bool = False, owned: Callable[[Path], bool]
) -> None:
    """The same check for a single output file; ``owned(path)`` says whether slotopt wrote it."""
    target = Path(target)
    if target.is_dir():
        raise OutputError(f"{target}: is a folder; name the file to write")
    if target.exists() or target.is_symlink():
        if not force:
            raise OutputExistsError(
                f"{target}: already exists; choose another file or pass --force to replace it"
            )
        if target.is_symlink() or not target.is_file() or not owned(target):
            raise OutputError(
                f"{target}: was not written by slotopt, so --force will not replace it"
            )
    _check_parent(target)


def _check_parent(target: Path) -> None:
    """The nearest existing ancestor is a folder we can create entries in, on a disk with room."""
    parent = target.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{target}: cannot be created, {parent} is not a folder")
    # Permission bits do not tell (root ignores them; a read-only mount does not show in them):
    # create and remove an empty folder where the output will go.
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".slotopt-probe-", dir=parent))
    except OSError as exc:
        raise _output_error(target, exc, f"cannot be created in {parent}") from exc
    try:
        st = os.statvfs(parent)
    except (OSError, AttributeError):  # not every platform has statvfs
        return
    if st.f_bavail == 0:
        raise OutputError(f"{target}: cannot be created, no space left on the disk of {parent}")


# -- locking and leftovers -----------------------------------------------------------------


def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.slotopt-lock"


@contextmanager
def _exclusive(target: Path) -> Iterator[None]:
    """Hold ``.NAME.slotopt-lock`` beside ``target`` exclusively, or fail at once.

    ``flock`` is released by the kernel when the holder dies, so a killed run never leaves a
    lock behind; the lock file itself is reused. After locking, the file must still be the one
    at the path (another run may have removed it in between); otherwise try again.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: rely on rename's own checks
        yield
        return
    path = _lock_path(target)
    for _ in range(100):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputExistsError(
                f"{target}: another slotopt run is writing it right now; wait for it to finish "
                "or choose another folder"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    else:  # pragma: no cover - only under a storm of concurrent writers
        raise OutputExistsError(f"{target}: could not lock it; another run keeps replacing it")
    try:
        yield
    finally:
        # Remove the lock file while holding it; a run that opened it just now sees the inode
        # change above and retries on a fresh file.
        path.unlink(missing_ok=True)
        os.close(fd)


def _remove_leftovers(target: Path) -> None:
    """Remove temporary folders a killed run left beside ``target``; only slotopt's own (they
    carry the ``.slotopt-partial`` marker and are not links). Called with the lock held, so no
    live run is writing them."""
    for prefix in (f".{target.name}.slotopt-tmp-", f".{target.name}.slotopt-old-"):
        for entry in target.parent.glob(prefix.replace("[", "[[]") + "*"):
            if entry.is_dir() and not entry.is_symlink() and (entry / PARTIAL).is_file():
                shutil.rmtree(entry, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _output_error(target: Path, exc: OSError, what: str = "cannot be written") -> OutputError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        reason = "no space left on the disk"
    elif exc.errno == errno.EROFS:
        reason = "the file system is read-only"
    return OutputError(f"{target}: {what} ({reason}); nothing was written")


# -- writers --------------------------------------------------------------------------------


@contextmanager
def atomic_folder(
    target: PathLike, *, force: bool = False, inputs: Sequence[PathLike] = ()
) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``target``; on success it replaces ``target``.

    If the body raises, the temporary folder is removed and ``target`` is untouched. An existing
    ``target`` is replaced only with ``force=True`` and only if slotopt wrote it (module
    docstring); ``inputs`` are the run's input folders, which are never replaced.

    Raises
    ------
    OutputExistsError
        ``target`` exists without ``force``, or another run is writing it.
    OutputError
        Replacing ``target`` is refused, or the disk cannot take it.
    """
    target = Path(target)
    check_output_folder(target, force=force, inputs=inputs)
    with ExitStack() as stack:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(_exclusive(target))
        except OSError as exc:
            if isinstance(exc, SlotoptError):
                raise
            raise _output_error(target, exc) from exc
        _remove_leftovers(target)
        check_output_folder(target, force=force, inputs=inputs)  # again, now under the lock
        try:
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.slotopt-tmp-", dir=target.parent))
        except OSError as exc:
            raise _output_error(target, exc) from exc
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)  # a no-op once renamed
        try:
            (tmp / PARTIAL).touch()
            # mkdtemp makes the folder private (0700); results get the user's usual permissions
            tmp.chmod(0o777 & ~_umask())
            yield tmp
        except OSError as exc:
            if isinstance(exc, SlotoptError):
                raise
            raise _output_error(target, exc) from exc
        _commit(tmp, target, force=force, inputs=inputs)


def _commit(tmp: Path, target: Path, *, force: bool, inputs: Sequence[PathLike]) -> None:
    (tmp / PARTIAL).unlink()
    if target.exists() or target.is_symlink():  # it appeared while the body ran
        if not force:
            raise OutputExistsError(
                f"{target}: another run wrote it while this one was working; its result was kept"
            )
        why = refusal(target, inputs=inputs)
        if why is not None:
            raise OutputError(f"{target}: {why}")
    old: Path | None = None
    try:
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.slotopt-old-", dir=target.parent))
            os.replace(target, old / "folder")  # aside, inside a marked folder: removable
            (old / PARTIAL).touch()
        # rename(2) fails with ENOTEMPTY/EEXIST when a folder appeared at target meanwhile
        # (a writer that ignored the lock): that writer keeps it, this one reports it.
        os.rename(tmp, target)
    except OSError as exc:
        if old is not None and not target.exists():
            os.replace(old / "folder", target)  # put the previous result back
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise OutputExistsError(
                f"{target}: another run wrote it while this one was working; its result was kept"
            ) from None
        raise _output_error(target, exc) from exc
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_file(target: PathLike, *, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary file path beside ``target``; on success it is renamed onto ``target``.

    The caller checks ``target`` first (:func:`check_output_file`); a full or read-only disk
    raises :class:`OutputError` and nothing is left behind.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            prefix=f".{target.name}.slotopt-tmp-", suffix=suffix, dir=target.parent
        )
        os.close(fd)
        os.chmod(name, 0o666 & ~_umask())
    except OSError as exc:
        raise _output_error(target, exc) from exc
    tmp = Path(name)
    try:
        try:
            yield tmp
            os.replace(tmp, target)
        except OSError as exc:
            if isinstance(exc, SlotoptError):
                raise
            raise _output_error(target, exc) from exc
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=_jsonable) + "\n")


def _jsonable(obj: Any) -> Any:
    import numpy as np

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
