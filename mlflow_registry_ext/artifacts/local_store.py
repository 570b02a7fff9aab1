"""A content-addressed root in a local directory (``cas+file:///path``).

Blobs are written under ``tmp/``, made read-only, then hard-linked to their final name: a link
never replaces an existing file, so a blob is never overwritten, and a crash leaves at most a
stray file in ``tmp/`` (removed by ``artifacts gc`` after the grace period). Refs are written in
``tmp/`` and renamed into ``trees/``; a whole new tree (a pinned version's snapshot) is built in
``tmp/`` and renamed into ``trees/`` in one step, and read back in one walk over open directory
handles that never follow a link. Set ``MLFLOW_CAS_FSYNC=true`` to also flush each blob to
disk before it gets its name (survives power loss, costs write speed).

Large files are stored in one streaming pass: the bytes are hashed while they are written to the
temporary file. When the root already holds a large blob of exactly the same length (an empty
file ``sizes/<length>`` says so), the file may be a copy, so it is hashed first: if that names an
existing blob nothing is written at all, so re-logging an identical large file costs one read
instead of one write. A file this process hashed before and that has not changed since is not
read again (``filecache.py``).

Example:
    >>> import os
    >>> with open(os.path.join(tmp_dir, "model.pkl"), "wb") as f:
    ...     _ = f.write(b"x" * 1048576)
    >>> store = LocalStore(os.path.join(tmp_dir, "cas"))
    >>> store.put_file(os.path.join(tmp_dir, "model.pkl"))
    PutResult(sha256='...', size=1048576, created=True)
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
import time
import uuid
from typing import BinaryIO, Iterator

from mlflow_registry_ext.artifacts.blobs import BlobInfo, PutResult, is_sha256, integrity_error
from mlflow_registry_ext.artifacts.hashing import HashResult, copy_hashing, hash_bytes, hash_file
from mlflow_registry_ext.artifacts.paths import OUTSIDE_ROOT, parent_and_name
from mlflow_registry_ext.artifacts.store import MARKER_NAME, SMALL_FILE, Store, marker_bytes
from mlflow_registry_ext.errors import InvalidInput
from mlflow_registry_ext import settings

__all__ = ["LocalStore", "FSYNC_ENV_VAR"]

FSYNC_ENV_VAR = settings.CAS_FSYNC.name

_READ_ONLY = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
# Filesystems without hard links (some network and FAT mounts) fall back to an exclusive rename.
_NO_LINK_ERRNOS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}


_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# A ref of a staged tree: a new file, never through a link of that name.
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _stage_dirs(dirs: dict[str, int], rel: str) -> int:
    """The open handle of the staged directory ``rel``, creating it and its parents."""
    parent, _, name = rel.rpartition("/")
    parent_fd = dirs.get(parent)
    if parent_fd is None:
        parent_fd = _stage_dirs(dirs, parent)
    try:
        os.mkdir(name, dir_fd=parent_fd)
    except FileExistsError:
        pass
    fd = os.open(name, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW, dir_fd=parent_fd)
    dirs[rel] = fd
    return fd


def _fsync_enabled() -> bool:
    return settings.CAS_FSYNC.get()


class LocalStore(Store):
    """A root directory on the local filesystem."""

    def __init__(self, root: str):
        self.root = os.path.abspath(root)
        self.uri = "cas+file://" + self.root
        self._blobs = os.path.join(self.root, "blobs", "sha256")
        self._trees = os.path.join(self.root, "trees")
        self._tmp = os.path.join(self.root, "tmp")
        self._sizes = os.path.join(self.root, "sizes")
        # Where the root really is (it may itself be reached through a link an operator made);
        # nothing read or written through it may resolve outside.
        self._real_root = os.path.realpath(self.root)

    def __repr__(self) -> str:
        return f"LocalStore({self.root!r})"

    # -- layout --------------------------------------------------------------------------------

    def blob_path(self, sha256: str) -> str:
        """Where the blob named ``sha256`` lives (for tests and tools)."""
        return os.path.join(self._blobs, sha256[:2], sha256)

    def _tree_path(self, path: str) -> str:
        target = os.path.join(self._trees, *path.split("/")) if path else self._trees
        self._require_inside(target, path)
        return target

    # -- containment: symbolic links never lead out of the root ---------------------------------

    def _inside(self, real: str) -> bool:
        return real == self._real_root or real.startswith(self._real_root + os.sep)

    def _outside(self, what: str) -> InvalidInput:
        return InvalidInput(
            f"{OUTSIDE_ROOT}: {what!r} resolves outside the content-addressed root {self.root} "
            "through a symbolic link; refusing to read or write it"
        )

    def _require_inside(self, target: str, what: str) -> None:
        # realpath resolves every existing part and keeps the rest: a link anywhere on the way
        # that leads out shows here, before anything is created through it.
        if not self._inside(os.path.realpath(target)):
            raise self._outside(what or "trees")

    def _fd_inside(self, fd: int) -> bool:
        # What was actually opened, so a link swapped in after the path check is caught too.
        try:
            real = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return True  # no /proc: the path check before opening is what there is
        return self._inside(real)

    def _open_inside(self, target: str, what: str) -> BinaryIO:
        self._require_inside(target, what)
        try:
            fd = os.open(target, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise self._outside(what) from None
            raise
        if not self._fd_inside(fd):
            os.close(fd)
            raise self._outside(what)
        return os.fdopen(fd, "rb", buffering=0)

    def _temp(self, prefix: str) -> tuple[int, str]:
        self._require_inside(self._tmp, "tmp")
        try:
            return tempfile.mkstemp(dir=self._tmp, prefix=prefix)
        except FileNotFoundError:
            os.makedirs(self._tmp, exist_ok=True)
            return tempfile.mkstemp(dir=self._tmp, prefix=prefix)

    # -- marker ----------------------------------------------------------------------------------

    def read_marker(self) -> bytes | None:
        try:
            with open(os.path.join(self.root, MARKER_NAME), "rb") as f:
                return f.read()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def create_marker(self) -> None:
        os.makedirs(self.root, exist_ok=True)
        for sub in (self._blobs, self._trees, self._tmp):
            os.makedirs(sub, exist_ok=True)
        fd, tmp = self._temp("marker.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(marker_bytes())
            self._link(tmp, os.path.join(self.root, MARKER_NAME))
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    # -- refs ------------------------------------------------------------------------------------

    def read_ref(self, path: str) -> bytes | None:
        try:
            with self._open_inside(self._tree_path(path), path) as f:
                return f.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def read_refs(self, paths: list[str]) -> list[bytes | None]:
        return [self.read_ref(p) for p in paths]

    def write_ref(self, path: str, data: bytes) -> None:
        target = self._tree_path(path)
        self._make_parent(path)
        fd, tmp = self._temp("ref.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            self._replace_inside(tmp, target, path)
        except IsADirectoryError:
            raise InvalidInput(f"Cannot store '{path}': a directory of that name exists") from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def read_tree(self, path: str) -> list[tuple[str, bytes]]:
        # One walk over open directory handles: each level is opened relative to its parent with
        # O_NOFOLLOW, so no link is followed below the checked top and no path is resolved again
        # per file (what keeps reading a 1,000-file tree to a few milliseconds).
        base = self._tree_path(path)
        try:
            top = os.open(base, os.O_RDONLY | _O_DIRECTORY)
        except (FileNotFoundError, NotADirectoryError):
            return []
        found: list[tuple[str, bytes]] = []
        try:
            if not self._fd_inside(top):
                raise self._outside(path or "trees")
            self._read_dir(top, path, found)
        finally:
            os.close(top)
        found.sort()
        return found

    def _read_dir(self, dirfd: int, rel: str, found: list[tuple[str, bytes]]) -> None:
        with os.scandir(dirfd) as it:
            entries = list(it)
        for entry in entries:
            full = f"{rel}/{entry.name}" if rel else entry.name
            try:
                if entry.is_symlink():
                    if entry.is_dir():
                        continue  # as os.walk: a directory link is never walked into
                    raise self._outside(full)
                if entry.is_dir(follow_symlinks=False):
                    sub = os.open(entry.name, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW, dir_fd=dirfd)
                    try:
                        self._read_dir(sub, full, found)
                    finally:
                        os.close(sub)
                elif entry.is_file(follow_symlinks=False):
                    fd = os.open(entry.name, os.O_RDONLY | _O_NOFOLLOW, dir_fd=dirfd)
                    try:
                        found.append((full, _read_all(fd)))
                    finally:
                        os.close(fd)
            except FileNotFoundError:
                continue  # removed while walking
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # swapped for a link meanwhile
                    raise self._outside(full) from None
                raise

    def write_tree(self, path: str, refs: list[tuple[str, bytes]]) -> bool:
        # The tree is built in tmp/ and renamed into place in one step: a reader sees all of it
        # or nothing, and a crash leaves only a directory in tmp/ (removed by ``artifacts gc``).
        # Only the rename needs the durability of MLFLOW_CAS_FSYNC; the refs are flushed before it.
        target = self._tree_path(path)
        if os.path.isdir(target):
            return False
        self._make_parent(path)
        self._require_inside(self._tmp, "tmp")
        os.makedirs(self._tmp, exist_ok=True)
        stage = os.path.join(self._tmp, f"tree.{uuid.uuid4().hex}")
        os.mkdir(stage)
        sync = _fsync_enabled()
        try:
            top = os.open(stage, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW)
            dirs = {"": top}
            try:
                if not self._fd_inside(top):
                    raise self._outside("tmp")
                for rel, data in refs:
                    parent, _, name = rel.rpartition("/")
                    dirfd = dirs.get(parent)
                    if dirfd is None:
                        dirfd = _stage_dirs(dirs, parent)
                    fd = os.open(name, _NEW_FILE, 0o644, dir_fd=dirfd)
                    try:
                        _write_all(fd, data)
                        if sync:
                            os.fsync(fd)
                    finally:
                        os.close(fd)
                if sync:
                    for fd in dirs.values():
                        os.fsync(fd)
            finally:
                for fd in dirs.values():
                    os.close(fd)
            return self._rename_dir_inside(stage, target, path)
        finally:
            if os.path.lexists(stage):
                shutil.rmtree(stage, ignore_errors=True)

    def _rename_dir_inside(self, stage: str, target: str, what: str) -> bool:
        parent, name = os.path.split(target)
        dirfd = os.open(parent, os.O_RDONLY | _O_DIRECTORY)
        try:
            if not self._fd_inside(dirfd):
                raise self._outside(what)
            try:
                os.rename(stage, name, dst_dir_fd=dirfd)
            except OSError as exc:
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    return False  # published by someone else meanwhile
                if exc.errno == errno.ENOTDIR:
                    raise InvalidInput(
                        f"Cannot store '{what}': an artifact file of that name exists"
                    ) from None
                raise
            if _fsync_enabled():
                os.fsync(dirfd)
            return True
        finally:
            os.close(dirfd)

    def _replace_inside(self, tmp: str, target: str, what: str) -> None:
        # Rename relative to an open handle of the parent checked to be inside: a directory link
        # planted after the path check cannot redirect the write. The rename replaces a link at
        # the last part itself, never what it points to.
        parent, name = os.path.split(target)
        dirfd = os.open(parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            if not self._fd_inside(dirfd):
                raise self._outside(what)
            os.replace(tmp, name, dst_dir_fd=dirfd)
        finally:
            os.close(dirfd)

    def _make_parent(self, path: str) -> None:
        parent, _ = parent_and_name(path)
        try:
            os.makedirs(self._tree_path(parent), exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidInput(
                f"Cannot store '{path}': a part of its directory is already an artifact file"
            ) from None

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(self._tree_path(path))

    def list_dir(self, path: str) -> tuple[list[str], list[str]]:
        files, dirs = [], []
        try:
            with os.scandir(self._tree_path(path)) as it:
                for entry in it:
                    (dirs if entry.is_dir(follow_symlinks=False) else files).append(entry.name)
        except (FileNotFoundError, NotADirectoryError):
            pass
        return sorted(files), sorted(dirs)

    def walk_files(self, path: str) -> Iterator[str]:
        base = self._tree_path(path)
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            rel = os.path.relpath(dirpath, self._trees).replace(os.sep, "/")
            rel = "" if rel == "." else rel
            for name in sorted(filenames):
                yield f"{rel}/{name}" if rel else name

    def walk_empty_dirs(self, path: str) -> Iterator[str]:
        base = self._tree_path(path)
        for dirpath, dirnames, filenames in os.walk(base):
            if not dirnames and not filenames and dirpath != base:
                yield os.path.relpath(dirpath, self._trees).replace(os.sep, "/")

    def make_dirs(self, path: str) -> None:
        try:
            os.makedirs(self._tree_path(path), exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise InvalidInput(f"Cannot create directory '{path}': an artifact file is in the way")

    def delete_refs(self, path: str) -> None:
        target = self._tree_path(path)
        if os.path.isdir(target) and not os.path.islink(target):
            if path:
                shutil.rmtree(target)
            else:
                for name in os.listdir(target):
                    child = os.path.join(target, name)
                    shutil.rmtree(child) if os.path.isdir(child) else os.unlink(child)
        else:
            try:
                os.unlink(target)
            except (FileNotFoundError, NotADirectoryError):
                pass

    # -- blobs -----------------------------------------------------------------------------------

    def blob_info(self, sha256: str) -> BlobInfo | None:
        try:
            st = os.stat(self.blob_path(sha256))
        except FileNotFoundError:
            return None
        return BlobInfo(sha256, st.st_size, st.st_mtime)

    def reuse(self, digest: HashResult) -> bool:
        sha256, size = digest
        path = self.blob_path(sha256)
        try:
            os.utime(path)
        except FileNotFoundError:
            return False
        except PermissionError:
            pass  # a blob another user owns: still reusable, just not touched
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return False
        if st.st_size == size:
            return True
        # A blob of the wrong length can only be a torn write (power loss without fsync): move it
        # aside instead of trusting it, so the new upload heals the store.
        os.makedirs(self._tmp, exist_ok=True)
        aside = os.path.join(self._tmp, f"damaged.{sha256}.{time.time_ns()}")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            pass
        return False

    def _note_size(self, size: int) -> None:
        """Remember that a large blob of ``size`` bytes exists (see ``put_large_file``)."""
        try:
            os.close(os.open(self._size_hint(size), os.O_WRONLY | os.O_CREAT, 0o644))
        except FileNotFoundError:
            os.makedirs(self._sizes, exist_ok=True)
            os.close(os.open(self._size_hint(size), os.O_WRONLY | os.O_CREAT, 0o644))

    def _link(self, tmp: str, final: str) -> bool:
        """Give ``tmp``'s file the name ``final`` unless that name exists."""
        try:
            os.link(tmp, final)
            return True
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in _NO_LINK_ERRNOS:
                raise
        if os.path.exists(final):
            return False
        os.rename(tmp, final)
        return True

    def _publish(self, tmp: str, result: HashResult) -> PutResult:
        """Name the finished temporary blob ``tmp``, unless a good blob of that name exists."""
        try:
            os.chmod(tmp, _READ_ONLY)
            if _fsync_enabled():
                fd = os.open(tmp, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            final = self.blob_path(result.sha256)
            self._require_inside(final, f"blob sha256:{result.sha256}")
            os.makedirs(os.path.dirname(final), exist_ok=True)
            # A second try follows when reuse() moved a damaged blob of that name aside.
            for _ in range(2):
                if self._link(tmp, final):
                    if result.size > SMALL_FILE:
                        self._note_size(result.size)
                    return PutResult(result.sha256, result.size, created=True)
                if self.reuse(result):
                    return PutResult(result.sha256, result.size, created=False)
            raise integrity_error(f"Cannot store blob sha256:{result.sha256}: it keeps being damaged")
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def put_bytes(self, data: bytes) -> PutResult:
        digest = hash_bytes(data)
        if self.reuse(digest):
            return PutResult(digest.sha256, digest.size, created=False)
        fd, tmp = self._temp(f"blob.{digest.sha256[:12]}.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        except BaseException:
            os.unlink(tmp)
            raise
        return self._publish(tmp, digest)

    def _size_hint(self, size: int) -> str:
        return os.path.join(self._sizes, str(size))

    def put_large_file(self, local_path: str) -> PutResult:
        if os.path.exists(self._size_hint(os.stat(local_path).st_size)):
            # A blob of this length exists, so the file may be a copy: hashing it first (a read)
            # costs less than writing it again.
            digest = hash_file(local_path)
            if self.reuse(digest):
                return PutResult(digest.sha256, digest.size, created=False)
        return self._put_in_one_pass(local_path)

    def _put_in_one_pass(self, local_path: str) -> PutResult:
        """Store a local file in one pass (hash and write together)."""
        with open(local_path, "rb", buffering=0) as src:
            return self.put_stream(src)

    def put_stream(self, stream: BinaryIO) -> PutResult:
        fd, tmp = self._temp("blob.")
        try:
            with os.fdopen(fd, "wb") as out:
                written = copy_hashing(stream, out)
        except BaseException:
            os.unlink(tmp)
            raise
        return self._publish(tmp, written)

    def open_blob(self, sha256: str) -> BinaryIO:
        try:
            return self._open_inside(self.blob_path(sha256), f"blob sha256:{sha256}")
        except FileNotFoundError:
            raise integrity_error(f"Blob sha256:{sha256} is missing from {self.uri}") from None

    def iter_blobs(self) -> Iterator[BlobInfo]:
        try:
            fans = sorted(os.listdir(self._blobs))
        except FileNotFoundError:
            return
        for fan in fans:
            try:
                entries = sorted(os.scandir(os.path.join(self._blobs, fan)), key=lambda e: e.name)
            except NotADirectoryError:
                continue
            for entry in entries:
                if not is_sha256(entry.name):
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue
                yield BlobInfo(entry.name, st.st_size, st.st_mtime)

    def delete_blob(self, sha256: str, *, not_touched_after: float) -> bool:
        path = self.blob_path(sha256)
        try:
            if os.stat(path).st_mtime > not_touched_after:
                return False
            os.unlink(path)
        except FileNotFoundError:
            return False
        return True

    def iter_stale_uploads(self, before: float) -> Iterator[tuple[str, int]]:
        try:
            entries = list(os.scandir(self._tmp))
        except FileNotFoundError:
            return
        for entry in sorted(entries, key=lambda e: e.name):
            try:
                st = entry.stat()
            except FileNotFoundError:
                continue
            if st.st_mtime < before:
                yield entry.name, st.st_size

    def remove_stale_upload(self, name: str) -> None:
        leftover = os.path.join(self._tmp, os.path.basename(name))
        if os.path.isdir(leftover) and not os.path.islink(leftover):
            shutil.rmtree(leftover, ignore_errors=True)  # a tree being staged when its writer died
            return
        try:
            os.unlink(leftover)
        except FileNotFoundError:
            pass
