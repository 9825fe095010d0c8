"""LtProc: one long-lived Apertium `lt-proc` over a compiled morphological dictionary.

Both users read Catalan (or Spanish) words through the dictionaries of the Debian package
apertium-spa-cat: the language check of the ask path (assistant/ask/language.py) and the
Catalan lemmas of the analyzer (index_config/lemmas.py). In null-flush mode (`-z`) the
program answers each request ended by a NUL at once, so one process serves a whole run in
about a millisecond per request instead of 20 ms to start a program each time; and one
process per dictionary serves every user in the process (`shared_lt_proc`).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import threading
import time
import weakref
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path


class ApertiumError(RuntimeError):
    """An Apertium program failed or did not answer in time (operators' logs)."""


def translate(text: str, pair: str, timeout: float) -> str:
    """`text` through a translation pair's whole pipeline (`apertium -u spa-cat`, or
    cat-spa), one program run per text: the pipeline is several programs and keeps no
    state between texts. Raises ApertiumError when it fails or says nothing."""
    try:
        done = subprocess.run(
            ["apertium", "-u", pair], input=text, capture_output=True, text=True, timeout=timeout
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ApertiumError(str(exc)) from exc
    translated = done.stdout.strip()
    if done.returncode != 0 or not translated:
        raise ApertiumError(f"apertium {pair} exited {done.returncode}: {done.stderr[:200]}")
    return translated


def missing(binaries: Iterable[Path], programs: Iterable[str] = ("lt-proc",)) -> list[str]:
    """What of these is not installed: dictionary files, then programs."""
    return [str(p) for p in binaries if not p.is_file()] + [
        cmd for cmd in programs if shutil.which(cmd) is None
    ]


class LtProc:
    """Thread-safe; restarted if it dies; ended on close() or when dropped."""

    def __init__(self, binary: Path, timeout: float) -> None:
        self.binary = binary
        self.timeout = timeout
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    def analyse(self, text: str) -> str:
        """The dictionary's analysis of `text` in Apertium's stream format: each word as
        ^surface/lemma<tags>/...$, an unknown one as ^surface/*surface$."""
        request = (text.replace("\0", " ") + "\0").encode("utf-8")
        with self._lock:
            for attempt in range(2):
                try:
                    return self._exchange(request)
                except (OSError, ApertiumError) as exc:
                    self._stop()
                    if attempt:
                        raise ApertiumError(f"lt-proc {self.binary.name}: {exc}") from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _exchange(self, request: bytes) -> str:
        process = self._process
        if process is None or process.poll() is not None:
            process = self._process = subprocess.Popen(
                ["lt-proc", "-z", "-w", str(self.binary)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            # A reader dropped without close() must not leave the program running.
            weakref.finalize(self, _end, process)
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(request)
        process.stdin.flush()
        out = b""
        deadline = time.monotonic() + self.timeout
        while not out.endswith(b"\0"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([process.stdout], [], [], left)[0]:
                raise ApertiumError("no answer in time")
            # The descriptor, not the buffered reader: select() sees only what is unread.
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                raise ApertiumError("the process ended")
            out += chunk
        return out[:-1].decode("utf-8", errors="replace")

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            _end(process)


def _end(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()


@lru_cache(maxsize=8)
def shared_lt_proc(binary: Path, timeout: float = 10.0) -> LtProc:
    """One lt-proc per dictionary for the whole process: the language check and the lemmas
    both read the Catalan one. A user's close() ends it; the next request starts it again."""
    return LtProc(binary, timeout)
