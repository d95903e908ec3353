"""Safe reading and YAML loading of scenario files, before any validation (issue 13, item 7).

PyYAML's ``SafeLoader`` accepts things a scenario file must not do; :func:`read_text` and :func:`load_yaml` add:

* only regular files are read (a FIFO or a device would block ``read()`` forever), at most :data:`MAX_BYTES`;
* nesting deeper than :data:`MAX_DEPTH` is an error (PyYAML's composer recurses: ~1,000 levels give
  RecursionError);
* a document whose nodes, with every alias expanded, exceed :data:`MAX_EXPANDED_NODES` is an error (an alias
  bomb costs nothing to parse, PyYAML shares the aliased objects, but validating or printing it is exponential);
* a duplicate key in a mapping is an error naming both lines (PyYAML keeps the last value silently);
* a number written in a YAML 1.1 form other than plain decimal is an error naming its field, line and column:
  PyYAML reads ``0b101`` as 5, ``1:20`` (sexagesimal) as 80, ``0x10`` as 16, ``017`` (octal) as 15 and ``1_000``
  as 1000, so a latency written ``1:20`` silently became 80 ms (issue 20, item 8);
* a plain scalar cut short by YAML's `` #`` comment rule (``name: fix (PR #4304)`` reads ``fix (PR``) gives a
  :class:`ScenarioWarning` (see :func:`cut_by_comment`).

Errors are :class:`YamlProblem` (``message``, 1-based ``line``); :mod:`clientsim.simulator.scenario` turns them into its
``ScenarioError``. No Qt import, nothing from the rest of simulator.
"""
from __future__ import annotations

import re
import stat
import warnings
from pathlib import Path
from typing import Any, Optional

import yaml

from .errors import BadInputError

MAX_BYTES = 1_000_000
"""Largest scenario file read, in bytes."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and sequences accepted."""
MAX_EXPANDED_NODES = 100_000
"""Most YAML nodes a document may have once every alias is expanded."""


class YamlProblem(BadInputError):
    """A scenario file cannot be read or is not acceptable YAML: ``message`` and the 1-based ``line`` (or None)."""

    def __init__(self, message: str, line: Optional[int] = None) -> None:
        super().__init__(message)
        self.message, self.line = message, line


class ScenarioWarning(UserWarning):
    """Something in a scenario file that is valid but probably not meant (``str()`` starts with ``line N:``)."""


def read_text(path: Path) -> str:
    """The UTF-8 text of the regular file ``path``. Raises :class:`YamlProblem` for a missing or unreadable file,
    a FIFO, device or folder, a file over :data:`MAX_BYTES`, or text that is not UTF-8."""
    try:
        info = path.stat()
    except OSError as e:
        raise YamlProblem(f'cannot read: {e.strerror or e}') from None
    if not stat.S_ISREG(info.st_mode):
        kind = 'a FIFO' if stat.S_ISFIFO(info.st_mode) else 'a folder' if stat.S_ISDIR(info.st_mode) else 'not a file'
        raise YamlProblem(f'cannot read: {kind}, not a regular file')
    if info.st_size > MAX_BYTES:
        raise YamlProblem(f'cannot read: {info.st_size} bytes, a scenario file may have at most {MAX_BYTES}')
    try:
        with path.open('rb') as f:
            data = f.read(MAX_BYTES + 1)
        return data.decode('utf-8')
    except OSError as e:
        raise YamlProblem(f'cannot read: {e.strerror or e}') from None
    except UnicodeDecodeError as e:
        raise YamlProblem(f'cannot read: not UTF-8 text ({e.reason} at byte {e.start})') from None


_PLAIN_INT = re.compile(r'[-+]?(0|[1-9][0-9]*)')
_PLAIN_FLOAT = re.compile(r'[-+]?([0-9]+\.[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)')
_INT_TAG, _FLOAT_TAG = 'tag:yaml.org,2002:int', 'tag:yaml.org,2002:float'


def _number_form_problem(node: yaml.ScalarNode, field: Optional[str]) -> Optional[YamlProblem]:
    """A :class:`YamlProblem` when ``node`` is a plain scalar that YAML 1.1 reads as a number but that is not a
    plain decimal (``0b101``, ``0x10``, ``017``, ``1:20``, ``1_000``, ``1_0.5``); None otherwise."""
    if node.style or node.tag not in (_INT_TAG, _FLOAT_TAG):
        return None
    text = str(node.value)
    if (_PLAIN_INT if node.tag == _INT_TAG else _PLAIN_FLOAT).fullmatch(text):
        return None
    mark = node.start_mark
    where = f'{field}: ' if field else ''
    return YamlProblem(f'{where}{text!r} (column {mark.column + 1}) is a YAML 1.1 number form that reads as '
                       f'{yaml.safe_load(text)!r}; write a plain decimal number, or quote it if it is text',
                       line=mark.line + 1)


