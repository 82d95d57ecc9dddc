"""Frozen state values compare equal to the plain values a user writes, without breaking hashing.

A trace's states hold frozen values (FrozenDict, FrozenList, FrozenSet); a user reading
`trace.final["x"]` compares it with an ordinary dict, list or set. Dicts, lists and sets are
unhashable, so equality with them needs no hash to agree; tuples and frozensets are hashable, so a
FrozenList never equals a tuple. Fingerprints come from `stable_hash`, which never calls `__eq__`.
"""
from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

import explorer
from explorer import Spec, action, invariant, require
from explorer.dsl.values import FrozenDict, FrozenList, FrozenSet, freeze, stable_hash

scalars = st.one_of(st.integers(-5, 5), st.text("ab", max_size=2), st.booleans(), st.none())
hashables = st.recursive(scalars, lambda c: st.tuples(c, c) | st.frozensets(c, max_size=3), max_leaves=4)
plain = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=3) | st.dictionaries(hashables, c, max_size=3) | st.sets(hashables, max_size=3),
    max_leaves=8,
)


@given(plain)
def test_a_frozen_value_equals_the_plain_value_it_was_made_from_both_ways(v):
    f = freeze(v)
    assert f == v and v == f
    assert not (f != v) and not (v != f)


@given(plain, plain)
def test_frozen_values_are_equal_exactly_when_the_plain_values_are(a, b):
    assert (freeze(a) == b) == (a == b)
    assert (freeze(a) == freeze(b)) == (a == b)


@given(plain)
def test_equal_frozen_values_hash_alike_and_fingerprint_alike(v):
    f, g = freeze(v), freeze(copy.deepcopy(v))
    if isinstance(f, (FrozenDict, FrozenList, FrozenSet)):
        assert hash(f) == hash(g) and {f: 1}[g] == 1
    assert stable_hash(f) == stable_hash(g)


def test_a_frozen_list_never_equals_a_tuple_which_hashes_differently():
    fl = freeze([1, 2])
    assert fl == [1, 2] and fl != (1, 2) and (1, 2) != fl
    assert hash(fl) != hash((1, 2))
    assert stable_hash(fl) != stable_hash((1, 2))
    assert len({fl, (1, 2)}) == 2


def test_a_frozen_dict_is_not_equal_to_other_kinds():
    fd = freeze({"a": 1})
    assert fd != [("a", 1)] and fd != frozenset({"a"}) and fd != "a"
    assert fd != {"a": 2} and fd != {"a": 1, "b": 1}
    assert freeze({"a": [1]}) == {"a": [1]} and freeze({"a": [1]}) != {"a": (1,)}


def test_a_state_holding_a_set_and_one_holding_a_frozenset_fingerprint_apart_though_equal():
    # FrozenSet equals frozenset (as in Python) but hashes apart: the stable_hash cache is keyed by
    # (outer type, value), so with one hash a nested set and frozenset would share a fingerprint
    with_set, with_frozenset = freeze({"a": {1}}), FrozenDict({"a": frozenset({1})})
    assert with_set == with_frozenset and freeze({1}) == frozenset({1})
    assert stable_hash(with_set) != stable_hash(with_frozenset)  # the cache holds with_set's now
    assert stable_hash(FrozenDict({"a": frozenset({1})})) != stable_hash(freeze({"a": {1}}))
    assert len({with_set: 1, with_frozenset: 2}) == 2


def test_fingerprints_tell_a_dict_from_a_list_of_pairs_whatever_equality_says():
    assert stable_hash(freeze({"a": 1})) != stable_hash(freeze([("a", 1)]))
    assert stable_hash(freeze({"a": [1]})) != stable_hash(freeze({"a": (1,)}))


class Tally(Spec):
    def init(self):
        self.votes = {}
        self.log = []

    @action
    def vote(self):
        require(len(self.log) < 2)
        p = f"p{len(self.log)}"
        self.votes[p] = True
        self.log.append(p)

    @invariant
    def at_most_one(self):
        return len(self.log) < 2


def test_a_traces_final_state_compares_with_plain_python_values():
    [v] = explorer.check(Tally).violations
    assert v.trace.final["votes"] == {"p0": True, "p1": True}
    assert v.trace.final["log"] == ["p0", "p1"]
    assert v.trace.initial["votes"] == {} and v.trace.initial["log"] == []
