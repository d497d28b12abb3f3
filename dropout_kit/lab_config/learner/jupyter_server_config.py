# The learner's JupyterLab (`dropout-kit start`, `make lab`): nbgrader's instructor tools stay off
# even where nbgrader is installed. `dropout_kit.lab` puts this folder first on JUPYTER_CONFIG_PATH
# for that one server; the user's own Jupyter configuration is not changed.
# labconfig/page_config.json hides nbgrader's JupyterLab extension (Create Assignment, the Nbgrader
# menu, Formgrader); this file turns off its server extensions, so /formgrader is not served either.
import importlib.util

if importlib.util.find_spec("nbgrader") is not None:  # otherwise there is nothing to turn off
    c.ServerApp.jpserver_extensions.update({  # noqa: F821 -- `c` is provided by traitlets
        "nbgrader.server_extensions.formgrader": False,
        "nbgrader.server_extensions.assignment_list": False,
        "nbgrader.server_extensions.course_list": False,
        "nbgrader.server_extensions.validate_assignment": False,
    })
