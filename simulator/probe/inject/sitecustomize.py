"""clientsim's server-side probe, injected into a ``target:`` app as ``sitecustomize`` (stdlib only).

clientsim puts this file's folder first on the app's ``PYTHONPATH`` and sets ``CLIENTSIM_PROBE=127.0.0.1:PORT``.
At interpreter start (``site`` imports ``sitecustomize``) it

1. runs the ``sitecustomize`` it shadows, if there is one (the next one on ``sys.path``);
2. connects to clientsim over TCP on 127.0.0.1 and sends ``probe_hello`` (pid, clock);
3. hooks NiceGUI as it is imported (2.x and 3.x; whatever of these exists): the socket.io handlers
   ``connect``/``handshake``/``disconnect``/``event`` of ``nicegui.core.sio``, ``Client.__init__``/
   ``handle_handshake``/``handle_disconnect``/``delete``/``download``, and every exception a logger records
   (NiceGUI, python-socketio, python-engineio, uvicorn, asyncio) with its traceback;
4. sends lines of the app's stdout/stderr that start with a marker (``CLIENTSIM_PROBE_MARKERS``, default
   ``FINALIZED``) as ``model_finalized`` events;
5. answers ``{"op": "gc", "id": N}`` with ``gc.collect()`` in the app and ``{"reply": N, "collected": K}``.

Every event is one JSON line ``{"t_ns", "kind", "sid", "client_id", "window", ...detail}`` stamped with
``time.perf_counter_ns()``: CLOCK_MONOTONIC on Linux, mach_absolute_time/CLOCK_UPTIME_RAW on macOS and
QueryPerformanceCounter on Windows, each system-wide, so the app's stamps and clientsim's share one clock.
Nothing here may break the app: every hook is wrapped, and a probe that cannot connect does nothing.
"""
import functools
import gc
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import json
import logging
import os
import socket
import sys
import threading
import time
import traceback
import urllib.parse

_HERE = os.path.dirname(os.path.abspath(__file__))
_WINDOW_QUERY = 'clientsim_window'  # server/wire.py WINDOW_QUERY (this file cannot import clientsim)
_HOOKED_MODULES = ('nicegui.client', 'nicegui.nicegui')


def _chain_shadowed_sitecustomize():
    """Run the ``sitecustomize`` this file shadows (found on ``sys.path`` without this folder), if any."""
    me = sys.modules.get('sitecustomize')
    try:
        path = [p for p in sys.path if os.path.abspath(p or '.') != _HERE]
        spec = importlib.machinery.PathFinder.find_spec('sitecustomize', path)
        if spec is None or spec.loader is None:
            return
        module = importlib.util.module_from_spec(spec)
        sys.modules['sitecustomize'] = module
        spec.loader.exec_module(module)
    except Exception:
        traceback.print_exc()
    finally:
        if me is not None:
            sys.modules['sitecustomize'] = me


class _Probe:
    """The connection to clientsim: ``send(kind, **fields)`` from any thread; a thread answers requests."""

    def __init__(self, address):
        host, port = address.rsplit(':', 1)
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.sock.settimeout(None)
        self.sock.sendall((os.environ.get('CLIENTSIM_PROBE_TOKEN', '') + '\n').encode())  # the per-run secret first
        self.lock = threading.Lock()
        self.windows = {}  # sid -> window name (from the socket's connect query)
        self.clients = {}  # sid -> client_id
        self.hooks = []
        self.send('probe_hello', pid=os.getpid(), clock='perf_counter_ns', python=sys.version.split()[0])
        threading.Thread(target=self._serve, name='clientsim-probe', daemon=True).start()

    def send(self, kind, sid=None, client_id=None, t_ns=None, **detail):
        """Send one event line; a broken connection is dropped silently (the app goes on)."""
        window = self.windows.get(sid) if sid else None
        client_id = client_id or (self.clients.get(sid) if sid else None)
        line = json.dumps({'t_ns': t_ns or time.perf_counter_ns(), 'kind': kind, 'sid': sid,
                           'client_id': client_id, 'window': window, **detail}, default=str) + '\n'
        try:
            with self.lock:
                self.sock.sendall(line.encode())
        except OSError:
            pass

    def _serve(self):
        reader = self.sock.makefile('r', encoding='utf-8')
        for line in reader:
            try:
                request = json.loads(line)
                if request.get('op') == 'gc':
                    collected = gc.collect()
                    sys.stdout.flush()
                    self.send('gc_done', reply=request.get('id'), collected=collected)
            except Exception as e:  # a bad request must not kill the thread
                self.send('probe_error', error=repr(e))


_probe = None


def _exception_chain(exc):
    chain, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        chain.append(type(exc).__name__)
        exc = exc.__cause__ or exc.__context__
    return list(reversed(chain))


