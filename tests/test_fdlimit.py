"""The open-files limit (issue 24): raised to the hard limit at start, the windows it allows told, Errno 24
recognised. Each test runs in a child process whose soft limit was lowered first (real rlimits, real sockets)."""
from __future__ import annotations

import resource
import subprocess
import sys

import pytest

from clientsim.simulator.fdlimit import FdBudget, too_many_windows

from .conftest import ROOT

SOFT = 256


def child(code: str, soft: int = SOFT) -> str:
    """Run ``code`` in a child whose soft RLIMIT_NOFILE is ``soft``; returns its stdout (fails on a non-zero exit)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard <= soft:
        pytest.skip(f'the hard open-files limit {hard} leaves nothing to raise')

    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    proc = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          preexec_fn=lower)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_soft_limit_raised_to_hard_and_windows_told():
    out = child('import resource\n'
                'from clientsim.simulator.fdlimit import raise_open_files_limit\n'
                'b = raise_open_files_limit()\n'
                'print(b.before, b.soft == resource.getrlimit(resource.RLIMIT_NOFILE)[0] == min(b.hard, 1 << 20))\n'
                'print(b.windows(), b.message())\n')
    first, second = out.splitlines()
    assert first == f'{SOFT} True'
    windows, message = second.split(' ', 1)
    assert int(windows) > SOFT
    assert f'raised from {SOFT}' in message and f'room for about {int(windows):,}' in message


def test_errno_24_is_recognised_through_aiohttps_wrapping():
    """A child at a soft limit of 64 opens HTTP connections until one fails; the error is EMFILE, wrapped by
    aiohttp (ClientConnectorError) — is_out_of_files sees through it."""
    out = child('import asyncio, aiohttp, socket\n'
                'from clientsim.simulator.fdlimit import is_out_of_files\n'
                'async def main():\n'
                '    server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(512)\n'
                '    url = f"http://127.0.0.1:{server.getsockname()[1]}/"\n'
                '    keep = []\n'
                '    try:\n'
                '        while True:\n'
                '            keep.append(socket.create_connection(server.getsockname()))\n'
                '            keep.append(server.accept()[0])\n'
                '    except OSError as e:\n'
                '        print("plain", is_out_of_files(e))\n'
                '    async with aiohttp.ClientSession() as s:\n'
                '        for _ in range(3):\n'
                '            try:\n'
                '                await asyncio.wait_for(s.get(url), 0.5)\n'
                '            except Exception as e:\n'
                '                print("wrapped", type(e).__name__, is_out_of_files(e)); break\n'
                '    for k in keep: k.close()\n'
                '    server.close()\n'
                'asyncio.run(main())\n', soft=64)
    assert 'plain True' in out
    assert 'wrapped ClientConnectorError True' in out or 'wrapped ClientOSError True' in out, out


def test_too_many_windows_warning():
    budget = FdBudget(soft=1024, hard=1024, before=1024, open_now=0)
    assert budget.windows() == (1024 - 64) // 2
    assert too_many_windows(budget.windows(), budget) is None
    warning = too_many_windows(5000, budget)
    assert warning is not None and 'about 480 windows' in warning and 'ulimit -n' in warning
