"""nbgrader's own commands, run from the course's folder, use the course's configuration.

nbgrader reads ``nbgrader_config.py`` from the working directory. This file only loads
``autograder/nbgrader_config.py``, where every option is set and explained, so that from here
``nbgrader generate_assignment 02_from_scratch``, ``autograde``, ``generate_feedback``,
``export``, the exchange commands and the formgrader (``make formgrader``) need no flags.
"""

c = get_config()  # noqa: F821 -- provided by traitlets when it runs this file
load_subconfig("autograder/nbgrader_config.py")  # noqa: F821 -- relative to this file's folder
