"""nbgrader's own commands, run from the course's folder, use the course's configuration.

nbgrader reads ``nbgrader_config.py`` from the working directory. This file only loads
``autograder/nbgrader_config.py``, where every option is set and explained, so that from here
``nbgrader generate_assignment 02_from_scratch``, ``autograde``, ``generate_feedback``,
``export``, the exchange commands and the formgrader (``make formgrader``) need no flags.
Another nbgrader configuration (e.g. ``~/.jupyter/nbgrader_config.py``) may load this file by
its absolute path.
"""

import os

c = get_config()  # noqa: F821 -- provided by traitlets when it runs this file
# By absolute path: load_subconfig resolves a relative one from the first file loaded, and skips
# a file it does not find without a word.
COURSE_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "autograder", "nbgrader_config.py")
if not os.path.isfile(COURSE_CONFIG):
    raise FileNotFoundError(f"{COURSE_CONFIG} is missing: it holds the course's nbgrader configuration")
load_subconfig(COURSE_CONFIG)  # noqa: F821 -- provided by traitlets
