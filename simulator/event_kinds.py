"""Every kind of timeline event clientsim records, as one ``StrEnum`` (a leaf: no imports from clientsim).

``EventKind.DOWNLOAD_GET == 'download_get'``: the values are the strings recorded before, so JSON reports and
event logs are unchanged, and code that compares ``event.kind`` with a member or with its string agrees.
:meth:`clientsim.simulator.timeline.Timeline.record` rejects a kind not listed here when strict checking is on
(``CLIENTSIM_STRICT_EVENT_KINDS=1``, which tests/conftest.py sets for the suite), so a new kind is added here
first. The lanes (:mod:`clientsim.simulator.lanes`), measurements, checks, the load engine and the GUI's event log
match against these members.
"""
from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    """The kind of a :class:`clientsim.simulator.timeline.TimelineEvent`; the value is what JSON holds."""

    # ---- the page and the socket (simulated and Chromium windows)
    PAGE_GET_SENT = 'page_get_sent'
    PAGE_GET_ANSWERED = 'page_get_answered'
    PAGE_LOAD_FAILED = 'page_load_failed'
    SOCKET_CONNECTED_CLIENT = 'socket_connected_client'
    SOCKET_CONNECT_FAILED = 'socket_connect_failed'
    CONNECT_ERROR = 'connect_error'
    POLLING_ATTEMPT = 'polling_attempt'
    IMPLICIT_HANDSHAKE_REFUSED = 'implicit_handshake_refused'
    PAGE_BOOTED = 'page_booted'
    HANDSHAKE_SENT = 'handshake_sent'
    HANDSHAKE_ACKED = 'handshake_acked'
    HANDSHAKE_FAILED = 'handshake_failed'
    DISCONNECT_CLIENT = 'disconnect_client'
    CONNECTION_DROPPED = 'connection_dropped'
    CONNECTION_LOST_NOTICED = 'connection_lost_noticed'
    RECONNECT_SCHEDULED = 'reconnect_scheduled'
    RECONNECT_STARTED = 'reconnect_started'
    AUTO_RECONNECT = 'auto_reconnect'
    AUTO_RECONNECT_FAILED = 'auto_reconnect_failed'
    TRY_RECONNECT_RECEIVED = 'try_reconnect_received'
    HISTORY_END = 'history_end'
    TAB_DUPLICATED = 'tab_duplicated'
    LATENCY = 'latency'
    WINDOW_OPENED = 'window_opened'
    WINDOW_CLOSED = 'window_closed'
    CHROMIUM_LOG_FAILED = 'chromium_log_failed'

    # ---- messages a window sends and receives
    EVENT_SENT = 'event_sent'
    MESSAGE_RECEIVED = 'message_received'
    MESSAGE_DROPPED = 'message_dropped'
    MESSAGE_IGNORED = 'message_ignored'
    UPDATE_RECEIVED = 'update_received'
    NOTIFY_RECEIVED = 'notify_received'
    OPEN_RECEIVED = 'open_received'
    NAVIGATION_RECEIVED = 'navigation_received'
    JAVASCRIPT_ANSWERED = 'javascript_answered'
    JAVASCRIPT_UNANSWERED = 'javascript_unanswered'
    PROGRESS_CHANGED = 'progress_changed'

    # ---- downloads and uploads
    DOWNLOAD_EVENT = 'download_event'
    DOWNLOAD_IGNORED = 'download_ignored'
    DOWNLOAD_GET_SENT = 'download_get_sent'
    DOWNLOAD_GET = 'download_get'
    UPLOAD_SENT = 'upload_sent'
    UPLOAD_ANSWERED = 'upload_answered'
    UPLOAD_FAILED = 'upload_failed'

    # ---- the server (embedded, or a real app through the probe)
    SERVER_STARTED = 'server_started'
    SERVER_STOPPED = 'server_stopped'
    POLICY_CHANGED = 'policy_changed'
    PAGE_SERVED = 'page_served'
    REQUEST_REFUSED = 'request_refused'
    CONNECTION_REFUSED = 'connection_refused'
    CONNECT_TIMEOUT = 'connect_timeout'
    HANDSHAKE_TIMEOUT = 'handshake_timeout'
    FEED_REFUSED = 'feed_refused'
    SINGLE_USE_ROUTE_EXPIRED = 'single_use_route_expired'
    SOCKET_CONNECTED_SERVER = 'socket_connected_server'
    CONNECT_ABANDONED = 'connect_abandoned'
    SOCKET_ENDED_WHILE_CONNECTING = 'socket_ended_while_connecting'
    HANDSHAKE_DROPPED = 'handshake_dropped'
    DEPENDENCY_STALLED = 'dependency_stalled'
    SINGLE_USE_ROUTE_REMOVED_WITH_CLIENT = 'single_use_route_removed_with_client'
    HANDSHAKE_HANDLED = 'handshake_handled'
    HANDSHAKE_REPLACED = 'handshake_replaced'
    EVENT_HANDLED = 'event_handled'
    EVENT_IGNORED = 'event_ignored'
    BAD_MESSAGE = 'bad_message'
    DOWNLOAD_EMITTED = 'download_emitted'
    DOWNLOAD_SERVED = 'download_served'
    DOWNLOAD_REFUSED = 'download_refused'
    DISCONNECT_SERVER = 'disconnect_server'
    CLIENT_CREATED = 'client_created'
    CLIENT_DELETED = 'client_deleted'
    CLIENT_DELETE_SKIPPED = 'client_delete_skipped'
    CLIENT_HANDSHAKE = 'client_handshake'
    CLIENT_DISCONNECT = 'client_disconnect'
    PRUNE = 'prune'
    SERVER_ERROR = 'server_error'
    MODELS = 'models'
    MODEL_FINALIZED = 'model_finalized'

    # ---- long jobs (problem 5)
    JOB_STARTED = 'job_started'
    JOB_PROGRESS = 'job_progress'
    JOB_CHUNKS_SKIPPED = 'job_chunks_skipped'
    JOB_ATTACHED = 'job_attached'
    JOB_BUSY = 'job_busy'
    JOB_CANCELLED = 'job_cancelled'
    JOB_FINISHED = 'job_finished'

    # ---- the probe injected into a real app (simulator/probe/)
    PROBE_INSTALLED = 'probe_installed'
    PROBE_FALLBACK = 'probe_fallback'
    PROBE_HELLO = 'probe_hello'
    PROBE_HOOKED = 'probe_hooked'
    PROBE_ERROR = 'probe_error'
    PROBE_REFUSED = 'probe_refused'  # a probe connection without the per-run token (simulator.probe)
    BAD_PROBE_LINE = 'bad_probe_line'  # a probe line that is not a JSON event; reading goes on
    GC_DONE = 'gc_done'

    # ---- the player
    SCENARIO_STARTED = 'scenario_started'
    STEP = 'step'
    STEP_FAILED = 'step_failed'
    LOAD_ERROR = 'load_error'
    SCENARIO_TRUSTED = 'scenario_trusted'  # the GUI's trust question answered yes (simulator.trust)


#: every kind's value, for a fast membership test
KIND_VALUES: frozenset[str] = frozenset(k.value for k in EventKind)
