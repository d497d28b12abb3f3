"""dropout_kit: the helper package of the dropout-course.

Modules, one concern each:

- ``data``     FashionMNIST, found offline, split into train / val / test tensors
- ``models``   the tutorial's MLP and its dropout variants; lesson 11's CNN, BatchNorm MLP, SELU stack
- ``train``    a fast in-memory training loop (``fit``, ``evaluate``, ``History``)
- ``adam``     Adam through PyTorch's fused kernel, as ``fit`` uses it
- ``seeding``  ``seed_everything``: random, numpy and torch in one call
- ``device``   where training runs: ``resolve_device`` (CUDA, then MPS, then the CPU)
- ``recipe``   the overfitting regime's fixed training recipe (lessons 04-08)
- ``metrics``  confusion matrix, precision / recall / F1
- ``uncertainty`` MC dropout and activation statistics
- ``ensembles`` dropout as an ensemble: MC averaging against weight scaling (lesson 10)
- ``gradcheck`` numerical gradient checks with dropout off, fixed or fresh (lesson 09)
- ``memory``   what a forward pass allocates and saves for backward (lesson 01)
- ``activation_stats`` neighbouring feature-map pixels' correlation, moments block by block (lesson 11)
- ``bn_shift`` dropout before BatchNorm: the variance shift, measured and recalibrated (lesson 11)
- ``transformer`` where dropout acts in PyTorch's transformer layers, found by running them (lesson 11)
- ``regularization`` L1 as gradient hooks beside L2, weight sparsity (lesson 12)
- ``leakage``  leaky validation splits and the optimism of choosing on the reported set (lesson 12)
- ``runs``     one configuration over several seeds, summarised
- ``tables``   plain tables that display in notebooks
- ``experiment`` the ``dropout-kit experiment`` job
- ``plots``    learning curves, masks, sweeps, confusion matrices, networks, lessons 11-12's figures
- ``tuning``   rate sweeps, random search and cross-validation
- ``verdict``  the one result type of every judge
- ``exercises`` graded exercises as probe and judge (02 ``from_scratch``, 03 ``quiz``,
  05 ``experiment``, 07 ``metrics``, 09 ``backward``)
- ``quiz``     the quiz questions and their immediate feedback (``quiz_authoring``: building them)
- ``optional`` clear errors for a missing optional dependency
- ``lab``, ``workspace`` the learner's JupyterLab and their own copy of the lessons
- ``course``   nbgrader release / grade / check for instructors
- ``sandbox``  the bubblewrap sandbox of every learner kernel that grading starts
- ``cli``      the ``dropout-kit`` command
"""

__version__ = "0.1.0"
