"""Symbolic values: Z3 terms that behave like the Python values a spec expects.

An action runs on these instead of concrete field values. Comparisons and arithmetic build Z3 terms;
wherever Python needs a concrete answer (`if`, `not`, `and`, `require`, hashing, `str`), the value
asks the current `SymRun` for a decision, exactly as `choose()` asks the oracle: the run forks, and
the path condition records which way it went. Re-running the action with each decision prefix
enumerates every path, so the spec's own Python is the transition relation.

Four kinds, by what the field holds:

    SBool   a Z3 Bool (fields that are always bool)
    SInt    a Z3 Int (fields that are always int; symbolic parameters)
    SEnum   an index into a finite domain of values (strings, and "opaque" values: None, tuples,
            sets, ...); opaque ones are concretised as soon as they are read, because Python's `is`
            and `isinstance` cannot be intercepted
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import z3

from ..dsl.choice import Disabled, next_decisions


class SymbolicUnsupported(Exception):
    """Raised inside a run when Python needs something a symbolic value cannot give."""


# ---------------------------------------------------------------------- domains

class Domain:
    """The finite set of values one leaf can take; a value's code is its index here."""

    __slots__ = ("name", "values", "index", "grew")

    def __init__(self, name: str, values: Sequence[Any] = ()):
        self.name = name
        self.values: list[Any] = []
        self.index: dict[Any, int] = {}
        self.grew = False
        for v in values:
            self.add(v)

    def add(self, v: Any) -> int:
        key = _key(v)
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.values)
            self.values.append(v)
            self.grew = True
        return i

    def code(self, v: Any) -> int | None:
        try:
            return self.index.get(_key(v))
        except TypeError:
            return None

    def __len__(self) -> int:
        return len(self.values)


def _key(v: Any) -> Any:
    """A dict key that keeps 1, True and 1.0 apart (they are equal in Python, not as state values)."""
    return (type(v).__name__, v)


# ---------------------------------------------------------------------- the run (oracle)

_current: list[SymRun | None] = [None]


def current() -> SymRun:
    run = _current[0]
    if run is None:
        raise SymbolicUnsupported("a symbolic value was used outside a symbolic run")
    return run


