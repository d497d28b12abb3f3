"""Tests of running code in a learner's kernel: what is kept, what is dropped, and the limits."""

import base64

import pytest
from jupyter_client import KernelManager

from dropout_kit.course.outputs import CELL_TEXT_CHARS, Budget, run_code
from dropout_kit.exercises.kernel import MIME

pytestmark = pytest.mark.slow  # starts a kernel


@pytest.fixture(scope="module")
def client():
    km = KernelManager(kernel_name="python3")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    kc.manager = km  # for the tests that interrupt the kernel
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def test_streams_results_and_errors_are_kept(client):
    """Are stdout, stderr, a result and an error kept as notebook outputs, with the error's text?"""
    result = run_code(client, "print('hi'); import sys; print('oops', file=sys.stderr)\n1 + 1", 30, Budget())
    assert result.finished and not result.timed_out
    kinds = [(o.output_type, o.get("name")) for o in result.outputs]
    assert kinds == [("stream", "stdout"), ("stream", "stderr"), ("execute_result", None)]
    assert result.outputs[0].text == "hi\n" and result.outputs[2].data == {"text/plain": "2"}
    failed = run_code(client, "raise ValueError('bad p')", 30, Budget())
    assert failed.error == "ValueError: bad p" and failed.outputs[-1].output_type == "error"


def test_html_script_and_markdown_never_reach_the_notebook(client):
    """Are HTML, JavaScript, Markdown and SVG outputs dropped, keeping only plain text and images?"""
    code = ("from IPython.display import display, HTML, Javascript, Markdown\n"
            "display(HTML('<script>alert(1)</script>'))\n"
            "display(Javascript('alert(2)'))\n"
            "display({'text/html': '<b>x</b>', 'text/plain': 'x', 'image/svg+xml': '<svg onload=alert(3)/>'}, raw=True)\n"
            "display(Markdown('<img src=x onerror=alert(4)>'))")
    result = run_code(client, code, 30, Budget())
    text = repr([dict(o) for o in result.outputs])
    assert "alert" not in text and "<script" not in text and "svg" not in text.replace("image/svg+xml output", "")
    assert any(o.get("data", {}).get("text/plain") == "x" for o in result.outputs)


def test_probe_replies_are_set_aside(client):
    """Is a probe reply handed over as data, not stored as an output?"""
    code = f"from IPython.display import publish_display_data\npublish_display_data({{'{MIME}': '{{\"ok\": true}}'}})"
    result = run_code(client, code, 30, Budget())
    assert result.replies == ['{"ok": true}'] and result.outputs == []


def test_long_output_is_truncated_per_cell(client):
    """Is a cell's text capped, with a note saying the grader truncated it?"""
    result = run_code(client, f"print('y' * {3 * CELL_TEXT_CHARS})", 30, Budget())
    stored = "".join(o.get("text", "") for o in result.outputs)
    assert result.truncated and len(stored) < CELL_TEXT_CHARS + 100
    assert "[output truncated by the grader]" in stored


def test_a_flood_spends_the_budget(client):
    """Does output past the lesson's byte budget end the wait and mark the budget as flooded?"""
    budget = Budget(limit=1_000_000)
    result = run_code(client, "import sys\nfor _ in range(50): sys.stdout.write('z' * 100_000); sys.stdout.flush()",
                      60, budget)
    assert budget.flooded and result.truncated and not result.finished
    run_code(client, "pass", 30, Budget())  # drain: the kernel goes on printing after we stopped listening


def test_a_hang_times_out(client):
    """Does a cell that never ends come back as timed out after the timeout?"""
    result = run_code(client, "import time\ntime.sleep(30)", 1.5, Budget())
    assert result.timed_out and not result.finished
    client.manager.interrupt_kernel()  # as TrustedExecute does after a timeout
    assert run_code(client, "pass", 10, Budget()).finished


def test_images_are_kept_and_capped(client):
    """Is a PNG kept, and is an oversized image dropped?"""
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 100).decode()
    small = run_code(client, f"display({{'image/png': '{png}', 'text/plain': 'fig'}}, raw=True)", 30, Budget())
    assert small.outputs[0].data["image/png"] == png
    big = run_code(client, "display({'image/png': 'A' * (3 * 2**20), 'text/plain': 'big'}, raw=True)", 30, Budget())
    assert "image/png" not in big.outputs[0].data and big.truncated
