"""Issue 13 fuzz suite (Hypothesis): hostile socket.io events against a running embedded server (real sockets on
127.0.0.1), and scenario documents generated from the pydantic models, then mutated.

After every socket example the server still serves a page and accepts a handshake, ``server.errors`` holds only
the bugs the policy emulates on purpose (none in fix mode), and the loop saw no unhandled exception. Every
scenario document either loads or raises :class:`ScenarioError` whose text starts with the file name and a
line or location; a few go through ``clientsim play --headless`` (exit 0/1/2/3, no traceback).

Default profile: bounded to a few seconds per test (the ``max_examples`` below). ``pytest
--hypothesis-profile=long tests/test_hostile_input_fuzz.py`` (registered in tests/conftest.py) runs many more examples.
"""
from __future__ import annotations

import asyncio
import gc
import json
import typing
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from clientsim.server.policy import ServerPolicy
from clientsim.simulator.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, EXIT_TARGET
from clientsim.simulator.scenario import ScenarioError, parse_scenario
from clientsim.simulator.steps import STEP_TYPES

from .conftest import CLEAN_EXIT_MARKERS, run_cli, until
from .rawsocket import RawSocket, page_client_id

FIX_MODE = dict(disconnect_guard=True, idempotent_delete=True, prune_skips_pending_delete=True,
                client_lookup_on_disconnect='session', reconnect_timeout_s=0.2, prune_interval_s=0.1,
                prune_age_s=0.2)


def fuzz(max_examples: int) -> settings:
    """This test's bounded example count, or the ``long`` profile's (when it asks for more); no deadline, no
    example database written into the checkout."""
    return settings(max_examples=max(max_examples, settings.default.max_examples if settings.default.max_examples
                                     > 1000 else 0), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)
event_names = st.sampled_from(['handshake', 'event', 'ack', 'connect', 'disconnect', '*', 'download',
                               'javascript_response', 'log']) | st.text(max_size=12)


@st.composite
def frames(draw) -> str:
    """One socket.io text frame: mostly ``42[name, *args]`` with arbitrary JSON, sometimes shaped like a real
    handshake/event with fuzzed fields, sometimes raw text after an engine.io message prefix."""
    kind = draw(st.sampled_from(['event', 'shaped', 'raw']))
    if kind == 'raw':
        return '4' + draw(st.text(max_size=40))
    if kind == 'shaped':
        name = draw(st.sampled_from(['handshake', 'event']))
        body = draw(st.fixed_dictionaries({}, optional={
            'client_id': json_values | st.just('CLIENT'), 'document_id': json_values, 'tab_id': json_values,
            'next_message_id': json_values, 'listener_id': json_values, 'args': json_values, 'id': json_values}))
        ack = draw(st.sampled_from(['', '1']))
        return f'42{ack}' + json.dumps([name, body])
    args = draw(st.lists(json_values, max_size=4))
    return '42' + json.dumps([draw(event_names), *args])


def test_fuzz_socket_events(clientsim, clientsim_server_factory):
    server = clientsim_server_factory(**FIX_MODE)
    unhandled: list[dict] = []
    clientsim.loop.set_exception_handler(lambda loop, context: unhandled.append(context))
    examples = []

    async def one(frame_list: list[str]) -> None:
        client_id = await page_client_id(server.url, '/private')
        sock = await RawSocket.connect(server.url, client_id=client_id)
        assert await sock.handshake(client_id) is True
        for frame in frame_list:
            await sock.send(frame.replace('"CLIENT"', json.dumps(client_id)))
        await asyncio.sleep(0.02)
        # the server still serves a page and a handshake, on a fresh socket
        fresh_id = await page_client_id(server.url, '/')
        fresh = await RawSocket.connect(server.url, client_id=fresh_id)
        assert await fresh.handshake(fresh_id) is True
        await fresh.close()
        await sock.close()

    @fuzz(120)
    @given(st.lists(frames(), min_size=1, max_size=3))
    def check(frame_list: list[str]) -> None:
        examples.append(frame_list)
        clientsim.run(one(frame_list), timeout_s=10)
        assert server.errors == [], server.errors[-1]['traceback']
        assert unhandled == [], unhandled[:2]

    check()
    # every private client of the examples is deleted (reconnect_timeout_s, prune): poll, with a deadline
    clientsim.run(until(lambda: not [c for c in server.registry.instances.values() if not c.shared]))
    gc.collect()
    assert server.errors == [] and unhandled == []
    assert [c for c in server.registry.instances.values() if not c.shared] == []
    print(f'socket fuzz: {len(examples)} examples')


# ---- scenario documents -----------------------------------------------------------------------------------------
WINDOWS = ['alice', 'bob']


