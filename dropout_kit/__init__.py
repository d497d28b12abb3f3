"""dropout_kit: the helper package of the dropout-course.

Modules, one concern each:

- ``data``     FashionMNIST, found offline, split into train / val / test tensors
- ``models``   the tutorial's MLP and its dropout variants
- ``train``    a fast in-memory training loop (``fit``, ``evaluate``, ``History``)
- ``seeding``  ``seed_everything``: random, numpy and torch in one call
- ``device``   where training runs: ``resolve_device`` (CUDA, then MPS, then the CPU)
- ``metrics``  confusion matrix, precision / recall / F1
- ``uncertainty`` MC dropout and activation statistics
- ``runs``     one configuration over several seeds, summarised
- ``tables``   plain tables that display in notebooks
- ``experiment`` the ``dropout-kit experiment`` job
- ``integrity`` refuses grading when a submission replaced what checkers use
- ``plots``    learning curves, masks, sweeps, confusion matrices
- ``exercises`` graded exercises as probe and judge (lesson 02: ``from_scratch``, 03: ``quiz``, 07: ``metrics``)
- ``quiz``     the quiz questions and their immediate feedback
- ``grading``  grading of the FashionMNIST experiment
- ``tuning``   rate sweeps and cross-validation
- ``course``   nbgrader release / grade / check for instructors
- ``cli``      the ``dropout-kit`` command
"""

__version__ = "0.1.0"
