"""The code of the learners of tests/test_attacks.py who go after marks (lessons 02, 03 and 07), as notebook text.

Each constant is the source of a cell. ``$name`` fields are filled in from the run by
``attack_catalogue.fill`` (the port of the test's server, paths, a marker).
"""

# --- lesson 02: answers ----------------------------------------------------------------------------

NOT_A_CLASS = "class Dropout(nn.Module):\n    pass\n"
UNUSUAL_MASK = '''# A helper of my own, in a cell of its own.
def _mask(x, p):
    """The factor of each entry: 1/(1-p) where kept, 0 where dropped (all 0 at p=1)."""
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    return torch.empty_like(x).bernoulli_(1.0 - p) * scale
'''
UNUSUAL_DROPOUT = '''def dropout(x, p=0.5, training=True, inplace=False):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return x
    mask = _mask(x, p)
    return x.mul_(mask) if inplace else x * mask
'''
F_DROPOUT = '''import torch.nn.functional as F

def dropout(x, p=0.5, training=True, inplace=False):
    return F.dropout(x, p, training, inplace)
'''
ATEN_DROPOUT = '''def dropout(x, p=0.5, training=True, inplace=False):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training:
        return x
    out = torch.ops.aten.native_dropout(x, p, True)[0]
    return x.copy_(out) if inplace else out
'''
BUILT_NAME = '''import torch.nn.functional as F

def dropout(x, p=0.5, training=True, inplace=False):
    return getattr(F, "drop" + "out")(x, p, training, inplace)
'''
ATTRGETTER = '''import operator
import torch.nn.functional as F

def dropout(x, p=0.5, training=True, inplace=False):
    return operator.attrgetter("drop" + "out")(F)(x, p, training, inplace)
'''
BLIND_DETECTOR = '''# The probe's run-time detector runs in this kernel: make it see nothing.
import contextlib
from dropout_kit.exercises import detect

@contextlib.contextmanager
def _unwatched(**kwargs):
    yield detect.CallLog()

detect.watch = _unwatched
'''
PATCH_JUDGES_02 = '''from dropout_kit import exercises, verdict
from dropout_kit.exercises import base, from_scratch

def _passing(*args, **kwargs):
    return verdict.Verdict("dropout_function", [verdict.Check("everything", True, "", "all good")])

exercises.check = _passing
from_scratch.judge_function = from_scratch.judge_module = _passing
object.__setattr__(from_scratch.FUNCTION, "judge", _passing)
object.__setattr__(from_scratch.MODULE, "judge", _passing)
base.Exercise.decide = lambda self, *args, **kwargs: _passing()
verdict.Verdict.passed = property(lambda self: True)
'''
FORGED_RESPOND = '''# Grading calls dropout_kit.exercises.kernel.respond here: answer for it, with PyTorch's dropout.
import base64
import torch.nn.functional as F
from IPython.display import publish_display_data
from dropout_kit.exercises import get, wire
from dropout_kit.exercises import kernel as probe_kernel
from dropout_kit.exercises.base import envelope_text


class _Layer(nn.Module):
    def __init__(self, p=0.5, inplace=False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x):
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


def _forged(key, obj, payload):
    requests = wire.loads(base64.b64decode(payload).decode())
    library = {"dropout_function": F.dropout, "dropout_module": _Layer}[key]
    envelope = wire.loads(envelope_text(get(key), library, requests))
    envelope["reply"]["library_calls"] = []
    publish_display_data({probe_kernel.MIME: wire.dumps(envelope), "text/plain": "forged"})


probe_kernel.respond = _forged
'''
# A hook IPython runs after every cell, the grader's probe call included: it publishes a second,
# forged reply, which arrives after the true one.
FORGED_HOOK = '''import base64
import re
from IPython.display import publish_display_data
from dropout_kit.exercises import get, wire
from dropout_kit.exercises.base import envelope_text
from dropout_kit.exercises.kernel import MIME
$imports

_CALL = re.compile(r"respond\\('(\\w+)', \\w+, \\"([A-Za-z0-9+/=]+)\\"\\)")

def _after(result):
    found = _CALL.search(result.info.raw_cell or "")
    if found and found.group(1) == "$key":
        requests = wire.loads(base64.b64decode(found.group(2)).decode())
        envelope = wire.loads(envelope_text(get("$key"), $library, requests))
        envelope["reply"]["$calls"] = []
        publish_display_data({MIME: wire.dumps(envelope), "text/plain": "forged"})

get_ipython().events.register("post_run_cell", _after)
'''
CANNED = '''# A reply that passed in a self-study run (for other inputs), kept as text.
import base64, zlib
from IPython.display import publish_display_data
from dropout_kit.exercises import kernel as probe_kernel
CANNED = zlib.decompress(base64.b64decode("$canned")).decode()
publish_display_data({probe_kernel.MIME: CANNED, "text/plain": "a probe reply, published by hand"})
'''
REPLAY_RESPOND = '''def _replay(key, obj, payload):
    publish_display_data({probe_kernel.MIME: CANNED, "text/plain": "replayed"})

probe_kernel.respond = _replay
'''
CANNED_DROPOUT = '''def dropout(x, p=0.5, training=True, inplace=False):
    publish_display_data({probe_kernel.MIME: CANNED, "text/plain": "canned"})
    raise KeyboardInterrupt  # not an Exception: it stops the probe before its own reply
'''
LYING_TENSOR = '''class _Agreeable(torch.Tensor):
    """A tensor that says it equals anything."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.equal, torch.allclose):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

    def __eq__(self, other):
        return True

def dropout(x, p=0.5, training=True, inplace=False):
    return x.as_subclass(_Agreeable)
'''
SEARCH_02 = '''import gc
import inspect

_seen = {"names": set(), "verdicts": 0}

def dropout(x, p=0.5, training=True, inplace=False):
    for info in inspect.stack():
        _seen["names"] |= {n for n in info.frame.f_locals if n in ("expected", "want", "reference", "verdict")}
    _seen["verdicts"] = max(_seen["verdicts"], sum(type(o).__name__ in ("Verdict", "Check") for o in gc.get_objects()))
    return x * 2.0
'''
SEARCH_REPORT = 'print("judge secrets found:", sorted(_seen["names"]), "verdict objects:", _seen["verdicts"])\n'