def _for_annotation(annotation: Any, name: str) -> st.SearchStrategy:
    """A strategy for a field of a step/expect model, from its annotation (small, playable values)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Union:
        return st.one_of(*[_for_annotation(a, name) for a in args])
    if annotation is type(None):
        return st.none()
    if origin is typing.Literal:
        return st.sampled_from(args)
    if annotation is bool:
        return st.booleans()
    if annotation in (int, float):
        return st.integers(0, 3) if name in ('rounds',) else st.integers(0, 150)
    if annotation is str:
        if name in ('window',):
            return st.sampled_from(WINDOWS)
        if name in ('url', 'page'):
            return st.sampled_from(['/', '/private', '/counter'])
        return st.sampled_from(['Download', 'Name', 'hello', '+1'])
    if origin is list:
        return st.lists(st.sampled_from(WINDOWS + ['all']) if name == 'windows' else _for_annotation(args[0], name),
                        min_size=1, max_size=2)
    if origin is tuple:
        return st.tuples(st.integers(0, 20), st.integers(20, 40))
    return json_values


def _model_strategy(model: type[BaseModel]) -> st.SearchStrategy:
    required = {n: _for_annotation(f.annotation, n) for n, f in model.model_fields.items() if f.is_required()}
    optional = {n: _for_annotation(f.annotation, n) for n, f in model.model_fields.items() if not f.is_required()}
    return st.fixed_dictionaries(required, optional=optional)


steps = st.one_of(*[_model_strategy(t.model).map(lambda args, k=kind: {k: args}) for kind, t in STEP_TYPES.items()
                    if kind not in ('wait_progress',)])
policies = st.fixed_dictionaries({}, optional={
    n: _for_annotation(f.annotation, n) for n, f in ServerPolicy.model_fields.items()
    if n not in ('ping_interval_s', 'ping_timeout_s', 'environ_none_for', 'dependency_stall_s')})  # slow knobs
documents = st.fixed_dictionaries({
    'name': st.text(min_size=1, max_size=20), 'windows': st.just([{'name': w} for w in WINDOWS]),
    'steps': st.lists(steps, max_size=4), 'settle_ms': st.integers(0, 50)},
    optional={'policy': policies, 'seed': st.integers(0, 9),
              'expect': st.fixed_dictionaries({}, optional={'clients_alive': st.integers(0, 3) | st.just('> 0'),
                                                            'server_errors': st.dictionaries(
                                                                st.sampled_from(['KeyError', 'TypeError', 'KeyEror']),
                                                                st.integers(0, 2), max_size=2)})})


@st.composite
def mutated_documents(draw) -> str:
    """A generated scenario document as YAML text, with up to three mutations: a key dropped, a value replaced
    by arbitrary JSON, a key duplicated, deep nesting, an alias bomb, a ' #' cut, bytes of garbage."""
    doc = draw(documents)
    for _ in range(draw(st.integers(0, 3))):
        mutation = draw(st.sampled_from(['drop', 'replace', 'step_junk']))
        keys = sorted(doc)
        if mutation == 'drop' and keys:
            doc.pop(draw(st.sampled_from(keys)))
        elif mutation == 'replace' and keys:
            doc[draw(st.sampled_from(keys))] = draw(json_values)
        elif mutation == 'step_junk':
            doc.setdefault('steps', [])
            if isinstance(doc['steps'], list):
                doc['steps'].append(draw(st.dictionaries(st.sampled_from(list(STEP_TYPES) + ['nope']), json_values,
                                                         max_size=2)))
    text = yaml.safe_dump(doc, sort_keys=False)
    text_mutation = draw(st.sampled_from(['none', 'none', 'duplicate', 'deep', 'bomb', 'comment', 'garbage']))
    if text_mutation == 'duplicate':
        text += 'steps: []\n'
    elif text_mutation == 'deep':
        text += 'expect: ' + '[' * 3000 + ']' * 3000 + '\n'
    elif text_mutation == 'bomb':
        levels = ''.join(f'x{i}: &a{i} [{", ".join([f"*a{i - 1}"] * 8)}]\n' for i in range(1, 8))
        text = 'x0: &a0 [1,1,1,1,1,1,1,1]\n' + levels + text.replace('settle_ms:', 'settle_ms: *a7\nz:')
    elif text_mutation == 'comment':
        text = text.replace('name: ', 'name: x (PR #1) ', 1)
    elif text_mutation == 'garbage':
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.text(max_size=10)) + text[cut:]
    return text


def _check_document(text: str) -> str:
    """'ok' or 'error', asserting the error is a located ScenarioError (no other exception escapes)."""
    try:
        parse_scenario(text, 'doc.yaml', {'/', '/private', '/counter', '/convert'})
    except ScenarioError as e:
        message = str(e)
        assert message.startswith('doc.yaml'), message
        assert e.line is not None or e.location, message
        assert len(message) < 1500 and 'Traceback' not in message
        return 'error'
    return 'ok'


def test_fuzz_scenario_documents_in_process():
    outcomes: list[str] = []

    @fuzz(250)
    @given(mutated_documents())
    def check(text: str) -> None:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            outcomes.append(_check_document(text))
    check()
    print(f'scenario fuzz: {len(outcomes)} documents, {outcomes.count("ok")} valid, {outcomes.count("error")} errors')
    assert outcomes.count('error') > 0


def test_fuzz_scenario_documents_through_the_cli(tmp_path):
    runs: list[int] = []

    @fuzz(4)
    @given(mutated_documents())
    def check(text: str) -> None:
        path = tmp_path / f'doc{len(runs)}.yaml'
        path.write_text(text, encoding='utf-8')
        proc = run_cli('play', '--headless', str(path), timeout=120)
        output = proc.stdout + proc.stderr
        assert proc.returncode in (EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_TARGET), output
        if proc.returncode == EXIT_BAD_INPUT:
            assert f'error: {path}' in proc.stderr, output
        for marker in CLEAN_EXIT_MARKERS:
            assert marker not in output, output[-2000:]
        runs.append(proc.returncode)
    check()
    print(f'cli fuzz: {len(runs)} files, exit codes {runs}')