class _Loader(yaml.SafeLoader):
    """SafeLoader with a nesting limit in the composer, duplicate keys as errors in the constructor, and numbers
    only in plain decimal form (:func:`_number_form_problem`)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise YamlProblem(f'nested deeper than {MAX_DEPTH} levels', line=mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if isinstance(value_node, yaml.ScalarNode):
                problem = _number_form_problem(value_node, str(getattr(key_node, 'value', ''))[:60])
                if problem:
                    raise problem
            key = self.construct_object(key_node, deep=True) if isinstance(key_node, yaml.ScalarNode) else None
            try:
                if key in seen:
                    raise YamlProblem(f'duplicate key {str(key)[:60]!r} (first on line {seen[key]}, again on line '
                                      f'{key_node.start_mark.line + 1})', line=key_node.start_mark.line + 1)
                if key is not None:
                    seen[key] = key_node.start_mark.line + 1
            except TypeError:  # an unhashable key: PyYAML reports it below
                pass
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if isinstance(node, yaml.ScalarNode):
            problem = _number_form_problem(node, None)  # in a list or a key; a mapping's value names its key above
            if problem:
                raise problem
        return super().construct_object(node, deep=deep)


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Nodes under ``node`` with aliases expanded (memoised by node identity, so linear in the document)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a cycle (only possible through aliases) counts once
    total = 1
    if isinstance(node, yaml.SequenceNode):
        total += sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        total += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    total = min(total, MAX_EXPANDED_NODES + 1)
    sizes[id(node)] = total
    return total


def cut_by_comment(text: str, node: yaml.ScalarNode, lines: Optional[list[str]] = None) -> bool:
    """Whether the plain scalar ``node`` probably lost its end to a comment: it is followed on its line by
    `` #`` and either the ``#`` is glued to the next word (``#4304``) or the scalar leaves a bracket open.
    ``lines``: ``text.split('\\n')``, computed once by a caller that checks many scalars (linear, not quadratic,
    in the file's size); the node's end mark gives the line."""
    if node.style is not None or node.tag != 'tag:yaml.org,2002:str':
        return False
    end = node.end_mark
    if lines is None:
        lines = text.split('\n')
    line = lines[end.line] if end.line < len(lines) else ''
    rest = line[end.column:]
    stripped = rest.lstrip(' \t')
    if not stripped.startswith('#') or stripped == rest:
        return False
    glued = len(stripped) > 1 and not stripped[1].isspace()
    value = str(node.value)
    unbalanced = value.count('(') > value.count(')') or value.count('[') > value.count(']')
    return glued or unbalanced


def _scalars(node: yaml.Node, seen: set[int]) -> list[yaml.ScalarNode]:
    if id(node) in seen:
        return []
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        return [node]
    children = node.value if isinstance(node, yaml.SequenceNode) else [
        n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else []
    return [s for child in children for s in _scalars(child, seen)]


def _syntax_problem(error: yaml.YAMLError) -> YamlProblem:
    """A :class:`YamlProblem` at the line where the broken construct starts: PyYAML notices an unclosed
    ``[``/``{``/quote only at a later line (its ``problem_mark``); its ``context_mark`` is where it opened."""
    mark = getattr(error, 'problem_mark', None)
    context = getattr(error, 'context_mark', None)
    problem = getattr(error, 'problem', None) or str(error)
    if context is not None and mark is not None and context.line < mark.line:
        what = getattr(error, 'context', None) or 'this'
        what = what.removeprefix('while parsing ').removeprefix('while scanning ')
        return YamlProblem(f'not valid YAML: {what} opened here is not closed ({problem} at line {mark.line + 1})',
                           line=context.line + 1)
    return YamlProblem(f'not valid YAML: {problem}', line=mark.line + 1 if mark else 1)


def load_yaml(text: str) -> tuple[Optional[yaml.Node], Any]:
    """Compose and construct one YAML document; returns ``(root node, data)``. Raises :class:`YamlProblem` for
    invalid YAML, nesting, alias expansion and duplicate keys (see the module docstring); warns
    :class:`ScenarioWarning` for scalars cut by a comment."""
    try:
        loader = _Loader(text)  # the reader already rejects some characters here
    except yaml.YAMLError as e:
        mark = getattr(e, 'problem_mark', None)
        raise YamlProblem(f'not valid YAML: {e}'.splitlines()[0], line=mark.line + 1 if mark else 1) from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        size = _expanded_size(root, {})
        if size > MAX_EXPANDED_NODES:
            raise YamlProblem(f'more than {MAX_EXPANDED_NODES} values once aliases are expanded (an alias bomb?)',
                              line=root.start_mark.line + 1)
        data = loader.construct_document(root)
    except yaml.YAMLError as e:
        raise _syntax_problem(e) from None
    except RecursionError:
        raise YamlProblem(f'nested too deeply (at most {MAX_DEPTH} levels)') from None
    finally:
        loader.dispose()
    lines = text.split('\n')
    for scalar in _scalars(root, set()):
        if cut_by_comment(text, scalar, lines):
            warnings.warn(ScenarioWarning(f'line {scalar.start_mark.line + 1}: {str(scalar.value)[:80]!r} ends where '
                                          "a ' #' comment begins; quote the value if the '#' belongs to it"),
                          stacklevel=2)
    return root, data
