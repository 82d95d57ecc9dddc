"""A level where one state violates an invariant and a later one makes a property raise: both engines
report what the interpreted engine meets first, state by state in its order (issue 7 review).

The interpreted engine checks each new state as it finds it, so a violation at an earlier state of
a level ends the search (at the --max-violations budget) before a later state's check raises; the
batched engine checks the whole level at once and must give the same verdict, counts and trace.
"""
from __future__ import annotations

import pytest

from explorer import Spec, action, invariant, reachable
from explorer.engine.batch import BatchSearch
from explorer.engine.options import Options
from explorer.engine.search import Search
from explorer.errors import ActionError


def _spec(raising_first: bool, where: str = "invariant"):
    """Two counters a and b. Level 1 holds (1, 0) then (0, 1), in that order in both engines: one of
    them fails `stays_at_0`, the other makes `checked` (an invariant, or a @reachable) raise a KeyError;
    `raising_first` puts the raising state first."""
    deco = invariant if where == "invariant" else reachable
    raising, violating = ((1, 0), (0, 1)) if raising_first else ((0, 1), (1, 0))

    class TwoCounters(Spec):
        def init(self):
            self.a = 0
            self.b = 0

        @action
        def inc_a(self):
            self.a += 1

        @action
        def inc_b(self):
            self.b += 1

        @invariant
        def stays_at_0(self):
            return (self.a, self.b) != violating

        @deco
        def checked(self):
            if (self.a, self.b) == raising:
                return {}["missing"]
            return where == "invariant"  # holds; a @reachable never witnessed (so checked on every level)

    return TwoCounters


def _run(engine, cls, **opts):
    model = cls.build_model({})
    search = (BatchSearch if engine == "batch" else Search)(model, Options(depth=3, **opts))
    try:
        r = search.run()
    except ActionError as e:
        return ("error", str(e).splitlines()[0][:60], [s.label for s in e.trace.steps] if e.trace else None)
    assert engine != "batch" or r.backend == "batch"
    return ("ok" if not r.violations else [(v.property, v.kind, [s.label for s in v.trace.steps])
                                            for v in r.violations],
            r.distinct_states, r.transitions)


@pytest.mark.parametrize("where", ["invariant", "reachable"])
def test_a_violation_at_an_earlier_state_of_the_level_wins_over_a_later_raising_check(where):
    cls = _spec(raising_first=False, where=where)
    interp = _run("interp", cls)
    assert interp[0] == [("stays_at_0", "invariant", ["inc_a"])], interp  # exit 12, not an error
    assert _run("batch", cls) == interp


@pytest.mark.parametrize("where", ["invariant", "reachable"])
def test_a_check_that_raises_at_an_earlier_state_is_the_error_on_both_engines(where):
    cls = _spec(raising_first=True, where=where)
    interp = _run("interp", cls)
    assert interp[0] == "error", interp
    assert _run("batch", cls) == interp


def test_with_a_larger_violation_budget_both_engines_go_on_to_the_raising_state():
    cls = _spec(raising_first=False)
    interp = _run("interp", cls, max_violations=5)
    assert interp[0] == "error" and interp[2] == ["inc_b"], interp  # after the violation at inc_a
    assert _run("batch", cls, max_violations=5) == interp