def _hook_logging():
    original = logging.Logger.handle

    def handle(self, record):
        try:
            exc = record.exc_info[1] if record.exc_info else None
            if exc is not None and not getattr(record, '_clientsim_sent', False):
                record._clientsim_sent = True
                _probe.send('server_error', type=type(exc).__name__, message=str(exc)[:500],
                            where=f'{record.name}: {record.getMessage()[:200]}', chain=_exception_chain(exc),
                            traceback=''.join(traceback.format_exception(*record.exc_info))[-6000:])
        except Exception:
            pass
        return original(self, record)
    logging.Logger.handle = handle
    _probe.hooks.append('logging')


class _MarkerTee:
    """Wraps sys.stdout/sys.stderr: lines starting with a marker become ``model_finalized`` events."""

    def __init__(self, stream, markers):
        self._stream, self._markers, self._partial = stream, markers, ''

    def write(self, text):
        try:
            self._partial += text
            if '\n' in self._partial:
                *lines, self._partial = self._partial.split('\n')
                for line in lines:
                    if line.startswith(self._markers):
                        _probe.send('model_finalized', line=line[:200])
        except Exception:
            pass
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _query_of(environ):
    query = environ.get('QUERY_STRING') if isinstance(environ, dict) else None
    if query is None and isinstance(environ, dict):
        raw = environ.get('asgi.scope', {}).get('query_string', b'')
        query = raw.decode() if isinstance(raw, (bytes, bytearray)) else str(raw)
    return urllib.parse.parse_qs(query or '')


def _socket_id(value):
    """``value`` when it is a socket.io sid (a str), else None (an older NiceGUI passed something else there)."""
    return value if isinstance(value, str) else None


def _learn_socket(sid, environ=None):
    """Remember the window name and client_id of socket ``sid`` from its connect query."""
    try:
        if environ is None:
            from nicegui import core
            environ = core.sio.get_environ(sid)
        query = _query_of(environ)
        # clientsim windows name themselves in the X-Clientsim-Window header (older ones: the query parameter)
        _probe.windows[sid] = environ.get('HTTP_X_CLIENTSIM_WINDOW') or query.get(_WINDOW_QUERY, [None])[0]
        if query.get('client_id'):
            _probe.clients[sid] = query['client_id'][0]
    except Exception:
        pass


def _wrap_handler(event, func):
    """Wrap one socket.io handler, keeping it sync or async (python-socketio awaits coroutine functions) and its
    signature (python-socketio retries ``disconnect(sid, reason)`` as ``disconnect(sid)`` on a TypeError)."""
    signature = inspect.signature(func)

    def before(args):
        signature.bind(*args)  # raises TypeError like the original would, before anything is recorded
        sid = args[0] if args else None
        if isinstance(sid, str) and sid not in _probe.windows:
            _learn_socket(sid, args[1] if event == 'connect' and len(args) > 1 else None)
        if event == 'handshake' and len(args) > 1 and isinstance(args[1], dict):
            _probe.clients[sid] = args[1].get('client_id')
        if event == 'disconnect':
            _probe.send('disconnect_server', sid=sid, reason=str(args[1]) if len(args) > 1 else None)
        return sid

    def after(sid, args, result):
        if event == 'connect':
            _probe.send('socket_connected_server', sid=sid, accepted=result is not False)
        elif event == 'handshake':
            _probe.send('handshake_handled', sid=sid, ok=bool(result))
        elif event == 'event' and len(args) > 1 and isinstance(args[1], dict):
            _probe.send('event_handled', sid=sid, client_id=args[1].get('client_id'), element=args[1].get('id'))

    if inspect.iscoroutinefunction(func):
        @functools.wraps(func)
        async def async_wrapper(*args):
            sid = before(args)
            result = await func(*args)
            after(sid, args, result)
            return result
        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args):
        sid = before(args)
        result = func(*args)
        after(sid, args, result)
        return result
    return wrapper


def _hook_sio():
    from nicegui import core
    handlers = core.sio.handlers.get('/', {})
    for event in ('connect', 'handshake', 'disconnect', 'event'):
        if event in handlers:
            handlers[event] = _wrap_handler(event, handlers[event])
            _probe.hooks.append(f'sio.{event}')


def _called_from(name):
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_name == name:
            return True
        frame = frame.f_back
    return False


