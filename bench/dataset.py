"""The cached data of one size: the journal directory, its journalctl captures, a manifest.

    bench/.data/1000000/
        journal/remote*.journal     systemd-journal-remote fed the simulated export stream
        capture.json                journalctl -D journal -o json --utc
        capture.short-iso           journalctl -D journal -o short-iso --utc
        capture.with-unit           journalctl -D journal -o with-unit --utc
        manifest.json               the shape, counts, sizes and how long each step took

Each piece is made under a temporary name and renamed when complete, and recorded in the
manifest; a piece the manifest records is reused, unless the shape changed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from env import BenchError, journal_remote_binary, tool
from workload import Shape, export_chunks, plan

CAPTURES = ("json", "short-iso", "with-unit")
_PROGRESS_EVERY = 1_000_000
_COUNT_CHUNK = 1 << 20
_PIPE_BYTES = 1 << 20
_CHUNK_BYTES = 1 << 18


def log(text: str) -> None:
    """Progress, on stderr so stdout stays the results."""
    print(f"bench: {text}", file=sys.stderr, flush=True)


class Dataset:
    """The cached workload of one size under `root`."""

    def __init__(self, root: Path, shape: Shape) -> None:
        self.root = root
        self.shape = shape
        self.journal = root / "journal"
        self.manifest_path = root / "manifest.json"
        self.manifest: dict[str, Any] = self._load()

    def capture(self, fmt: str) -> Path:
        """The `journalctl -o fmt` capture's path."""
        return self.root / f"capture.{fmt}"

    @property
    def entries(self) -> int:
        """Entries in the journal (as written and counted back)."""
        return int(self.manifest["entries"])

    @property
    def rounds(self) -> int:
        """Rounds the instance finalized."""
        return int(self.manifest["plan"]["rounds"])

    def _load(self) -> dict[str, Any]:
        try:
            manifest: dict[str, Any] = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError):
            return {}
        if manifest.get("shape") != self.shape.to_json():
            log(f"{self.root}: made with another shape, making it again")
            return {}
        return manifest

    def _save(self) -> None:
        tmp = self.manifest_path.with_suffix(".partial")
        tmp.write_text(json.dumps(self.manifest, indent=2) + "\n")
        tmp.replace(self.manifest_path)

    def clear(self) -> None:
        """Forget everything made for this size (`--regenerate`)."""
        if self.root.exists():
            shutil.rmtree(self.root)
        self.manifest = {}

    def ensure(self, captures: Iterable[str] = CAPTURES) -> None:
        """Make the journal and the named captures unless the cache has them."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise BenchError(f"cannot create {self.root}: {e.strerror or e}") from None
        if "journal" not in self.manifest or not self.journal.is_dir():
            self.manifest = {"shape": self.shape.to_json()}
            self._make_journal()
        for fmt in captures:
            if fmt not in self.manifest.get("captures", {}) or not self.capture(fmt).is_file():
                self._make_capture(fmt)

    def _make_journal(self) -> None:
        started = time.perf_counter()
        p = plan(self.shape)
        log(
            f"generating {self.shape.entries:,} entries ({p.rounds:,} rounds, "
            f"{p.instance_entries:,} of the instance) into {self.journal}"
        )
        partial = self.root / "journal.partial"
        if partial.exists():
            shutil.rmtree(partial)
        partial.mkdir()
        written = feed_journal_remote(export_chunks(p, _CHUNK_BYTES), partial / "remote.journal")
        elapsed = time.perf_counter() - started
        log(f"journal written in {elapsed:.1f} s ({written / elapsed:,.0f} entries/s); counting")
        counted = count_entries(partial)
        if counted != written:
            raise BenchError(
                f"the journal holds {counted:,} entries but {written:,} were written "
                f"(see {partial})"
            )
        if self.journal.exists():
            shutil.rmtree(self.journal)
        partial.rename(self.journal)
        self.manifest.update(
            {
                "entries": written,
                "plan": p.to_json(),
                "journal": {
                    "seconds": round(time.perf_counter() - started, 1),
                    "bytes": sum(f.stat().st_size for f in self.journal.iterdir()),
                    "files": len(list(self.journal.iterdir())),
                },
                "captures": {},
            }
        )
        self._save()

    def _make_capture(self, fmt: str) -> None:
        started = time.perf_counter()
        target = self.capture(fmt)
        partial = target.with_name(target.name + ".partial")
        log(f"capturing journalctl -o {fmt} into {target}")
        argv = [tool("journalctl"), f"--directory={self.journal}", f"--output={fmt}"]
        with partial.open("wb") as out:
            done = subprocess.run(
                [*argv, "--no-pager", "--utc"], stdout=out, stderr=subprocess.PIPE, check=False
            )
        if done.returncode != 0:
            reason = done.stderr.decode(errors="replace").strip().splitlines()
            raise BenchError(f"journalctl -o {fmt} failed: {reason[-1] if reason else '?'}")
        partial.rename(target)
        elapsed = time.perf_counter() - started
        self.manifest.setdefault("captures", {})[fmt] = {
            "seconds": round(elapsed, 1),
            "bytes": target.stat().st_size,
            "lines": count_lines(target),
        }
        self._save()
        log(f"capture -o {fmt} made in {elapsed:.1f} s")


def feed_journal_remote(chunks: Iterable[tuple[int, bytes]], output: Path) -> int:
    """Pipe export text (chunks of it, each with its number of entries) into
    systemd-journal-remote; returns entries written."""
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            [journal_remote_binary(), f"--output={output}", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        assert proc.stdin is not None
        _widen(proc.stdin)
        written = 0
        next_report = _PROGRESS_EVERY
        started = time.perf_counter()
        try:
            for count, chunk in chunks:
                proc.stdin.write(chunk)
                written += count
                if written >= next_report:
                    rate = written / (time.perf_counter() - started)
                    log(f"  {written:,} entries ({rate:,.0f}/s)")
                    next_report += _PROGRESS_EVERY
            proc.stdin.close()
        except BrokenPipeError:
            pass  # journal-remote died: its exit status and message say why
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        code = proc.wait()
        if code != 0:
            raise BenchError(f"systemd-journal-remote failed (exit {code}): {_tail(errors)}")
    return written


def _widen(pipe: IO[bytes]) -> None:
    """A pipe of 64 KiB holds 2 ms of journal-remote's work: while Python renders the next
    chunk it would sit idle. A wider pipe lets the two cores work at once."""
    with contextlib.suppress(OSError):
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


def _tail(stream: IO[bytes]) -> str:
    stream.seek(0)
    lines = stream.read().decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no message"


def count_entries(journal: Path) -> int:
    """Entries in a journal directory, by `journalctl -o cat` lines (our messages are
    one line each)."""
    argv = [tool("journalctl"), f"--directory={journal}", "--output=cat", "--no-pager"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    count = _count_newlines(proc.stdout)
    if proc.wait() != 0:
        raise BenchError(f"journalctl cannot read {journal}")
    return count


def count_lines(path: Path) -> int:
    """Newlines in a file."""
    with path.open("rb") as f:
        return _count_newlines(f)


def _count_newlines(stream: IO[bytes]) -> int:
    count = 0
    while chunk := stream.read(_COUNT_CHUNK):
        count += chunk.count(b"\n")
    return count


def warm_cache(paths: Iterable[Path]) -> None:
    """Read files once so every timed reader finds them in the page cache alike."""
    for path in paths:
        files = sorted(path.iterdir()) if path.is_dir() else [path]
        for f in files:
            fd = os.open(f, os.O_RDONLY)
            try:
                while os.read(fd, 1 << 22):
                    pass
            finally:
                os.close(fd)