@dataclass
class SymRun:
    """The decisions of one symbolic run: choose() indices and branch outcomes, with the path condition.

    It duck-types `dsl.choice.Oracle` (pick, next_prefix, taken, labels, pos), so `choose()` in
    the spec lands here during a symbolic run.
    """

    prefix: Sequence[int] = ()
    solver: z3.Solver | None = None  # background facts (domain ranges); checks branch feasibility
    pos: int = 0
    taken: list[int] = field(default_factory=list)
    fanout: list[int] = field(default_factory=list)
    labels: list[Any] = field(default_factory=list)
    choices: list[int] = field(default_factory=list)  # the decisions a concrete replay needs
    pc: list[Any] = field(default_factory=list)  # Z3 Bool terms, all true on this path
    eq: dict[int, int] = field(default_factory=dict)  # leaf term id -> known code
    neq: dict[int, set] = field(default_factory=dict)  # leaf term id -> codes ruled out
    bools: dict[int, bool] = field(default_factory=dict)  # Bool leaf term id -> known value
    int_bounds: dict[int, tuple[int, int]] = field(default_factory=dict)  # Int term id -> (lo, hi) to fork over
    instance: Any = None  # the spec instance the action runs on (pick_present reads its dict fields)

    def _decide(self, n: int) -> int:
        i = self.prefix[self.pos] if self.pos < len(self.prefix) else 0
        if i >= n:
            raise Disabled()
        self.pos += 1
        self.taken.append(i)
        self.fanout.append(n)
        return i

    # -- choose()
    def pick(self, options: Sequence[Any], name: str | None) -> Any:
        n = len(options)
        if n == 0:
            raise Disabled()
        i = self._decide(n)
        self.choices.append(i)
        value = options[i]
        self.labels.append((name, value))
        return value

    def pick_present(self, field: str, options: Any, order: Any, allowed: Any, option: Any, name: str | None) -> Any:
        """`choose_present()` on a sparse dict field: fork over the keys of its universe, assuming the
        chosen key present, instead of reading every key to list the present ones (2^keys paths).

        The index recorded is into the universe, not into the present keys a concrete run would list,
        so a symbolic trace is replayed by matching states (engine._concrete_steps), not by indices.
        """
        d = getattr(self.instance, field, None) if self.instance is not None else None
        universe = getattr(d, "universe", None)
        if universe is None:
            return self.pick(list(options()), name)
        keys = sorted((k for k in universe if allowed is None or allowed(k)), key=order)
        if not keys:
            raise Disabled()
        i = self._decide(len(keys))
        self.choices.append(i)
        k = keys[i]
        cond = d.guarded([k]).present(k)
        if isinstance(cond, SBool):
            self.assume(cond)
        elif not cond:
            raise Disabled()
        value = option(k, d[k]) if option is not None else k
        self.labels.append((name, value))
        return value

    def assume(self, b: SBool) -> None:
        """Adds `b` to the path condition without forking (Disabled when the path already rules it out)."""
        pos = getattr(b, "pos", None)  # _Negated: the leaf is not that code
        atom = pos.atom if pos is not None else b.atom
        if atom is not None and atom[0] == "eq":
            _, key, code = atom
            if pos is not None:
                if self.eq.get(key) == code:
                    raise Disabled()
                self.neq.setdefault(key, set()).add(code)
            else:
                if key in self.eq and self.eq[key] != code or code in self.neq.get(key, ()):
                    raise Disabled()
                self.eq[key] = code
            self.pc.append(b.ex)
            return
        if atom is not None and pos is None:  # a Bool leaf test
            key = atom[1]
            if self.bools.get(key, True) is not True:
                raise Disabled()
            self.bools[key] = True
            self.pc.append(b.ex)
            return
        if z3.is_false(b.ex) or not self._feasible(b.ex):
            raise Disabled()
        self.pc.append(b.ex)

    def next_prefix(self) -> list[int] | None:
        return next_decisions(self.taken, self.fanout)

    # -- branches
    def _feasible(self, extra: Any) -> bool:
        if self.solver is None:
            return True
        return self.solver.check(*self.pc, extra) != z3.unsat

    def branch(self, b: SBool) -> bool:
        """Returns which way a symbolic condition goes on this path (forking when both can)."""
        e = b.ex
        if z3.is_true(e):
            return True
        if z3.is_false(e):
            return False
        atom = b.atom
        if atom is not None:
            kind, key, code = atom
            if kind == "eq":
                if key in self.eq:
                    return self.eq[key] == code
                if code in self.neq.get(key, ()):
                    return False
            elif key in self.bools:
                return self.bools[key]
            both = True  # an atom not decided yet: both ways are possible as far as the leaf goes
        else:
            t, f = self._feasible(e), self._feasible(z3.Not(e))
            if not t and not f:
                raise Disabled()  # the path itself is infeasible
            both = t and f
            if not both:
                self.pc.append(e if t else z3.Not(e))
                return t
        value = self._decide(2) == 0 if both else True
        self.pc.append(e if value else z3.Not(e))
        if atom is not None:
            kind, key, code = atom
            if kind == "eq":
                if value:
                    self.eq[key] = code
                else:
                    self.neq.setdefault(key, set()).add(code)
            else:
                self.bools[key] = value
        return value

    def concretise_enum(self, s: SEnum) -> Any:
        """Forks over the values an enum leaf can still have on this path; returns this path's value."""
        key = s.ex.get_id()
        if is_const(s.ex):
            return s.dom.values[s.ex.as_long()]
        if key in self.eq:
            return s.dom.values[self.eq[key]]
        ruled_out = self.neq.get(key, ())
        codes = [c for c in range(len(s.dom)) if c not in ruled_out]
        if not codes:
            raise Disabled()
        c = codes[self._decide(len(codes))] if len(codes) > 1 else codes[0]
        self.eq[key] = c
        self.pc.append(s.ex == c)
        return s.dom.values[c]

    def concretise_int(self, s: SInt) -> int:
        e = s.ex
        if z3.is_int_value(e):
            return e.as_long()
        bounds = self.int_bounds.get(e.get_id())
        if bounds is None:
            raise SymbolicUnsupported(
                f"the integer {e} would have to take one concrete value here (used as an index, a key, "
                "a range bound or in a string), and it has no finite range")
        lo, hi = bounds
        options = [v for v in range(lo, hi + 1) if self._feasible(e == v)]
        if not options:
            raise Disabled()
        v = options[self._decide(len(options))] if len(options) > 1 else options[0]
        self.pc.append(e == v)
        return v