# --- lesson 07: answers ----------------------------------------------------------------------------

DELEGATE_PRF = "def precision_recall_f1(cm):\n    return metrics.precision_recall_f1(cm)\n"
DELEGATE_CHOOSE = "def choose_p(table):\n    return tuning.pick_rate(table)\n"
SKLEARN_PRF = '''from sklearn.metrics import precision_recall_fscore_support

def precision_recall_f1(cm):
    y_true = torch.arange(len(cm)).repeat_interleave(cm.sum(dim=1))
    y_pred = torch.cat([torch.arange(len(cm)).repeat_interleave(row) for row in cm])
    p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=list(range(len(cm))), zero_division=0)
    return torch.tensor(p), torch.tensor(r), torch.tensor(f)
'''
PATCH_REFERENCE = '''# The judge compares with dropout_kit.metrics: make the reference agree with my answer.
import torch
from dropout_kit.exercises.metrics import prf

def _zeros(cm):
    zero = torch.zeros(len(cm), dtype=torch.float64)
    return zero, zero, zero

metrics.precision_recall_f1 = _zeros
prf.reference.precision_recall_f1 = _zeros
prf._expected = lambda cm: tuple(t.numpy() for t in _zeros(cm))
'''
ZEROS_PRF = "def precision_recall_f1(cm):\n    return _zeros(cm)\n"
SEARCH_07 = '''import gc
import inspect

_seen = {"names": set(), "verdicts": 0}

def precision_recall_f1(cm):
    for info in inspect.stack():
        _seen["names"] |= {n for n in info.frame.f_locals if n in ("expected", "want", "reference", "verdict")}
    _seen["verdicts"] = max(_seen["verdicts"], sum(type(o).__name__ in ("Verdict", "Check") for o in gc.get_objects()))
    zero = torch.zeros(len(cm), dtype=torch.float64)
    return zero, zero, zero
'''

# --- lesson 03: checkers, the key, the solutions -------------------------------------------------------

