"""The learners of tests/test_attacks.py: what each one submits, and what grading must give it.

Each learner is a determined attacker (or an honest learner with unusual habits) working on the
real lessons 02, 03, 07 and 09. ``expected`` holds the score each lesson must get: the score of the
learner's honest work (what it would earn without the attack), or None where the lesson must
fail with a reason. The learners' code is text, as in a notebook; ``$name`` fields are filled in
from the run (paths, the port of the test's HTTP server, a marker for process searches).
"""

from __future__ import annotations

import copy
import string
from dataclasses import dataclass, field
from pathlib import Path

from attack_code import (ATEN_DROPOUT, ATTRGETTER, BLIND_DETECTOR, BRUTE_FORCE, BUILT_NAME, CANNED, CANNED_DROPOUT,
                         DELEGATE_CHOOSE, DELEGATE_PRF, F_DROPOUT, FORGED_HOOK, FORGED_RESPOND, FORGED_RESPOND_09,
                         LYING_NUMBER, LYING_TENSOR, NOT_A_CLASS, PATCH_IN_TIME, PATCH_JUDGES_02, PATCH_REFERENCE,
                         PATCH_VIA_HELPER, READ_KEY, READ_SOLUTIONS, REPLAY_RESPOND, SEARCH_02, SEARCH_07,
                         SEARCH_REPORT, SKLEARN_PRF, TOLERANCE_WALK, TRANSFORMER, UNUSUAL_DROPOUT, UNUSUAL_MASK,
                         ZEROS_PRF)
from attack_code_others import (BOLD_NOTES, COMPARE_02, COMPARE_07, DETACHED, GRADEBOOK, HTML_CELL, HTML_MARKDOWN,
                                HTML_REPR, NETWORK, PLOT, READ_OTHERS, RESEED, REWRITE_OTHERS, SAFE_RATIO,
                                SHADOWED_BUILTINS, UNUSUAL_PRF)
from attack_notebooks import Link, answer_of, answered, code_cell, inserted, kept, markdown_cell, raw_cell
from quiz_answers import CHOICE_KEY, NUMBER_KEY

from dropout_kit import quiz

L02, L03, L07, L09 = "02_from_scratch", "03_quiz", "07_metrics", "09_backward"
LESSONS = (L02, L03, L07, L09)
MAX = {L02: 10.0, L03: 17.0, L07: 6.0, L09: 5.0}
# Lesson 07 without its training cells: the two exercises and what they need, so attackers run fast.
SLIM_07 = ["setup", "metrics-01", "precision_recall_f1", "test_precision_recall_f1", "choose_p", "test_choose_p"]


@dataclass
class Learner:
    """One learner of the run: the question the test asks about it, its notebooks and its due scores."""

    name: str
    question: str
    notebooks: dict[str, dict]
    expected: dict[str, float | None]         # lesson -> honest score, or None: failed with a reason
    reason: dict[str, str] = field(default_factory=dict)    # lesson -> part of the failure reason
    verdicts: dict[str, str] = field(default_factory=dict)  # test grade id -> part of its verdict's text
    printed: dict[str, str] = field(default_factory=dict)   # lesson -> part of what the learner's cells printed
    limit: str = ""  # an attack that succeeds: the documented limit (a sentence of the docs) it falls under


def fill(template: str, ctx: dict) -> str:
    """``template`` with its ``$name`` fields taken from ``ctx``."""
    return string.Template(template).substitute(ctx)


# --- lesson 03: answers ----------------------------------------------------------------------------

def _wrong_letter(question_id: str) -> str:
    right = CHOICE_KEY[question_id][0]
    letters = list(quiz.question(question_id).options)
    return letters[(letters.index(right) + 1) % len(letters)]


def quiz_answers(right: tuple[str, ...] = ()) -> dict[str, str]:
    """Answer cells for every question: right for the ids in ``right``, wrong (a wrong letter, 0.5) for the others."""
    cells = {}
    for qid in quiz.questions():
        if qid in CHOICE_KEY:
            value = repr(CHOICE_KEY[qid][0] if qid in right else _wrong_letter(qid))
        else:
            value = repr(NUMBER_KEY[qid][0] if qid in right else 0.5)
        cells[f"answer_{qid}"] = f"answer_{qid} = {value}\n"
    return cells


