"""Figures of the course, one module per family; each function returns a matplotlib Figure.

- ``curves``  learning curves from ``History`` objects (lessons 04-07, ``dropout-kit experiment``)
- ``masks``   dropout masks and the preserved expectation (lesson 01)
- ``sweeps``  rate sweeps with error bars, config comparisons, L2 grids, CV folds (lesson 06)
- ``metrics`` confusion matrices, per-class bars, the eval pitfall, uncertainty (lessons 07, 08)
- ``networks`` thinned networks (dropped units crossed out), images with dropped pixels (lesson 10)
- ``ensembles`` eval mode against the average of K thinned networks (lesson 10)
- ``family``  feature-map masks, moments through a SELU stack, attention dropout (lesson 11)
- ``pitfalls`` L1/L2 input-weight maps, grid vs random search, selection optimism (lesson 12)

Import the module you need, e.g. ``from dropout_kit.plots import curves``.
"""
