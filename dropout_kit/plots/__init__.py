"""Figures of the course, one module per family; each function returns a matplotlib Figure.

- ``curves``  learning curves from ``History`` objects (lessons 04-07, ``dropout-kit experiment``)
- ``masks``   dropout masks and the preserved expectation (lesson 01)

Import the module you need, e.g. ``from dropout_kit.plots import curves``.
"""
