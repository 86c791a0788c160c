"""PaperLab: a runnable, tested collection of machine-learning papers.

Rooms, each importable on its own: ``distances``, ``losses``, ``solvers``, ``models``, ``data``,
``metrics``, ``experiment``, ``plotting`` and ``collection``.
"""

__version__ = "0.1.0"