THREE_RIGHT = ("purpose", "make_p30", "eval_output")  # 3 points of honest work
FOUND_ANSWERS = {f"answer_{qid}": f"answer_{qid} = _found.get({qid!r})\n" for qid in quiz.questions()}


def honest_and_unusual(S: dict, R: dict) -> list[Learner]:
    """Learners whose answers are right, written with habits the grader must not punish."""
    unusual_02 = answered(S[L02], dropout_function=UNUSUAL_DROPOUT,
                          dropout_module="%%time\n" + answer_of(S[L02], "dropout_module"))
    unusual_02 = inserted(unusual_02, "scratch-01", SHADOWED_BUILTINS, UNUSUAL_MASK, markdown_cell(BOLD_NOTES))
    unusual_02 = inserted(unusual_02, "dropout_function", "%time y = dropout(torch.ones(1000), 0.5)",
                          "import inspect\nprint(inspect.getsource(dropout))",
                          "print(dropout.__code__.co_varnames, dropout.__defaults__)")
    unusual_02 = inserted(unusual_02, "scratch-05", RESEED)
    unusual_02 = inserted(unusual_02, "dropout_module", "print(vars(Dropout(0.3)))\nprint(Dropout.__mro__)", PLOT, RESEED)
    compare_02 = inserted(inserted(S[L02], "dropout_function", COMPARE_02), "dropout_module",
                          "print(Dropout(0.5), nn.Dropout(0.5))")
    unusual_03 = answered(S[L03], answer_purpose='answer_purpose = " b "\n', answer_make_p30='answer_make_p30 = "(A)"\n',
                          answer_eval_output='answer_eval_output = "c."\n',
                          answer_precision="answer_precision = ratio(85, 85 + 10)\n",
                          answer_recall='answer_recall = "85%"\n',
                          answer_accuracy="import numpy as np\nanswer_accuracy = np.float64(175 / 200)\n",
                          answer_f1="%%time\nanswer_f1 = 2 * 85 / (2 * 85 + 10 + 15)\n",
                          answer_keep_prob="%time answer_keep_prob = 1 - 0.8\n")
    unusual_03 = inserted(unusual_03, "quiz-01", SHADOWED_BUILTINS, "def ratio(a, b):\n    return a / b\n",
                          markdown_cell(BOLD_NOTES))
    unusual_03 = inserted(unusual_03, "answer_purpose", "print('thinking about the next one')", "x = 1 + 1")
    unusual_07 = answered(kept(S[L07], SLIM_07), precision_recall_f1=UNUSUAL_PRF,
                          choose_p="%%time\n" + answer_of(S[L07], "choose_p"))
    unusual_07 = inserted(unusual_07, "metrics-01", SAFE_RATIO, markdown_cell(BOLD_NOTES))
    unusual_07 = inserted(unusual_07, "precision_recall_f1", COMPARE_07, "import inspect\nprint(inspect.getsource(_safe_ratio))",
                          PLOT, RESEED)
    unusual_07 = inserted(unusual_07, "choose_p", "%time chosen = choose_p([{'p': 0.1, 'n': 1, 'val_acc_mean': 0.9, "
                          "'val_acc_std': float('nan')}])", RESEED)
    return [
        Learner("solutions", "Does the solution of every lesson, graded among the attackers, get full marks?",
                {lesson: S[lesson] for lesson in LESSONS}, dict(MAX)),
        Learner("release", "Does the untouched release of every lesson get 0?",
                {lesson: R[lesson] for lesson in LESSONS}, {lesson: 0.0 for lesson in LESSONS}),
        Learner("unusual_02", "Do shadowed builtins, inspect.getsource, vars(), a helper cell, %time and %%time, "
                "a plot, reseeding before the tests and HTML in markdown keep full marks in lesson 02?",
                {L02: unusual_02}, {L02: MAX[L02]}),
        Learner("compare_02", "Does comparing one's own dropout with F.dropout and nn.Dropout in separate cells "
                "keep full marks?", {L02: compare_02}, {L02: MAX[L02]}),
        Learner("unusual_03", "Do answers written as ' b ', '(A)', 'c.', '85%', numpy numbers, a helper's result and "
                "%time / %%time assignments keep full marks in the quiz?", {L03: unusual_03}, {L03: MAX[L03]}),
        Learner("unusual_07", "Do a helper cell, comparisons with metrics and scikit-learn in separate cells, %%time, "
                "a plot and reseeding keep full marks in lesson 07?", {L07: unusual_07}, {L07: MAX[L07]}),
    ]


