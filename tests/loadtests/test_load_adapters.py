"""The adapters over third-party internals: each fails loudly here when a release changes what it uses.

``loadtests._hdr`` writes HdrHistogram's counts array directly; ``loadtests._locust`` sends through
``FastHttpSession._send_request_safe_mode``. Both fall back to public API, and the fallback must give the
same numbers / the same single request event. Locust is imported in a subprocess (it monkey-patches).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys

from hdrh.histogram import HdrHistogram

from talon_harness.loadtests import _hdr
from talon_harness.refserver import ServerProcess


def test_hdrhistogram_internals_are_the_ones_the_fast_path_writes() -> None:
    assert _hdr.FAST_PATH, "hdrh changed its counts layout: loadtests/_hdr.py now uses record_value (slow)"
    assert _hdr.record is _hdr._fast_record


def test_hdr_fast_path_matches_record_value_on_many_values() -> None:
    rng = random.Random(5)
    values = tuple(int(rng.lognormvariate(7, 3)) % _hdr.HIGHEST_US + 1 for _ in range(20_000))
    assert _hdr.fast_path_matches(values)
    slow, fast = _hdr.new_histogram(3), _hdr.new_histogram(3)
    for v in values:
        slow.record_value(v)
        _hdr._fast_record(fast, v)
    assert fast.get_percentile_to_value_dict([50, 99, 99.9]) == slow.get_percentile_to_value_dict(
        [50, 99, 99.9]
    )
    assert isinstance(fast, HdrHistogram)


_LOCUST_SCRIPT = r"""
import json, sys
from locust.env import Environment
from locust.contrib.fasthttp import FastHttpUser
from talon_harness.loadtests import _locust

class U(FastHttpUser):
    host = sys.argv[1]

events = []
env = Environment(user_classes=[U])
env.events.request.add_listener(lambda **kw: events.append(
    [kw["name"], kw["request_type"], None if kw["exception"] is None else str(kw["exception"]),
     kw["response_length"] > 0, kw["context"]]))
user = U(env)
judge = lambda resp, sent, exc: None if resp.status_code == sent else f"got {resp.status_code}, wanted {sent}"
body, headers = b'{"attributes": {}}', {"Content-Type": "application/json"}
for fast in (True, False):
    send = _locust.make_sender(user, judge, fast=fast)
    send("/v1/customer_profiles/adapter-" + str(fast), body, headers, "row", {"k": 1}, 200)
    send("/v1/customer_profiles/adapter-x" + str(fast), body, headers, "row", {"k": 2}, 201)
print(json.dumps({"fast_path": _locust.FAST_PATH, "internals": _locust.internals_match(), "events": events}))
"""


def test_locust_internals_are_there_and_the_public_fallback_reports_the_same() -> None:
    with ServerProcess(quiet=True) as server:
        out = subprocess.run(
            [sys.executable, "-c", _LOCUST_SCRIPT, server.base_url],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["fast_path"] and got["internals"], "Locust changed FastHttpSession: loadtests/_locust.py"
    ok, bad = ["row", "PUT", None, True, {"k": 1}], ["row", "PUT", "got 200, wanted 201", True]
    assert got["events"] == [ok, [*bad, {"k": 2}], ok, [*bad, {"k": 2}]]


_KILLED_SCRIPT = r"""
import json, socket
import gevent
from locust.env import Environment
from locust.contrib.fasthttp import FastHttpUser
from talon_harness.loadtests import _locust

silent = socket.socket()  # accepts connections (the backlog does) and never answers
silent.bind(("127.0.0.1", 0))
silent.listen(8)

class U(FastHttpUser):
    host = "http://127.0.0.1:%d" % silent.getsockname()[1]

events, cut = [], []
env = Environment(user_classes=[U])
env.events.request.add_listener(lambda **kw: events.append(kw["name"]))
user = U(env)
for fast in (True, False):
    send = _locust.make_sender(user, lambda *a: None, lambda name, ms: cut.append([name, ms]), fast=fast)
    g = gevent.spawn(send, "/v1/customer_profiles/x", b"{}", {}, "row", {}, None)
    gevent.sleep(0.3)
    g.kill(block=True)
print(json.dumps({"events": events, "cut": cut}))
"""


def test_a_request_killed_before_its_answer_is_reported_unanswered_with_its_wait() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _KILLED_SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["events"] == []  # no answer: no request event, on either path
    assert [name for name, _ in got["cut"]] == ["PUT row", "PUT row"]
    assert all(250.0 <= ms < 5000.0 for _, ms in got["cut"]), got["cut"]
