"""One image of the main window and every browser window (works offscreen)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QWidget

GAP = 12


def save_screenshot(main: QWidget, windows: Sequence[QWidget], path: str | Path) -> None:
    """Compose ``main`` on the left and ``windows`` in a grid on the right, save as PNG.

    More than 12 windows are drawn at half size. Raises OSError when the file cannot be written."""
    main_pix = main.grab()
    pixes: list[QPixmap] = [w.grab() for w in windows]
    if len(pixes) > 12:
        pixes = [p.scaled(p.width() // 2, p.height() // 2, Qt.AspectRatioMode.KeepAspectRatio,
                          Qt.TransformationMode.SmoothTransformation) for p in pixes]
    cols = max(1, math.ceil(math.sqrt(len(pixes)))) if pixes else 0
    rows = math.ceil(len(pixes) / cols) if cols else 0
    cell_w = max((p.width() for p in pixes), default=0)
    cell_h = max((p.height() for p in pixes), default=0)
    width = main_pix.width() + GAP * 3 + cols * (cell_w + GAP)
    height = max(main_pix.height(), rows * (cell_h + GAP)) + GAP * 2
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor('#37474f'))
    painter = QPainter(image)
    painter.drawPixmap(QPoint(GAP, GAP), main_pix)
    x0 = main_pix.width() + GAP * 2
    for i, pix in enumerate(pixes):
        r, c = divmod(i, cols)
        painter.drawPixmap(QPoint(x0 + c * (cell_w + GAP), GAP + r * (cell_h + GAP)), pix)
    painter.end()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path)):
        raise OSError(f'cannot write screenshot {path}')