def marks_attacks(S: dict, R: dict, ctx: dict) -> list[Learner]:
    """Learners who try to get marks they did not earn; each expected score is their honest work's."""
    sol_dropout, sol_module = answer_of(S[L02], "dropout_function"), answer_of(S[L02], "dropout_module")
    r02, r07 = R[L02], kept(R[L07], SLIM_07)
    wrong = answered(R[L03], **quiz_answers())
    three = answered(R[L03], **quiz_answers(THREE_RIGHT))
    hook = {L02: dict(imports="import torch.nn.functional as F", key="dropout_function", library="F.dropout",
                      calls="library_calls"),
            L07: dict(imports="from dropout_kit import metrics as reference", key="precision_recall_f1",
                      library="reference.precision_recall_f1", calls="calls")}
    canned = code_cell(fill(CANNED, ctx))
    from_scratch_fails = "from_scratch"
    return [
        # --- replacing checkers and judges in the kernel
        Learner("patch_judges_02", "Does replacing exercises.check, the judges, Exercise.decide and Verdict.passed "
                "in the kernel earn anything?", {L02: inserted(r02, "scratch-01", PATCH_JUDGES_02)}, {L02: 0.0}),
        Learner("patch_in_time_03", "Does replacing quiz.check, the quiz judges and Verdict.passed inside a %%time "
                "cell earn anything?", {L03: inserted(wrong, "quiz-01", PATCH_IN_TIME)}, {L03: 0.0}),
        Learner("patch_via_helper_03", "Does a helper that receives the module and replaces its checker earn anything?",
                {L03: inserted(wrong, "quiz-01", PATCH_VIA_HELPER)}, {L03: 0.0}),
        Learner("transformer_03", "Does an IPython input transformer, plus a cell that only it makes Python, earn "
                "anything?", {L03: inserted(wrong, "quiz-01", TRANSFORMER, "give me the marks")}, {L03: 0.0}),
        # --- forged probe replies and lying objects
        Learner("forged_respond_02", "Does replacing kernel.respond, to answer the probe with PyTorch's dropout, "
                "earn anything?", {L02: answered(inserted(r02, "scratch-01", FORGED_RESPOND), dropout_module=NOT_A_CLASS)},
                {L02: 0.0}, verdicts={"test_dropout_function": from_scratch_fails}),
        Learner("forged_hook_02", "Does a post_run_cell hook that publishes a second, forged reply (PyTorch's dropout) "
                "earn anything, or is the lesson failed for tampering?",
                {L02: inserted(r02, "scratch-01", fill(FORGED_HOOK, hook[L02]))}, {L02: None},
                reason={L02: "tampering: 2 probe replies came for one call"},
                verdicts={"test_dropout_function": "2 probe replies"}),
        Learner("forged_hook_07", "Does a post_run_cell hook that publishes a forged reply computed by "
                "metrics.precision_recall_f1 earn anything, or is the lesson failed for tampering?",
                {L07: inserted(r07, "metrics-01", fill(FORGED_HOOK, hook[L07]))}, {L07: None},
                reason={L07: "tampering: 2 probe replies came for one call"},
                verdicts={"test_precision_recall_f1": "2 probe replies"}),
        Learner("forged_respond_09", "Does replacing kernel.respond, to answer lesson 09's probe with a Function "
                "built on PyTorch's dropout, earn anything?", {L09: inserted(R[L09], "backward-01", FORGED_RESPOND_09)},
                {L09: 0.0}, verdicts={"test_dropout_backward": "uses F.dropout"}),
        Learner("replayed_reply_02", "Does a reply that passed in self-study (for other inputs), replayed by a "
                "replaced respond, earn anything?",
                {L02: answered(inserted(r02, "scratch-01", canned, REPLAY_RESPOND), dropout_module=NOT_A_CLASS)},
                {L02: 0.0}),
        Learner("fake_display_02", "Does probe-typed display data, published by hand in a cell and by dropout itself "
                "(which then stops the probe with KeyboardInterrupt), earn anything, or is it failed for tampering?",
                {L02: answered(inserted(r02, "scratch-01", canned), dropout_function=CANNED_DROPOUT)}, {L02: None},
                reason={L02: "tampering: a reply came, but then the probe call failed"}),
        Learner("lying_tensor_02", "Does a tensor subclass for which torch.equal, allclose and == are always True "
                "earn anything?", {L02: answered(r02, dropout_function=LYING_TENSOR)}, {L02: 0.0}),
        Learner("search_02", "Does walking the call stack and gc.get_objects() from dropout find judge secrets "
                "or verdicts (it must find none)?", {L02: inserted(answered(r02, dropout_function=SEARCH_02),
                                                                   "scratch-13", SEARCH_REPORT)},
                {L02: 0.0}, printed={L02: "judge secrets found: [] verdict objects: 0"}),
        # --- lesson 02: PyTorch's dropout in disguise
        Learner("f_dropout_02", "Does `return F.dropout(...)` earn anything, for the function or the layer built on it?",
                {L02: answered(r02, dropout_function=F_DROPOUT, dropout_module=sol_module)}, {L02: 0.0},
                verdicts={"test_dropout_function": "uses F.dropout", "test_dropout_module": "uses F.dropout"}),
        Learner("subclass_02", "Does `class Dropout(nn.Dropout): pass` earn the layer's points (the function is right)?",
                {L02: answered(r02, dropout_function=sol_dropout,
                               dropout_module="class Dropout(nn.Dropout):\n    pass\n")},
                {L02: 5.0}, verdicts={"test_dropout_module": "derives from"}),
        Learner("aten_02", "Does torch.ops.aten.native_dropout earn anything?",
                {L02: answered(r02, dropout_function=ATEN_DROPOUT)}, {L02: 0.0},
                verdicts={"test_dropout_function": "native_dropout"}),
        Learner("built_name_02", "Does getattr(F, 'drop' + 'out'), a name the scan cannot read, earn anything "
                "(the run-time detector sees it in grading)?",
                {L02: answered(r02, dropout_function=BUILT_NAME)}, {L02: 0.0},
                verdicts={"test_dropout_function": "from_scratch"}),
        Learner("built_name_blind_02", "Does getattr(F, 'drop' + 'out') with the run-time detector switched off "
                "earn anything?", {L02: answered(inserted(r02, "scratch-01", BLIND_DETECTOR), dropout_function=BUILT_NAME)},
                {L02: 0.0}, verdicts={"test_dropout_function": "the grader cannot read your code"}),
        Learner("attrgetter_blind_02", "Does operator.attrgetter('drop' + 'out') with the detector switched off earn "
                "the function's points? It does: a name built at run time, hidden from a detector the learner "
                "switched off, is the documented limit of the source rules.",
                {L02: answered(inserted(r02, "scratch-01", BLIND_DETECTOR), dropout_function=ATTRGETTER)},
                {L02: 5.0}, limit="a name built at run time"),
        # --- lesson 03: the key
        Learner("brute_force_03", "Does trying every option with quiz.check and exercises.check find any answer "
                "(the key is hidden while grading)?", {L03: answered(inserted(R[L03], "quiz-01", BRUTE_FORCE),
                                                                      **FOUND_ANSWERS)},
                {L03: 0.0}, printed={L03: "found by trying every option: {}"}),
        Learner("tolerance_walk_03", "Does walking each number question's range by its tolerance find any answer?",
                {L03: answered(inserted(R[L03], "quiz-01", TOLERANCE_WALK), **FOUND_ANSWERS)},
                {L03: 0.0}, printed={L03: "found by walking the range: {}"}),
        Learner("read_key_03", "Can the kernel read the quiz key, export it, or get explanations from it?",
                {L03: answered(inserted(R[L03], "quiz-01", READ_KEY), **FOUND_ANSWERS)},
                {L03: 0.0}, printed={L03: "key file bytes: 0"}),
        Learner("read_solutions_03", "Can the kernel read solutions/03_quiz/03_quiz.ipynb or the repository?",
                {L03: answered(inserted(R[L03], "quiz-01", fill(READ_SOLUTIONS, ctx)), **FOUND_ANSWERS)},
                {L03: 0.0}, printed={L03: "solutions readable: []"}),
        Learner("lying_number_03", "Does a float subclass that equals every number earn anything?",
                {L03: answered(inserted(wrong, "quiz-01", LYING_NUMBER),
                               **{f"answer_{q}": f"answer_{q} = _Anything(0.5)\n" for q in NUMBER_KEY})},
                {L03: 0.0}),
        Learner("metadata_bonus_03", "Does a test cell of the learner's own, worth 100 points, add points? (It has no "
                "judge, and nbgrader, which finds it in no gradebook, fails the lesson.)", {L03: _bonus_cell(wrong)},
                {L03: None}),
        Learner("metadata_answer_03", "Does an answer cell marked as graded (50 points) add points? (nbgrader "
                "refuses it: the lesson fails, naming the cell.)", {L03: _graded_answer(wrong)}, {L03: None},
                reason={L03: "No such grade cell: 03_quiz/03_quiz/answer_purpose"}),
        # --- lesson 07: delegation
        Learner("delegate_07", "Does delegating to metrics.precision_recall_f1 and tuning.pick_rate earn anything?",
                {L07: answered(r07, precision_recall_f1=DELEGATE_PRF, choose_p=DELEGATE_CHOOSE)}, {L07: 0.0},
                verdicts={"test_precision_recall_f1": "metrics.precision_recall_f1",
                          "test_choose_p": "tuning.pick_rate"}),
        Learner("sklearn_07", "Does computing the metrics with scikit-learn earn anything?",
                {L07: answered(r07, precision_recall_f1=SKLEARN_PRF)}, {L07: 0.0},
                verdicts={"test_precision_recall_f1": "sklearn"}),
        Learner("patch_reference_07", "Does patching the judge's reference (metrics, prf._expected) in the kernel "
                "to agree with a wrong answer earn anything?",
                {L07: answered(inserted(r07, "metrics-01", PATCH_REFERENCE), precision_recall_f1=ZEROS_PRF)},
                {L07: 0.0}),
        Learner("search_07", "Does walking the call stack and gc.get_objects() find the judge's expected values?",
                {L07: inserted(answered(r07, precision_recall_f1=SEARCH_07), "choose_p", SEARCH_REPORT)},
                {L07: 0.0}, printed={L07: "judge secrets found: [] verdict objects: 0"}),
    ]


