"""Text for a terminal or a log, rendered with rich: tables with a dashed rule under the header and two spaces
between columns, PASS/FAIL in the outcome colours (:mod:`clientsim.simulator.outcome`) on a terminal, and plain
text (no escape sequences) when the stream is not a terminal (a pipe, a CI log, a test's captured output).
No Qt.
"""
from __future__ import annotations

import io
from typing import Any, Optional, Sequence, TextIO, Union

from rich import box
from rich.console import Console, RenderableType
from rich.table import Column, Table
from rich.text import Text

from .outcome import verdict_colour, verdict_label

#: a table frame of only a dashed rule under the header (plain ASCII, so logs stay readable)
HEADER_RULE = box.Box('    \n    \n -- \n    \n    \n    \n    \n    \n', ascii=True)
#: characters of a rendered line at most (rich would wrap at the terminal's width; the tables are never wrapped)
RENDER_WIDTH = 400
Cell = Union[str, Text]


def is_terminal(stream: Optional[TextIO]) -> bool:
    """Whether ``stream`` is an interactive terminal (``isatty()``); False for None, pipes and files."""
    return bool(stream is not None and getattr(stream, 'isatty', lambda: False)())


def table(header: Sequence[str], rows: Sequence[Sequence[Cell]] = (), *, widths: Optional[Sequence[int]] = None,
          right: Sequence[int] = (), show_header: bool = True) -> Table:
    """A rich table: ``header`` titles, ``rows`` of cells (text or :class:`rich.text.Text`), optional fixed
    ``widths`` (characters, cells cut with "…"), ``right``-aligned column indexes; columns two spaces apart."""
    columns = [Column(title, justify='right' if i in right else 'left', no_wrap=True,
                      width=widths[i] if widths else None, overflow='ellipsis' if widths else 'fold')
               for i, title in enumerate(header)]
    t = Table(*columns, box=HEADER_RULE, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0),
              show_header=show_header, header_style='bold' if show_header else None)
    for row in rows:
        t.add_row(*row)
    return t


def render(renderable: RenderableType, colour: bool = False) -> str:
    """``renderable`` as text, each line without trailing spaces; styled (ANSI) only with ``colour``."""
    console = Console(file=io.StringIO(), width=RENDER_WIDTH, force_terminal=colour,
                      color_system='truecolor' if colour else None, highlight=False, emoji=False)
    console.print(renderable)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    return '\n'.join(line.rstrip() for line in text.rstrip('\n').split('\n'))


def verdict(passed: bool) -> Text:
    """``PASS`` / ``FAIL`` in the verdict colour (bold)."""
    return Text(verdict_label(passed), style=f'bold {verdict_colour(passed)}')


def styled(text: Any, colour: Optional[str]) -> Text:
    """``text`` as :class:`rich.text.Text` in ``colour`` (a hex colour or a rich colour name; None: unstyled)."""
    return Text(str(text), style=colour or '')
