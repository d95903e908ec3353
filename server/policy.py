"""ServerPolicy: every bug/fix switch and timing knob of the embedded server, one documented field each.

Defaults are the behaviour that shipped (NiceGUI 2.11.0), except the prune timings, which default to
NiceGUI's 10 s / 60 s as well. Scenario files, the GUI's policy panel and tests all set these same fields.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PolicySwitch(BaseModel):
    """GUI metadata of one policy field: a one-line description and the real issue/PR it comes from."""
    description: str
    reference: str


class ServerPolicy(BaseModel):
    """Behaviour switches of :class:`server.app.EmbeddedServer`.

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

    def switches(self) -> dict[str, PolicySwitch]:
        """Per field: description and reference, for the GUI policy panel."""
        return {name: PolicySwitch(description=f.description or '', reference=_REFERENCES.get(name, ''))
                for name, f in type(self).model_fields.items()}


_REFERENCES = {
    'download_target': 'nicegui #4016, #3240',
    'single_use_grace_s': 'nicegui PR #4219',
    'disconnect_guard': 'nicegui #4304 (fixed 2.11.1)',
    'reconnect_timeout_s': 'nicegui reconnect_timeout',
    'prune_interval_s': 'nicegui Client.prune_instances',
    'prune_age_s': 'nicegui Client.prune_instances',
}