def _bonus_cell(nb: dict) -> dict:
    bonus = code_cell("print('a test cell of my own')")
    bonus["metadata"]["nbgrader"] = {"grade": True, "grade_id": "test_bonus", "points": 100, "solution": False,
                                     "locked": True, "schema_version": 3, "task": False}
    return inserted(nb, "quiz-01", bonus)


def _graded_answer(nb: dict) -> dict:
    nb = copy.deepcopy(nb)
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "answer_purpose")
    cell["metadata"]["nbgrader"].update(grade=True, points=50)
    return nb


def harm_attacks(S: dict, R: dict, ctx: dict) -> list[Learner]:
    """Learners who try to harm others (their gradebook rows, files, grades, network, the feedback's readers)."""
    three = answered(R[L03], **quiz_answers(THREE_RIGHT))
    victim = inserted(S[L03], "quiz-01", f"# {ctx['secret']}: a comment only this learner's notebook holds")
    html_02 = answered(S[L02], dropout_module=answer_of(S[L02], "dropout_module").replace(
        '    def extra_repr(self):\n        return f"p={self.p}, inplace={self.inplace}"\n', HTML_REPR))
    html_02 = inserted(html_02, "scratch-01", markdown_cell(HTML_MARKDOWN),
                       raw_cell("<script>alert('raw')</script><img src=x onerror=alert('raw2')>"), HTML_CELL)
    return [
        Learner("victim", "Is a learner graded beside the attackers (their target) given full marks, "
                "with its files unchanged?", {L03: victim}, {L03: MAX[L03]}),
        Learner("gradebook_03", "Can the kernel open the gradebook (path guessed or known) and set manual scores?",
                {L03: inserted(three, "quiz-01", fill(GRADEBOOK, ctx))}, {L03: 3.0}),
        Learner("rewrite_others_03", "Can the kernel rewrite another learner's notebook, grades.csv, the workspace, "
                "the solutions or the package?", {L03: inserted(three, "quiz-01", fill(REWRITE_OTHERS, ctx))},
                {L03: 3.0}, printed={L03: "rewrite attempts:"}),
        Learner("detached_03", "Do processes detached with setsid, nohup and a double fork outlive grading "
                "and rewrite files later?", {L03: inserted(three, "quiz-01", fill(DETACHED, ctx))}, {L03: 3.0}),
        Learner("read_others_03", "Can the kernel find other learners' notebooks, grades or the victim's text "
                "anywhere on the file system, or through inherited descriptors?",
                {L03: inserted(three, "quiz-01", fill(READ_OTHERS, ctx))}, {L03: 3.0},
                printed={L03: "other notebooks: []\ngradebooks and grades: []\nfiles holding the victim's secret: []"}),
        Learner("network_03", "Can the kernel reach a server on 127.0.0.1 or the host's address, or the internet?",
                {L03: inserted(three, "quiz-01", fill(NETWORK, ctx))}, {L03: 3.0}),
        Learner("html_02", "Do <script>, onerror= and javascript: links in markdown, raw cells, outputs, errors and "
                "a layer's repr stay out of the feedback HTML as live markup (the answers are right)?",
                {L02: html_02}, {L02: MAX[L02]}),
    ]


