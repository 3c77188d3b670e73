"""Pipes and process states for the real-process tests: a full pipe nobody reads, the
kernel's view of a process (/proc/PID/wchan, /proc/PID/status) and its exit.

There is no event to wait for when a process blocks writing to a full pipe, or runs a
signal handler: these poll the kernel's view, bounded. Linux only (/proc, pipe sizes).
"""

from __future__ import annotations

import fcntl
import os
import select
import signal
import time

import pytest


def wait_exit(proc, timeout: float = 10.0) -> float:
    """Block until the process exits; return time.monotonic() at that moment. A pidfd
    wakes at the exit itself (Popen.wait with a timeout polls every 50 ms)."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        proc.wait(timeout)
        return time.monotonic()
    try:
        ready, _, _ = select.select([fd], [], [], timeout)
        now = time.monotonic()
    finally:
        os.close(fd)
    assert ready, f"the process did not exit within {timeout} s"
    proc.wait(5)
    return now


def full_pipe() -> tuple[int, int, int]:
    """A pipe (read end, write end, bytes in it) already full: the next write blocks."""
    r, w = os.pipe()
    fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
    os.set_blocking(w, False)
    filled = 0
    try:
        while True:
            filled += os.write(w, b"p" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(w, True)
    return r, w, filled


def _proc_file(pid: int, name: str) -> str:
    with open(f"/proc/{pid}/{name}") as f:
        return f.read()


def _wait_in_kernel(pid: int, function: str, timeout: float, never: str) -> None:
    """Until the process waits in the kernel function `function` (/proc/PID/wchan);
    AssertionError `never` when it does not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    seen = set()
    while time.monotonic() < deadline:
        wchan = _proc_file(pid, "wchan")
        if function in wchan:
            return
        seen.add(wchan)
        time.sleep(0.005)
    if seen <= {"0", ""}:
        pytest.skip("/proc/PID/wchan is not informative on this kernel")
    raise AssertionError(f"{never} (wchan: {sorted(seen)})")


def wait_blocked_in_pipe_write(pid: int, timeout: float = 10.0) -> None:
    _wait_in_kernel(pid, "pipe_write", timeout, "streamcli never blocked writing stdout")


def wait_sigint_handled(pid: int, timeout: float = 5.0) -> None:
    """streamcli's handler puts SIGINT back to SIG_DFL when it runs: the kernel then no
    longer lists SIGINT among the caught signals (SigCgt)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _proc_file(pid, "status")
        caught = int(status.split("SigCgt:")[1].split()[0], 16)
        if not caught & (1 << (signal.SIGINT - 1)):
            return
        time.sleep(0.005)
    raise AssertionError("the SIGINT handler did not run")


def drain(fd: int, timeout: float = 10.0) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while True:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"stdout not closed within {timeout} s: {buf[-200:]!r}"
        data = os.read(fd, 65536)
        if not data:
            return buf
        buf += data


def signals_blocked(pid: int) -> int:
    """The mask of signals the process holds back (SigBlk), 0 if it is gone."""
    try:
        status = _proc_file(pid, "status")
    except OSError:
        return 0
    return int(status.split("SigBlk:")[1].split()[0], 16)


def drain_pty(fd: int, timeout: float = 10.0) -> bytes:
    """Everything written to a pty whose other end has closed (then reads fail with EIO
    instead of returning b""); the fd is closed."""
    buf = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"the pty was not closed within {timeout} s: {buf[-200:]!r}"
            data = os.read(fd, 65536)
            if not data:
                break
            buf += data
    except OSError:  # EIO: the writer is gone
        pass
    finally:
        os.close(fd)
    return buf


def wait_sleeping(pid: int, timeout: float = 10.0) -> None:
    """Until the process sleeps in a timed wait (nanosleep: time.sleep, SQLite's busy
    handler), as one waiting for another process's lock does."""
    _wait_in_kernel(pid, "nanosleep", timeout, "the process never slept in a timed wait")


def wait_for_lines(path, n: int, proc, timeout: float = 10.0) -> None:
    """Until the file `path` holds n whole lines, while `proc` (a CliProcess) runs: a file
    being written is the only thing to watch."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_bytes().count(b"\n") >= n):
        assert proc.poll() is None, "streamcli ended early"
        assert time.monotonic() < deadline, f"fewer than {n} lines in {path}"
        time.sleep(0.01)
