"""ServerPolicy: every bug/fix switch and timing knob of the embedded server, one documented field each.

Defaults are the behaviour that shipped (NiceGUI 2.11.0), except the prune timings, which default to
NiceGUI's 10 s / 60 s as well. Scenario files, the GUI's policy panel and tests all set these same fields.
No single NiceGUI file is modelled here: each switch is one behaviour of NiceGUI 2.11.0 ``client.py``,
``nicegui.py``, ``binding.py`` or ``app/app.py`` (or python-engineio's ping timings) and the fix that changed
it; ``_REFERENCES`` names the issue or PR of each.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .removal import DEFAULT_BUSY_SHARE, DEFAULT_MATCH_MS, DEFAULT_WAKE_MS


class PolicySwitch(BaseModel):
    """GUI metadata of one policy field: a one-line description and the real issue/PR it comes from."""
    description: str
    reference: str


class ServerPolicy(BaseModel):
    """Behaviour switches of :class:`clientsim.server.app.EmbeddedServer`.

    Times are in **seconds** (``*_s``). Unknown fields are rejected (``pydantic.ValidationError``), so a typo in
    a scenario file is an error, not a silently ignored switch. The policy may be changed while the server
    runs (``server.policy = ...`` or ``server.set_policy(field=value)``); every handler reads it at call time.
    """
    model_config = ConfigDict(extra='forbid', validate_assignment=True)

    download_target: Literal['room', 'sender'] = Field(
        'room', description="room: NiceGUI 2.11.0 emits `download` to every socket in the client's room "
                            "(every window on the auto-index page); sender: only the socket whose event "
                            'triggered the download.')
    single_use_grace_s: float = Field(
        0.0, ge=0.0, le=3600.0,
        description='0: the first GET removes the single-use route (2.11.0); >0: the route stays this many '
                    'seconds after its first use (the idea of NiceGUI PR #4219).')
    single_use_removal: Literal['thread_pool', 'next_tick'] = Field(
        'thread_pool',
        description='when the first GET removes a single-use route. thread_pool: as NiceGUI 2.11.0, whose sync '
                    'route handler runs on a thread pool, the route goes when a pool thread wakes up, a seeded '
                    'draw (server.removal.RemovalModel: removal_wake_ms, removal_busy_share, route_match_ms); '
                    'next_tick: one loop tick later, so tied GETs always all get 200.')
    removal_wake_ms: float = Field(
        DEFAULT_WAKE_MS, ge=0.0, le=10000.0,
        description='thread_pool removal: mean wake-up time (ms, exponential) of the pool thread that removes a '
                    'single-use route after its first GET; GETs matched before it get 200 too. Larger = busier '
                    'server (clientsim explore --vary removal_wake_ms=0..20).')
    removal_busy_share: float = Field(
        DEFAULT_BUSY_SHARE, ge=0.0, le=1.0,
        description='thread_pool removal: share of removals that wait for a busy pool (wake-up uniform in 5-80 '
                    'ms, measured on NiceGUI 2.11.0: a GET 5-80 ms after the first was sometimes served).')
    route_match_ms: float = Field(
        DEFAULT_MATCH_MS, ge=0.0, le=1000.0,
        description='thread_pool removal: ms between matching two GETs sent at the same instant (the k-th of a '
                    'tie gets 200 when k * route_match_ms < wake-up).')
    single_use_unfetched_s: float = Field(
        0.0, ge=0.0, le=86400.0,
        description='seconds a single-use route that nobody fetched stays registered; 0 (default): forever, as '
                    'NiceGUI 2.11.0 and 3.18.0 (measured: the route outlives its deleted client and prune; '
                    'app/app.py add_static_file(single_use=True) removes a route only in its first GET); >0: the '
                    'clientsim hardening, dropped after this many seconds.')
    single_use_removed_with_client: bool = Field(
        False, description='false: a never-fetched single-use route outlives its client (NiceGUI 2.11.0, measured: '
                           'still 200 after the client was deleted and pruned); true: it is removed when its client '
                           'is deleted (NiceGUI 3.18.0 ui.download.file registers client.on_delete(remove_route), '
                           'measured: 404 after the delete).')
    download_binding: Literal['none', 'session'] = Field(
        'none', description='none: anyone holding a single-use URL may fetch it once (NiceGUI 2.11.0); session: '
                            'the route is bound to the browser session of the socket whose event registered it, '
                            'a GET from another session gets 403 and the route stays for its owner.')
    disconnect_guard: bool = Field(
        False, description='false: a socket that disconnects before its handshake raises KeyError in '
                           'handle_disconnect (2.11.0, #4304); true: return early (the 2.11.1 fix).')
    reconnect_timeout_s: float = Field(
        3.0, ge=0.0, le=3600.0,
        description='seconds a private client waits for a reconnect after its last socket left before it is '
                    'deleted (NiceGUI reconnect_timeout, default 3 s).')
    prune_interval_s: float = Field(
        10.0, gt=0.0, le=3600.0, description='seconds between two prune runs (NiceGUI: 10 s).')
    prune_age_s: float = Field(
        60.0, ge=0.0, le=86400.0,
        description='prune deletes clients without a socket connection older than this (NiceGUI: 60 s).')
    prune_skips_pending_delete: bool = Field(
        False, description='false: prune may delete a client that waits for a reconnect, its delayed delete then '
                           'raises KeyError (NiceGUI 2.23.1); true: prune skips clients with a pending delete '
                           '(the fix of PR #5422).')
    idempotent_delete: bool = Field(
        False, description='false: delete does `del instances[client_id]` (KeyError on a second delete); '
                           'true: `instances.pop(client_id, None)` (NiceGUI PR #5128).')
    client_lookup_on_disconnect: Literal['environ', 'session'] = Field(
        'environ', description="environ: disconnect parses client_id from sio.get_environ(sid) (2.11.0; fails "
                               "when environ is None); session: the client_id saved in the socket's session at "
                               'connect.')
    environ_none_for: list[str] = Field(
        default_factory=list,
        description='fault injection: window names whose sio.get_environ(sid) returns None on the server '
                    '(as seen in #5090, #5119).')
    ping_interval_s: float = Field(
        25.0, gt=0.0, le=3600.0,
        description='engine.io ping interval in seconds (python-socketio default 25 s, used by NiceGUI); '
                    'a silent (dropped) socket is noticed after ping_interval_s + ping_timeout_s '
                    '(keep ping_timeout_s >= 0.2 s: tighter, healthy sockets time out on a busy machine).')
    ping_timeout_s: float = Field(
        20.0, gt=0.0, le=3600.0,
        description='engine.io ping timeout in seconds (python-socketio default 20 s, used by NiceGUI).')
    implicit_handshake: bool = Field(
        False, description='false: the socket sends a handshake event after it connected (NiceGUI 2.11.0); true: '
                           'the connect is the handshake (NiceGUI 3.7+ _on_connect; pages announce 3.18.0 and '
                           'implicit_handshake, the window sends client_id, document_id and tab_id in the connect '
                           'query, an unknown client_id is refused with "Implicit handshake failed").')
    dependency_stall_s: float = Field(
        0.0, ge=0.0, le=3600.0,
        description='seconds the connect handler awaits a dependency before the (implicit) handshake, as NiceGUI '
                    '3.x awaits app.storage._create_tab_storage (Redis with NICEGUI_REDIS_URL); 0: no await. '
                    'While it runs the socket reader is blocked, so past ping_interval_s + ping_timeout_s '
                    "engine.io's ping timeout ends the socket (problem 6).")
    handshake_socket_check: bool = Field(
        False, description='false: after the awaits of the connect handler the implicit handshake is counted even '
                           'when the socket ended meanwhile, so the client keeps a connection nobody will ever '
                           'disconnect and is never deleted or pruned (NiceGUI 3.7-3.18 with a dependency stall, '
                           'problem 6); true: the handshake of a socket that is gone is dropped (the fix).')
    bindable_registry: Literal['strong', 'weak', 'keys'] = Field(
        'strong', description='strong: bindable_properties[(id(owner), name)] = owner keeps every model alive '
                              '(2.11.0, #4109); weak: no strong reference to owners - the fix, released in '
                              '2.11.1 (PR #4122 stores weakref.finalize objects; PR #4619 in 2.15.0 swapped them '
                              'for a WeakValueDictionary); keys: a set of keys only, modelling PR #4332, which was '
                              'closed unmerged.')
    job_chunks: int = Field(
        10, ge=1, le=10000, description='number of chunks of a /convert job (each chunk is one unit of work).')
    job_chunk_s: float = Field(
        0.1, ge=0.0, le=3600.0, description='seconds of work per chunk of a /convert job.')
    job_on_disconnect: Literal['continue', 'cancel'] = Field(
        'continue', description='continue: the job keeps running when its page disconnects (ebook2audiobook '
                                '#207); cancel: the job is cancelled when the page unloads (later '
                                'ebook2audiobook).')
    job_reattach: bool = Field(
        False, description='false: a reopened page knows nothing of the running job (Gradio: new session per '
                           'load); true: a page with the same tab_id (job id in tab storage) or choosing the '
                           'same file re-attaches and shows live progress at once.')

    def switches(self) -> dict[str, PolicySwitch]:
        """Per field: description and reference, for the GUI policy panel."""
        return {name: PolicySwitch(description=f.description or '', reference=_REFERENCES.get(name, ''))
                for name, f in type(self).model_fields.items()}


#: Timing knobs (not bug/fix switches): scenarios shorten them so the library plays fast.
TIMING_FIELDS = frozenset({'removal_wake_ms', 'removal_busy_share', 'route_match_ms',
                           'single_use_unfetched_s', 'reconnect_timeout_s', 'prune_interval_s', 'prune_age_s',
                           'ping_interval_s', 'ping_timeout_s', 'job_chunks', 'job_chunk_s', 'dependency_stall_s'})

_REFERENCES = {
    'download_target': 'nicegui #4016, #3240',
    'single_use_grace_s': 'nicegui PR #4219',
    'single_use_removal': 'nicegui 2.11.0 app/app.py add_static_file (measured ties: 28/51 all 200)',
    'removal_wake_ms': 'calibrated on nicegui 2.11.0 (benchmarks/calibrate_removal.py)',
    'removal_busy_share': 'calibrated on nicegui 2.11.0 (benchmarks/calibrate_removal.py)',
    'route_match_ms': 'calibrated on nicegui 2.11.0 (benchmarks/calibrate_removal.py)',
    'single_use_unfetched_s': 'clientsim hardening (NiceGUI 2.11.0 app/app.py: never-fetched routes never expire)',
    'single_use_removed_with_client': 'nicegui 3.18.0 functions/download.py (client.on_delete removes the route)',
    'download_binding': 'clientsim hardening (NiceGUI 2.11.0: single-use routes are not bound to a client)',
    'disconnect_guard': 'nicegui #4304 (fixed 2.11.1)',
    'reconnect_timeout_s': 'nicegui reconnect_timeout',
    'prune_interval_s': 'nicegui Client.prune_instances',
    'prune_age_s': 'nicegui Client.prune_instances',
    'prune_skips_pending_delete': 'nicegui PR #5422 (#1826, #2915, #5090, #5119)',
    'idempotent_delete': 'nicegui PR #5128',
    'client_lookup_on_disconnect': 'nicegui #5090, #5119 (environ None)',
    'environ_none_for': 'nicegui #5090, #5119 (fault injection)',
    'ping_interval_s': 'python-engineio ping_interval',
    'ping_timeout_s': 'python-engineio ping_timeout',
    'implicit_handshake': 'nicegui 3.7+ nicegui.py _on_connect (implicit handshake)',
    'dependency_stall_s': 'clientsim problem 6 (nicegui 3.x Client.handle_handshake awaits tab storage creation)',
    'handshake_socket_check': 'clientsim problem 6 (python-socketio 5.18.1 drops the disconnect of a pending '
                              'connect; docs/problem6_handshake_stall.md)',
    'bindable_registry': 'nicegui #4109; fixed in 2.11.1 by PR #4122 (PR #4619, 2.15.0: WeakValueDictionary); '
                         'keys: PR #4332, closed unmerged',
    'job_chunks': 'ebook2audiobook #207',
    'job_chunk_s': 'ebook2audiobook #207',
    'job_on_disconnect': 'ebook2audiobook #207',
    'job_reattach': 'ebook2audiobook #207',
}