def limit_attacks(S: dict, R: dict, ctx: dict) -> list[Learner]:
    """Learners who flood, bomb, hog or kill (run B: lesson 03, short time limits); and one honest learner."""
    three = answered(R[L03], **quiz_answers(THREE_RIGHT))

    def after_tests(code: str) -> dict:
        return inserted(three, "test_eval_output", code)

    mib = '_chunk = "x" * 2**20\n'
    return [
        Learner("honest_b", "Is an honest learner graded beside the bombs and floods given full marks?",
                {L03: S[L03]}, {L03: MAX[L03]}),
        Learner("flood_stdout", "Does printing 300 MB end the lesson with a reason, leaving small files?",
                {L03: after_tests(mib + "for _ in range(300):\n    print(_chunk)")}, {L03: None},
                reason={L03: "output:"}),
        Learner("flood_stderr", "Does sys.stderr.write of 300 MB end the lesson with a reason, leaving small files?",
                {L03: after_tests(mib + "import sys\nfor _ in range(300):\n    sys.stderr.write(_chunk)")},
                {L03: None}, reason={L03: "output:"}),
        Learner("flood_fd2", "Does os.write(2, ...) of 300 MB (past ipykernel, into the kernel's log) end the lesson "
                "with a reason, leaving small files?",
                {L03: after_tests(mib + "import os\nfor _ in range(300):\n    os.write(2, _chunk.encode())")},
                {L03: None}, reason={L03: "output:"}),
        Learner("fork_bomb", "Does a fork bomb end the lesson with a reason, leaving no process behind?",
                {L03: after_tests(fill('import subprocess, time\nsubprocess.Popen(["sh", "-c", "b() { b | b & }; b", '
                                       '"$marker"])\ntime.sleep(5)\n', ctx))}, {L03: None}, reason={L03: "processes"}),
        Learner("memory_hog", "Does taking memory without end end the lesson with a reason?",
                {L03: after_tests('_blocks = []\nwhile True:\n    _blocks.append(b"x" * (64 << 20))')}, {L03: None},
                reason={L03: "memory"}),
        Learner("huge_file", "Is a 200 MB file refused (File too large), the lesson scored as its honest work?",
                {L03: after_tests('try:\n    with open("big.bin", "wb") as f:\n        for _ in range(200):\n'
                                  '            f.write(b"x" * 2**20)\nexcept OSError as exc:\n'
                                  '    print("writing stopped:", exc)\n')},
                {L03: 3.0}, printed={L03: "File too large"}),
        Learner("fill_tmp", "Is filling /tmp refused (no space left), the lesson scored as its honest work?",
                {L03: after_tests('try:\n    for _n in range(8):  # files of 60 MB: each under the file size limit\n'
                                  '        with open(f"/tmp/fill{_n}.bin", "wb") as f:\n'
                                  '            for _ in range(60):\n                f.write(b"x" * 2**20)\n'
                                  'except OSError as exc:\n    print("writing stopped:", exc)\n')},
                {L03: 3.0}, printed={L03: "No space left"}),
        Learner("ignores_sigint", "Does a cell that ignores SIGINT and loops end the lesson with a timeout?",
                {L03: after_tests("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")},
                {L03: None}, reason={L03: "timeout"}),
        Learner("exits_python", "Does os._exit end the lesson with 'kernel died'?",
                {L03: after_tests("import os\nos._exit(0)")}, {L03: None}, reason={L03: "kernel died"}),
        Learner("kills_others", "Do os.kill of the parent, of pid 1 and of every pid, and os.killpg(0) harm "
                "only the attacker's own kernel?",
                {L03: after_tests("import os, signal\nfor _pid in (os.getppid(), 1):\n    try:\n"
                                  "        os.kill(_pid, signal.SIGKILL)\n    except OSError:\n        pass\n"
                                  "for _kill in (lambda: os.killpg(0, signal.SIGKILL), "
                                  "lambda: os.kill(-1, signal.SIGKILL)):\n    try:\n        _kill()\n"
                                  "    except OSError:\n        pass\n")},
                {L03: None}, reason={L03: "kernel died"}),
    ]


