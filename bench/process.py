"""Child processes of the benchmark (`python -m bench.child ...`), with every wait bounded."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FINISH_TIMEOUT = 60.0


class ChildError(RuntimeError):
    """A child process failed, timed out or printed no result; the message carries its stderr."""


class Child:
    """One `python -m bench.child JOB ...` process: read its READY line, then its JSON result."""

    def __init__(self, job: str, *args: str) -> None:
        self.argv = [sys.executable, "-m", "bench.child", job, *args]
        self.process: asyncio.subprocess.Process | None = None
        # Kept open for the child's lifetime and read on failure; closed with this object.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115

    async def start(self) -> None:
        """Start the process (stdin stays open: closing it is the child's signal to stop)."""
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._stderr,
        )

    async def line(self, timeout: float) -> str:
        """The next line the child prints, waiting at most `timeout` seconds."""
        assert self.process is not None and self.process.stdout is not None
        try:
            raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        except TimeoutError:
            await self._stop()
            raise ChildError(f"{self.argv[3]}: no output within {timeout:.0f} s\n{self._errors()}") from None
        if not raw:
            await self._stop()
            raise ChildError(f"{self.argv[3]}: exited without output\n{self._errors()}")
        return raw.decode().strip()

    async def finish(self, timeout: float = FINISH_TIMEOUT) -> dict[str, Any]:
        """Close stdin, wait (bounded) for the exit, and return the JSON result it printed last."""
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.close()
        try:
            out, _ = await asyncio.wait_for(self.process.communicate(), timeout)
        except TimeoutError:
            await self._stop()
            raise ChildError(
                f"{self.argv[3]}: did not exit within {timeout:.0f} s\n{self._errors()}"
            ) from None
        if self.process.returncode != 0:
            raise ChildError(f"{self.argv[3]}: exit status {self.process.returncode}\n{self._errors()}")
        lines = [line for line in out.decode().splitlines() if line.startswith("{")]
        if not lines:
            raise ChildError(f"{self.argv[3]}: printed no result\n{self._errors()}")
        return json.loads(lines[-1])

    async def _stop(self) -> None:
        # Only ever this child, by its own pid: terminate, then kill if it ignores that.
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    def _errors(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-4000:]


def run_child(job: str, *args: str, timeout: float) -> dict[str, Any]:
    """Run a child to completion (no READY line expected) and return its JSON result."""
    return run_json([sys.executable, "-m", "bench.child", job, *args], cwd=ROOT, name=job, timeout=timeout)


def run_json(argv: list[str], *, cwd: Path, name: str, timeout: float) -> dict[str, Any]:
    """Run `argv` to completion in `cwd`, `cwd` first on the import path; the last JSON line it printed."""
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise ChildError(f"{name}: did not finish within {timeout:.0f} s") from error
    if done.returncode != 0:
        raise ChildError(f"{name}: exit status {done.returncode}\n{done.stderr.decode()[-4000:]}")
    lines = [line for line in done.stdout.decode().splitlines() if line.startswith("{")]
    if not lines:
        raise ChildError(f"{name}: printed no result\n{done.stderr.decode()[-4000:]}")
    return json.loads(lines[-1])
