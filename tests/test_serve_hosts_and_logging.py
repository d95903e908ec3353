"""``clientsim serve`` on a LAN and at the open-files limit (issue 20, items 2 and 9): ``--allowed-hosts`` names
the Host/Origin values accepted besides loopback and serve prints them; at the limit, asyncio's
``socket.accept() out of system resource`` is logged once a second with a count, not thousands of times (20,466
lines in 5 s before, measured here), and serve answers again once the connections are gone."""
from __future__ import annotations

import resource
import socket
import subprocess
import time
import urllib.error
import urllib.request

from .conftest import CLI


def until(predicate, timeout_s: float) -> bool:
    """Poll ``predicate()`` until true or ``timeout_s`` seconds passed (a deadline, not a verdict sleep)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _serve(*args: str, nofile: int = 0, stderr=subprocess.PIPE) -> tuple[subprocess.Popen, str, list[str]]:
    def limit() -> None:
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    proc = subprocess.Popen([*CLI, 'serve', *args], stdout=subprocess.PIPE, stderr=stderr, text=True,
                            preexec_fn=limit)
    # the URL, the accepted hosts, the connection limits (the feed token's line, when printed, is not read)
    lines = [proc.stdout.readline().strip() for _ in range(3)]
    assert lines[0].startswith('clientsim serve: http://'), lines[0] + (proc.stderr.read() if proc.stderr else '')
    return proc, lines[0].rsplit(':', 1)[1], lines


def _status(port: str, host: str) -> int:
    request = urllib.request.Request(f'http://127.0.0.1:{port}/', headers={'Host': host})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return 0


def _stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    out, err = proc.communicate(timeout=20)
    return err or ''


def test_allowed_hosts_are_accepted_and_printed():
    proc, port, lines = _serve('--allowed-hosts', 'lan.example, 192.168.1.5')
    try:
        assert lines[1] == ('clientsim serve: accepts Host/Origin: loopback (127.0.0.0/8, localhost, ::1), '
                            'lan.example, 192.168.1.5')
        assert _status(port, f'lan.example:{port}') == 200
        assert _status(port, f'192.168.1.5:{port}') == 200
        assert _status(port, f'evil.example:{port}') == 403
    finally:
        assert 'Traceback' not in _stop(proc)
    plain, port, lines = _serve('--host', '0.0.0.0')
    try:
        assert 'other machines get 403' in lines[1] and '--allowed-hosts' in lines[1]
        assert _status(port, f'lan.example:{port}') == 403 and _status(port, f'127.0.0.1:{port}') == 200
    finally:
        _stop(plain)


def test_accept_errors_at_the_open_files_limit_are_rate_limited(tmp_path):
    err_path = tmp_path / 'serve.err'
    with open(err_path, 'w') as err:
        proc, port, _ = _serve('--max-connections', '100000', nofile=64, stderr=err)  # no cap: the limit itself
        socks = []
        try:
            for _ in range(300):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex(('127.0.0.1', int(port)))
                socks.append(s)
            # exhausted: accept() fails; wait (deadline) until a repeat count was logged, i.e. > 1 s of failures
            assert until(lambda: 'more like this' in err_path.read_text(), 20)
        finally:
            for s in socks:
                s.close()
        try:
            assert until(lambda: _status(port, f'127.0.0.1:{port}') == 200, 20)  # it serves again
        finally:
            _stop(proc)
    text = err_path.read_text()
    assert 'out of system resource' in text and len(text.splitlines()) < 100, len(text.splitlines())
    assert text.count('Traceback') <= 1
