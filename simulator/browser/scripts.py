"""What a window does with ``run_javascript``: JavaScript rules (regex → result) and the navigation calls NiceGUI
sends as JavaScript.

A simulated window runs no JavaScript. Two kinds of ``run_javascript`` code are still understood:

* the code NiceGUI 3.x ``nicegui/functions/navigate.py`` (read in 3.18.0) sends for ``ui.navigate.reload`` /
  ``back`` / ``forward`` / ``history.push`` / ``history.replace``: ``history.go(0)``, ``history.back()``,
  ``history.forward()``, ``history.pushState({}, "", "<url>");``, ``history.replaceState({}, "", "<url>");``
  (:func:`navigation_of`);
* anything a JavaScript rule matches (:class:`JavaScriptRules`), as NiceGUI 3.18.0's testing ``User`` fixture has
  them (``nicegui/testing/user.py`` ``javascript_rules: dict[re.Pattern, Callable[[re.Match], Any]]``, matched with
  ``pattern.match(code)``, i.e. anchored at the start, first matching rule wins). When the request carries a
  ``request_id`` the window answers with ``javascript_response {request_id, client_id, result}``, as 3.18.0
  nicegui.js ``runJavascript`` does.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable, Mapping, Optional, Union

RuleResult = Union[Callable[[re.Match], Any], Any]
"""The result of a rule: a callable ``f(match) -> result`` (as in NiceGUI's ``User``) or a plain JSON value."""

DEFAULT_RULES: dict[str, Any] = {r'.*__IS_DRAWER_OPEN__': True}
"""NiceGUI 3.18.0 ``User``'s default rule (the drawer check of ``ui.left_drawer`` / ``ui.right_drawer``, #4508)."""

_HISTORY_RE = re.compile(r'^\s*history\.(pushState|replaceState)\(\{\},\s*"",\s*("(?:[^"\\]|\\.)*")\);?\s*$')
_NAVIGATION = {'history.go(0)': 'reload', 'history.back()': 'back', 'history.forward()': 'forward'}


class JavaScriptRules:
    """Ordered ``regex → result`` rules: ``JavaScriptRules({'^return window.innerWidth$': 1280})``.

    Keys are regex strings or compiled patterns; values are JSON values or callables ``f(match)``. Raises
    ValueError naming the pattern when a regex does not compile.
    """

    def __init__(self, rules: Optional[Mapping[Union[str, re.Pattern], RuleResult]] = None, *,
                 defaults: bool = True) -> None:
        self.rules: list[tuple[re.Pattern, RuleResult]] = []
        for pattern, result in {**(DEFAULT_RULES if defaults else {}), **dict(rules or {})}.items():
            self.add(pattern, result)

    def add(self, pattern: Union[str, re.Pattern], result: RuleResult) -> None:
        """Append a rule (it is tried after the existing ones). Raises ValueError for a bad regex."""
        try:
            compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
        except re.error as e:
            raise ValueError(f'javascript rule {pattern!r} is not a valid regex: {e}') from None
        self.rules.append((compiled, result))

    def answer(self, code: str) -> tuple[bool, Any]:
        """``(True, result)`` from the first rule whose pattern matches at the start of ``code``
        (``re.Pattern.match``), else ``(False, None)``. A callable result is called with the match."""
        for pattern, result in self.rules:
            match = pattern.match(code)
            if match is not None:
                return True, result(match) if callable(result) else result
        return False, None

    def __len__(self) -> int:
        return len(self.rules)


def navigation_of(code: str) -> Optional[tuple[str, Optional[str]]]:
    """The navigation a ``run_javascript`` code asks for: ``('reload' | 'back' | 'forward', None)`` or
    ``('push' | 'replace', url)``; None for any other code (see the module docstring)."""
    stripped = code.strip().rstrip(';')
    if stripped in _NAVIGATION:
        return _NAVIGATION[stripped], None
    match = _HISTORY_RE.match(code)
    if match is not None:
        try:
            url = json.loads(match.group(2))
        except json.JSONDecodeError:
            return None
        return ('push' if match.group(1) == 'pushState' else 'replace'), str(url)
    return None