# ---------------------------------------------------------------------- values

def is_const(ex: Any) -> bool:
    """Says whether a term is a literal code (an Int or bit-vector value)."""
    return z3.is_bv_value(ex) or z3.is_int_value(ex)


def known_code(s: SEnum) -> int | None:
    """Returns the code an enum value has on the current path, when the path has fixed it."""
    if is_const(s.ex):
        return s.ex.as_long()
    run = _current[0]
    return run.eq.get(s.ex.get_id()) if run is not None else None


def lift(v: Any) -> Any:
    """Returns the Z3 term of a concrete bool/int or a symbolic value (None when it has none)."""
    if isinstance(v, Sym):
        return v.ex
    if v is True or v is False:
        return z3.BoolVal(v)
    if type(v) is int:
        return z3.IntVal(v)
    return None


def concrete(v: Any) -> Any:
    """Returns `v` with every symbolic value inside it replaced by its value on this path."""
    if isinstance(v, Sym):
        return v.concretise()
    if isinstance(v, dict):
        return type(v)((concrete(k), concrete(x)) for k, x in v.items()) if type(v) is dict else \
            {concrete(k): concrete(x) for k, x in v.items()}
    if dataclasses.is_dataclass(v) and not isinstance(v, type):  # a message: concretise its fields
        vals = {f.name: getattr(v, f.name) for f in dataclasses.fields(v) if f.init}
        if not any(isinstance(x, Sym) or isinstance(x, (tuple, list, dict, set, frozenset)) for x in vals.values()):
            return v
        return type(v)(**{n: concrete(x) for n, x in vals.items()})
    if isinstance(v, (list, tuple, set, frozenset)):
        if hasattr(v, "_fields"):  # namedtuple
            return type(v)(*(concrete(x) for x in v))
        items = [concrete(x) for x in v]
        try:
            return type(v)(items)
        except TypeError:
            return items
    return v


class Sym:
    """Base of the symbolic values; `ex` is the Z3 term."""

    __slots__ = ("ex",)

    def concretise(self) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def __hash__(self) -> int:
        return hash(self.concretise())

    def __str__(self) -> str:
        return str(self.concretise())

    def __format__(self, spec: str) -> str:
        return format(self.concretise(), spec)

    def __repr__(self) -> str:
        return f"<symbolic {self.ex}>"


