"""The Qt views (PySide6 + qasync) over the Qt-free core. PySide6 is imported first so qasync picks it."""
import PySide6  # noqa: F401  (must precede qasync: qasync picks the binding that is already imported)
