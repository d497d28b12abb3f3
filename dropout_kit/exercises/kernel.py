"""The kernel's side of grading: run one probe and publish its reply as data.

The grader sends the kernel one line of code per graded test cell, of the form::

    __import__("dropout_kit.exercises.kernel", fromlist=["respond"]).respond("dropout_function", dropout, "<base64>")

``respond`` decodes the grader's requests, runs the exercise's probe on the learner's
object, and publishes the envelope as a display message of MIME type ``MIME``. Nothing
here is trusted: a learner can replace this module or forge the message. The grader
accepts the text only as data for the judge, which validates it.
"""

from __future__ import annotations

import base64

from dropout_kit import exercises
from dropout_kit.exercises import wire
from dropout_kit.exercises.base import envelope_text

MIME = "application/vnd.dropout-course.probe.v1"


def call_code(key: str, target: str, requests) -> str:
    """The code the grader sends to the kernel to probe ``target`` for exercise ``key``."""
    payload = base64.b64encode(wire.dumps(requests).encode("utf-8")).decode("ascii")
    return (f'__import__("dropout_kit.exercises.kernel", fromlist=["respond"])'
            f'.respond({key!r}, {target}, "{payload}")')


def respond(key: str, obj, payload: str) -> None:
    """Run exercise ``key``'s probe on ``obj`` and publish the reply (kernel side)."""
    from IPython.display import publish_display_data

    requests = wire.loads(base64.b64decode(payload).decode("utf-8"))
    text = envelope_text(exercises.get(key), obj, requests)
    publish_display_data({MIME: text, "text/plain": f"(probe reply for {key}: {len(text)} bytes)"})