class SBool(Sym):
    """A symbolic bool. `atom` = ("eq", leaf id, code) or ("bool", leaf id, None) when it is one leaf test."""

    __slots__ = ("atom",)

    def __init__(self, ex: Any, atom: tuple | None = None):
        self.ex = ex
        self.atom = atom

    def concretise(self) -> bool:
        return current().branch(self)

    def __bool__(self) -> bool:
        return current().branch(self)

    def __index__(self) -> int:
        return int(current().branch(self))

    def _other(self, o: Any) -> Any:
        if isinstance(o, SBool) or o is True or o is False:
            return lift(o)
        return None

    def __eq__(self, o: Any) -> Any:  # type: ignore[override]
        t = self._other(o)
        if t is None:
            if isinstance(o, (SInt, int)) and not isinstance(o, bool):
                return SInt(z3.If(self.ex, 1, 0)) == o
            return False
        return SBool(self.ex == t)

    def __ne__(self, o: Any) -> Any:  # type: ignore[override]
        r = self.__eq__(o)
        return SBool(z3.Not(r.ex)) if isinstance(r, SBool) else not r

    def __and__(self, o: Any) -> Any:
        t = self._other(o)
        return SBool(z3.And(self.ex, t)) if t is not None else NotImplemented

    __rand__ = __and__

    def __or__(self, o: Any) -> Any:
        t = self._other(o)
        return SBool(z3.Or(self.ex, t)) if t is not None else NotImplemented

    __ror__ = __or__

    def __xor__(self, o: Any) -> Any:
        t = self._other(o)
        return SBool(z3.Xor(self.ex, t)) if t is not None else NotImplemented

    __rxor__ = __xor__

    def _int(self) -> SInt:
        return SInt(z3.If(self.ex, z3.IntVal(1), z3.IntVal(0)))

    def __add__(self, o: Any) -> Any:
        return self._int() + o

    def __radd__(self, o: Any) -> Any:
        return o + self._int() if not isinstance(o, int) or isinstance(o, bool) else self._int().__radd__(o)

    def __sub__(self, o: Any) -> Any:
        return self._int() - o

    def __rsub__(self, o: Any) -> Any:
        return self._int().__rsub__(o)

    def __invert__(self) -> Any:
        return ~self._int()

    def __lt__(self, o: Any) -> Any:
        return self._int() < o

    def __le__(self, o: Any) -> Any:
        return self._int() <= o

    def __gt__(self, o: Any) -> Any:
        return self._int() > o

    def __ge__(self, o: Any) -> Any:
        return self._int() >= o


def _int_term(o: Any) -> Any:
    if isinstance(o, SInt):
        return o.ex
    if isinstance(o, SBool):
        return z3.If(o.ex, 1, 0)
    if isinstance(o, int):
        return z3.IntVal(int(o))
    return None


class SInt(Sym):
    """A symbolic integer (unbounded, as in Python)."""

    __slots__ = ()

    def __init__(self, ex: Any):
        self.ex = ex

    def concretise(self) -> int:
        return current().concretise_int(self)

    def __bool__(self) -> bool:
        return current().branch(SBool(self.ex != 0))

    def __index__(self) -> int:
        return self.concretise()

    __int__ = __index__

    def _bin(self, o: Any, f) -> Any:
        t = _int_term(o)
        return SInt(f(self.ex, t)) if t is not None else NotImplemented

    def _rbin(self, o: Any, f) -> Any:
        t = _int_term(o)
        return SInt(f(t, self.ex)) if t is not None else NotImplemented

    def __add__(self, o):
        return self._bin(o, lambda a, b: a + b)

    def __radd__(self, o):
        return self._rbin(o, lambda a, b: a + b)

    def __sub__(self, o):
        return self._bin(o, lambda a, b: a - b)

    def __rsub__(self, o):
        return self._rbin(o, lambda a, b: a - b)

    def __mul__(self, o):
        return self._bin(o, lambda a, b: a * b)

    def __rmul__(self, o):
        return self._rbin(o, lambda a, b: a * b)

    def __floordiv__(self, o):  # Python floors; Z3's integer division does too for positive divisors
        return self._bin(o, lambda a, b: a / b)

    def __rfloordiv__(self, o):
        return self._rbin(o, lambda a, b: a / b)

    def __mod__(self, o):
        return self._bin(o, lambda a, b: a % b)

    def __rmod__(self, o):
        return self._rbin(o, lambda a, b: a % b)

    def __neg__(self):
        return SInt(-self.ex)

    def __pos__(self):
        return self

    def __abs__(self):
        return SInt(z3.If(self.ex >= 0, self.ex, -self.ex))

    def _cmp(self, o: Any, f) -> Any:
        t = _int_term(o)
        if t is None:
            if isinstance(o, (float,)):
                return SBool(f(z3.ToReal(self.ex), z3.RealVal(o)))
            return NotImplemented
        return SBool(f(self.ex, t))

    def __eq__(self, o):  # type: ignore[override]
        r = self._cmp(o, lambda a, b: a == b)
        return False if r is NotImplemented else r

    def __ne__(self, o):  # type: ignore[override]
        r = self._cmp(o, lambda a, b: a != b)
        return True if r is NotImplemented else r

    def __lt__(self, o):
        return self._cmp(o, lambda a, b: a < b)

    def __le__(self, o):
        return self._cmp(o, lambda a, b: a <= b)

    def __gt__(self, o):
        return self._cmp(o, lambda a, b: a > b)

    def __ge__(self, o):
        return self._cmp(o, lambda a, b: a >= b)

    __hash__ = Sym.__hash__


