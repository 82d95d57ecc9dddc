"""`explore replay` as a property: every saved trace, minimised or not, replays to the violation it records."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from explorer.engine.result import EXIT_OK, EXIT_SAFETY, EXIT_SPEC
from explorer.minimize import minimize
from explorer.replay import replay_file
from explorer.trace.json_io import save_trace

from .test_minimize import FAULTS, Relay, _model, _walk

RELAY_SRC = '''
from explorer import Message, Node, Protocol, invariant, on, param


class Ping(Message):
    pass


class Ack(Message):
    pass


class Asker(Node):
    done = False

    def on_start(self):
        self.send("b", Ping())

    @on(Ack)
    def got_ack(self, msg, sender):
        self.done = True


class Answerer(Node):
    count = 0

    @on(Ping)
    def got_ping(self, msg, sender):
        self.count += 1
        self.send(sender, Ack())


class Relay(Protocol):
    prop = param("answered", choices=("answered", "not_quiet"))

    def nodes(self):
        return {"a": Asker(), "b": Answerer()}

    @invariant
    def answered(self):
        return self.prop != "answered" or not self.node("a").done

    @invariant
    def not_quiet(self):
        return self.prop != "not_quiet" or self.node("a").done or bool(self.in_flight())
'''


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(prop=st.sampled_from(["answered", "not_quiet"]), picks=st.lists(st.integers(0, 50), min_size=1, max_size=10),
       minimised=st.booleans())
def test_every_saved_trace_replays_to_the_violation_it_records(tmp_path_factory, prop, picks, minimised):
    spec = tmp_path_factory.mktemp("relay") / "relay.py"
    spec.write_text(RELAY_SRC)
    model = _model(Relay, {"prop": prop}, FAULTS)
    trace = _walk(model, prop, picks)
    assume(trace is not None)
    if minimised:
        trace, _ = minimize(model, trace)
    trace.spec_file = str(spec)
    path = save_trace(trace, spec.parent / "t.json")
    code, message = replay_file(str(path))
    assert code == EXIT_SAFETY, message
    assert message.startswith(f"still violates {prop} at step {trace.length}")


def test_a_trace_of_a_fixed_spec_no_longer_violates_and_a_changed_one_diverges(tmp_path):
    spec = tmp_path / "relay.py"
    spec.write_text(RELAY_SRC)
    model = _model(Relay, {"prop": "answered"})
    trace = _walk(model, "answered", [0, 0, 0])
    trace.spec_file = str(spec)
    path = save_trace(trace, tmp_path / "t.json")
    fixed = tmp_path / "fixed.py"
    fixed.write_text(RELAY_SRC.replace('return self.prop != "answered" or not self.node("a").done', "return True"))
    code, message = replay_file(str(path), str(fixed))
    assert code == EXIT_OK and message.startswith("no longer violates answered (replayed 2 steps)")
    mute = tmp_path / "mute.py"
    mute.write_text(RELAY_SRC.replace('self.send(sender, Ack())', "pass"))
    code, message = replay_file(str(path), str(mute))
    assert code == EXIT_SPEC and message.startswith("diverges at step 2: b→a Ack() is not enabled any more")
    assert json.loads(path.read_text())["nodes"] == {"a": "Asker", "b": "Answerer"}