def _hook_client(module):
    Client = module.Client

    def wrap(name, record):
        func = getattr(Client, name, None)
        if func is None:
            return

        @functools.wraps(func)
        def wrapper(self, *args, **kwargs):
            try:
                record(self, args, 'before')
            except Exception:
                pass
            result = func(self, *args, **kwargs)
            try:
                record(self, args, 'after')
            except Exception:
                pass
            return result
        setattr(Client, name, wrapper)
        _probe.hooks.append(f'Client.{name}')

    def created(client, args, when):
        if when == 'after':
            page = getattr(client, 'page', None)
            _probe.send('client_created', client_id=client.id, shared=bool(getattr(client, 'shared', False)),
                        page=getattr(page, 'path', None))

    def handshake(client, args, when):
        if when == 'after':
            try:  # 2.x (socket_id, document_id, ...); 3.x (socket_id, tab_id, old_tab_id, document_id, ...)
                arguments = handshake_signature.bind_partial(client, *args).arguments
            except TypeError:
                arguments = {}
            # <= 2.10 has no socket_id argument (its first one is next_message_id, an int): no sid then
            _probe.send('client_handshake', sid=_socket_id(arguments.get('socket_id')), client_id=client.id,
                        document_id=arguments.get('document_id'))

    def disconnect(client, args, when):
        if when == 'before':
            _probe.send('client_disconnect', sid=_socket_id(args[0] if args else None), client_id=client.id)

    def delete(client, args, when):
        if when == 'before' and _called_from('prune_instances'):
            _probe.send('prune', client_id=client.id, deleted=1)
        if when == 'after':
            _probe.send('client_deleted', client_id=client.id, shared=bool(getattr(client, 'shared', False)))

    def download(client, args, when):
        if when == 'after':
            _probe.send('download_emitted', client_id=client.id, url=str(args[0])[:300] if args else None)

    handshake_signature = inspect.signature(Client.handle_handshake)
    if os.environ.get('CLIENTSIM_PROBE_PATCH') == 'handshake_socket_check':
        _patch_handshake_socket_check(Client)
    wrap('__init__', created)
    wrap('handle_handshake', handshake)
    wrap('handle_disconnect', disconnect)
    wrap('delete', delete)
    wrap('download', download)


def _socket_alive(sid):
    """Whether engine.io still holds the socket of socket.io ``sid``."""
    from nicegui import core
    eio_sid = core.sio.manager.eio_sid_from_sid(sid, '/')
    eio_socket = core.sio.eio.sockets.get(eio_sid) if eio_sid else None
    return eio_socket is not None and not eio_socket.closed and not eio_socket.closing


def _patch_handshake_socket_check(Client):
    """The problem 6 fix, injected (``CLIENTSIM_PROBE_PATCH=handshake_socket_check``): when the socket is gone
    after ``handle_handshake``'s awaits (engine.io ended it while the connect handler waited for tab storage; its
    disconnect was dropped by python-socketio), the handshake is dropped again (``handle_disconnect``), so the
    client does not keep a connection nobody will count down."""
    original = Client.handle_handshake
    if not inspect.iscoroutinefunction(original):
        return

    @functools.wraps(original)
    async def handle_handshake(self, socket_id, *args, **kwargs):
        result = await original(self, socket_id, *args, **kwargs)
        if not _socket_alive(socket_id) and socket_id in getattr(self, '_socket_to_document_id', {}):
            _probe.send('handshake_dropped', sid=socket_id, client_id=self.id, reason='socket gone')
            self.handle_disconnect(socket_id)
        return result
    Client.handle_handshake = handle_handshake
    _probe.hooks.append('patch:handshake_socket_check')


class _Finder(importlib.abc.MetaPathFinder):
    """Finds NiceGUI's modules through the other finders and hooks them right after they executed."""

    def find_spec(self, name, path, target=None):
        if name not in _HOOKED_MODULES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, 'exec_module'):
                loader = spec.loader
                original = loader.exec_module

                def exec_module(module, _original=original, _name=name):
                    _original(module)
                    try:
                        if _name == 'nicegui.client':
                            _hook_client(module)
                        else:
                            _hook_sio()
                            from importlib.metadata import version
                            _probe.send('probe_hooked', hooks=list(_probe.hooks), nicegui=version('nicegui'))
                    except Exception as e:
                        _probe.send('probe_error', error=f'hooking {_name}: {e!r}')
                loader.exec_module = exec_module
                return spec
        return None


def _install():
    global _probe
    address = os.environ.get('CLIENTSIM_PROBE')
    if not address:
        return
    os.environ.pop('CLIENTSIM_PROBE', None)  # the app's own subprocesses are not probed
    try:
        _probe = _Probe(address)
    except OSError as e:
        sys.stderr.write(f'clientsim probe: cannot connect to {address}: {e}\n')
        return
    try:
        _hook_logging()
        markers = tuple(m for m in os.environ.get('CLIENTSIM_PROBE_MARKERS', 'FINALIZED').split(',') if m)
        if markers:
            sys.stdout = _MarkerTee(sys.stdout, markers)
            sys.stderr = _MarkerTee(sys.stderr, markers)
        sys.meta_path.insert(0, _Finder())
    except Exception as e:
        _probe.send('probe_error', error=f'install: {e!r}')


_chain_shadowed_sitecustomize()
_install()