class SEnum(Sym):
    """A value of a finite domain, held as its code (a Z3 Int between 0 and len(dom) - 1)."""

    __slots__ = ("dom",)

    def __init__(self, ex: Any, dom: Domain):
        self.ex = ex
        self.dom = dom

    def concretise(self) -> Any:
        return current().concretise_enum(self)

    def __eq__(self, o: Any) -> Any:  # type: ignore[override]
        if isinstance(o, SEnum):
            a, b = known_code(self), known_code(o)
            if a is not None and b is not None:
                return _key(self.dom.values[a]) == _key(o.dom.values[b])
            if o.dom is self.dom:
                return SBool(self.ex == o.ex)
            pairs = [z3.And(self.ex == i, o.ex == j) for i, a in enumerate(self.dom.values)
                     for j, b in enumerate(o.dom.values) if _key(a) == _key(b)]
            return SBool(z3.Or(pairs)) if pairs else False
        if isinstance(o, Sym):
            return self.concretise() == o
        c = self.dom.code(o)
        if c is None:
            return False
        k = known_code(self)
        if k is not None:
            return k == c
        return SBool(self.ex == c, ("eq", self.ex.get_id(), c))

    def __ne__(self, o: Any) -> Any:  # type: ignore[override]
        r = self.__eq__(o)
        if isinstance(r, SBool):
            atom = r.atom
            b = SBool(z3.Not(r.ex))
            if atom is not None:  # keep the leaf test recognisable: decide it through the positive atom
                return _Negated(r)
            return b
        return not r

    __hash__ = Sym.__hash__

    def __bool__(self) -> bool:
        return bool(self.concretise())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.concretise(), name)

    def __lt__(self, o):
        return self.concretise() < concrete(o)

    def __le__(self, o):
        return self.concretise() <= concrete(o)

    def __gt__(self, o):
        return self.concretise() > concrete(o)

    def __ge__(self, o):
        return self.concretise() >= concrete(o)

    def __len__(self) -> int:
        return len(self.concretise())

    def __iter__(self):
        return iter(self.concretise())

    def __contains__(self, x: Any) -> bool:
        return x in self.concretise()

    def __getitem__(self, k: Any) -> Any:
        return self.concretise()[k]

    def __add__(self, o):
        return self.concretise() + concrete(o)

    def __radd__(self, o):
        return concrete(o) + self.concretise()


class _Negated(SBool):
    """`a != b` for a leaf test: deciding it decides the positive atom the other way."""

    __slots__ = ("pos",)

    def __init__(self, pos: SBool):
        super().__init__(z3.Not(pos.ex))
        self.pos = pos

    def __bool__(self) -> bool:
        return not current().branch(self.pos)

    concretise = __bool__