def file_attacks(S: dict, R: dict, ctx: dict) -> list[Learner]:
    """Learners whose handed-in file itself is the attack (run C, lesson 03): links, a huge file, deep JSON."""
    huge = inserted(answered(R[L03], **quiz_answers(THREE_RIGHT)), None, "print('a huge output')")
    huge["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x" * (65 * 2**20)}]
    return [
        Learner("honest_c", "Is an honest learner graded beside the file attacks given full marks?", {L03: S[L03]},
                {L03: MAX[L03]}),
        Learner("link_to_solutions", "Does a notebook that is a symbolic link to the instructor's solution earn "
                "anything?", {L03: Link(Path(ctx["repo"]) / "solutions" / L03 / f"{L03}.ipynb")}, {L03: None},
                reason={L03: "is a symbolic link"}),
        Learner("link_to_other_learner", "Does a learner folder that is a symbolic link to another learner's folder "
                "earn that learner's marks?", {L03: Link(Path(ctx["subs"]) / "honest_c", folder=True)}, {L03: None},
                reason={L03: "is a symbolic link"}),
        Learner("huge_notebook", "Is a 65 MB notebook refused unread, with the remedy?", {L03: huge}, {L03: None},
                reason={L03: "clear its outputs"}),
        Learner("deep_json", "Does JSON nested 100,000 deep fail this learner's lesson, not the whole run?",
                {L03: "[" * 100_000 + "]" * 100_000}, {L03: None}, reason={L03: "nested too deeply"}),
    ]