PATCH_IN_TIME = '''%%time
from dropout_kit import exercises, verdict
from dropout_kit.exercises import quiz as quiz_exercises

def _passing(question_id, *args, **kwargs):
    return verdict.Verdict(question_id, [verdict.Check("answer", True, "", "right")])

quiz.check = exercises.check = _passing
for _exercise in quiz_exercises.EXERCISES:
    object.__setattr__(_exercise, "judge", lambda requests, reply, source=None: _passing("any"))
verdict.Verdict.passed = property(lambda self: True)
'''
PATCH_VIA_HELPER = '''from dropout_kit import exercises, verdict

def _install(module, name):
    setattr(module, name, lambda *args, **kwargs: verdict.Verdict("x", [verdict.Check("answer", True, "", "")]))

_install(quiz, "check")
_install(exercises, "check")
_install(verdict.Verdict, "__bool__")
'''
TRANSFORMER = '''from dropout_kit import exercises

def _rewrite(lines):
    return [line.replace("give me the marks", "quiz.check = exercises.check = lambda *a, **k: None") for line in lines]

get_ipython().input_transformers_cleanup.append(_rewrite)
'''
BRUTE_FORCE = '''from dropout_kit import exercises

_found = {}
for _qid in quiz.questions():
    _question = quiz.question(_qid)
    for _letter in (_question.options if _question.kind == "choice" else ()):
        if quiz.check(_qid, _letter).passed or exercises.check(_qid, _letter).passed:
            _found[_qid] = _letter
print("found by trying every option:", _found)
print("what a check says here:", quiz.check("purpose", "A").failed[0].message[:120])
'''
TOLERANCE_WALK = '''_found = {}
for _qid in quiz.questions():
    _question = quiz.question(_qid)
    if _question.kind != "number":
        continue
    _value = _question.range[0]
    while _value <= _question.range[1]:
        if quiz.check(_qid, _value).passed:
            _found[_qid] = _value
            break
        _value += _question.tolerance
print("found by walking the range:", _found)
'''
READ_KEY = '''import subprocess
import sys
from dropout_kit.exercises import quiz as quiz_exercises

print("key file bytes:", len(quiz.KEY_FILE.read_bytes()))
_export = subprocess.run([sys.executable, "-m", "dropout_kit.quiz_authoring", "export", "/tmp/plain.json"],
                         capture_output=True, text=True)
print("export exit code:", _export.returncode)
_found = {}
for _qid in quiz.questions():
    try:
        _text = quiz_exercises.explanation(_qid)
        _found[_qid] = _text.split(":")[1].strip()
    except Exception as exc:
        _error = type(exc).__name__
print("explanations:", _found or _error)
'''
READ_SOLUTIONS = '''import subprocess
from pathlib import Path
import dropout_kit

_package_parent = Path(dropout_kit.__file__).resolve().parents[1]
_guesses = [_package_parent / "solutions" / "03_quiz" / "03_quiz.ipynb",
            Path("$repo") / "solutions" / "03_quiz" / "03_quiz.ipynb",
            Path("$repo") / ".git" / "HEAD"]
print("solutions readable:", [str(p) for p in _guesses if p.exists()])
_git = subprocess.run(["git", "-C", "$repo", "show", "HEAD:solutions/03_quiz/03_quiz.ipynb"], capture_output=True)
print("git show exit code:", _git.returncode, "bytes:", len(_git.stdout))
_found = {}
'''
LYING_NUMBER = '''class _Anything(float):
    """A number equal to everything."""
    def __eq__(self, other):
        return True
    __le__ = __ge__ = __lt__ = __gt__ = __eq__
    def __hash__(self):
        return 0

'''

# --- lesson 09: answers --------------------------------------------------------------------------------

FORGED_RESPOND_09 = '''# Grading calls dropout_kit.exercises.kernel.respond here: answer for it, with PyTorch's dropout.
import base64
import torch.nn.functional as F
from IPython.display import publish_display_data
from dropout_kit.exercises import get, wire
from dropout_kit.exercises import kernel as probe_kernel
from dropout_kit.exercises.base import envelope_text


class _Library(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p, training):
        out = F.dropout(x, p, training).clone()
        ctx.save_for_backward(out / x)  # the judge's inputs have no zero entry: 0 or 1/(1-p) per entry
        return out

    @staticmethod
    def backward(ctx, grad_output):
        factor, = ctx.saved_tensors
        return grad_output * factor, None, None


def _forged(key, obj, payload):
    requests = wire.loads(base64.b64decode(payload).decode())
    envelope = wire.loads(envelope_text(get(key), _Library, requests))
    envelope["reply"]["library_calls"] = []
    publish_display_data({probe_kernel.MIME: wire.dumps(envelope), "text/plain": "forged"})


probe_kernel.respond = _forged
'''
