"""Consistency models over a recorded client history: linearizability, sequential consistency,
read-your-writes, monotonic reads, no stale reads, and convergence of replicas.

A history is a sequence of `Op` records, one per client operation, kept as ghost state by the spec
(see specs/cap.py: a client node records each invoke and return on its own logical clock):

    Op(client="s1", kind="write", arg=1, invoke=1, ret=4, result=None)
    Op(client="s2", kind="read", arg=None, invoke=2, ret=None, result=None)   # pending: no return yet

`invoke` and `ret` are positions on one clock shared by every client (any increasing numbers will
do); `ret` is None while the operation is pending. Real-time order: a precedes b when
`a.ret < b.invoke`. Operations of a register: `read` (result: the value read), `write` (arg: the
value; result ignored) and `cas` (arg: (expected, new); result: True or False).

Each check returns True when the history satisfies the model, or a string saying what is wrong and
naming the operations involved: exactly what an `@invariant` may return, so a spec writes
`return linearizable(history)`. A string is truthy: test results with `is True`, never with `if`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any, NamedTuple


class Op(NamedTuple):
    """One client operation: who, what, when it was invoked and returned (None: pending), its result."""

    client: str
    kind: str  # "read" | "write" | "cas"
    arg: Any
    invoke: int
    ret: int | None
    result: Any

    def show(self) -> str:
        """Returns the operation as a student reads it: `s1 write(1) [1,4]`, `s2 read()->0 [2,..]`."""
        if self.kind == "read":
            what = "read()" + ("" if self.ret is None else f"->{self.result!r}")
        elif self.kind == "cas":
            what = f"cas{tuple(self.arg)!r}" + ("" if self.ret is None else f"->{self.result!r}")
        else:
            what = f"{self.kind}({self.arg!r})"
        end = "..." if self.ret is None else str(self.ret)
        return f"{self.client} {what} [{self.invoke},{end}]"


def show_history(history: Iterable[Op]) -> str:
    """Returns the operations in invocation order, separated by `; `."""
    return "; ".join(op.show() for op in sorted(history, key=lambda o: o.invoke))


# ---------------------------------------------------------------------- the sequential register


def register_step(state: Any, op: Op) -> tuple[bool, Any]:
    """Applies `op` to a register holding `state`; returns (the result matches, the new state).

    A pending operation (no result observed) matches whatever it would have returned.
    """
    if op.kind == "read":
        return (op.ret is None or op.result == state), state
    if op.kind == "write":
        return True, op.arg
    if op.kind == "cas":
        expected, new = op.arg
        success = state == expected
        ok = op.ret is None or op.result == success
        return ok, (new if success else state)
    raise ValueError(f"unknown register operation {op.kind!r} in {op}; use read, write or cas")


Step = Callable[[Any, Op], "tuple[bool, Any]"]


# ---------------------------------------------------------------------- linearizability


def find_linearization(history: Sequence[Op], init: Any = None, step: Step = register_step,
                       real_time: bool = True) -> list[Op] | None:
    """Returns a legal order of the operations that took effect, or None when there is none.

    Wing & Gong's search with Lowe's memoisation (as in Porcupine): repeatedly pick an operation
    that no remaining completed operation precedes, apply it to the sequential model, and backtrack
    when its result disagrees; (operations done, model state) pairs already shown to fail are not
    searched again. A pending operation may be placed anywhere after its invocation or dropped (it
    may never have taken effect). With `real_time=False` only each client's own order is kept:
    that is sequential consistency.
    """
    ops = [op for op in history if not (op.ret is None and op.kind == "read")]  # a pending read changes nothing
    n = len(ops)
    complete_mask = sum(1 << i for i, op in enumerate(ops) if op.ret is not None)
    # before[i]: the operations that must come before i (real time, or the client's program order)
    before = [0] * n
    for i, a in enumerate(ops):
        for j, b in enumerate(ops):
            if i == j:
                continue
            if real_time and b.ret is not None and b.ret < a.invoke:
                before[i] |= 1 << j
            if not real_time and b.client == a.client and b.invoke < a.invoke:
                before[i] |= 1 << j

    @cache
    def search(done: int, state: Any) -> tuple[int, ...] | None:
        if done & complete_mask == complete_mask:
            return ()
        for i in range(n):
            bit = 1 << i
            if done & bit or before[i] & ~done:
                continue
            ok, nxt = step(state, ops[i])
            if not ok:
                continue
            rest = search(done | bit, _hashable(nxt))
            if rest is not None:
                return (i,) + rest
        return None

    order = search(0, _hashable(init))
    search.cache_clear()
    return None if order is None else [ops[i] for i in order]


def _hashable(v: Any) -> Any:
    try:
        hash(v)
        return v
    except TypeError:
        return repr(v)


def linearizable(history: Sequence[Op], init: Any = None, step: Step = register_step) -> bool | str:
    """Checks that the history is linearizable: some order of its operations respects real time
    (a returned before b was invoked => a first) and the sequential model (`step`, from `init`).

    On failure the string shows a smallest offending subhistory (operations removed one at a time
    while the rest still fails), which is what a student needs to see the anomaly.
    """
    if find_linearization(history, init, step, real_time=True) is not None:
        return True
    core = offending_subhistory(history, lambda h: find_linearization(h, init, step, True) is None)
    return f"not linearizable: {show_history(core)}"


def sequentially_consistent(history: Sequence[Op], init: Any = None, step: Step = register_step) -> bool | str:
    """Checks that some order of the operations keeps each client's own order and the model's results
    (real time across clients is not required: a weaker model than linearizability)."""
    if find_linearization(history, init, step, real_time=False) is not None:
        return True
    core = offending_subhistory(history, lambda h: find_linearization(h, init, step, False) is None)
    return f"not sequentially consistent: {show_history(core)}"


def offending_subhistory(history: Sequence[Op], fails: Callable[[Sequence[Op]], bool]) -> list[Op]:
    """Returns a subhistory on which `fails` still holds, from which no single operation can be removed.

    Removing an operation never invents an ordering constraint, so each removal keeps a real
    anomaly; the result names only the operations the anomaly needs.
    """
    core = list(history)
    i = 0
    while i < len(core):
        trial = core[:i] + core[i + 1:]
        if fails(trial):
            core = trial
        else:
            i += 1
    return core


# ---------------------------------------------------------------------- session guarantees


def _sessions(history: Iterable[Op]) -> dict[str, list[Op]]:
    out: dict[str, list[Op]] = {}
    for op in sorted(history, key=lambda o: o.invoke):
        out.setdefault(op.client, []).append(op)
    return out


def read_your_writes(history: Iterable[Op], version: Callable[[Any], Any] = lambda v: v) -> bool | str:
    """Checks that a read sees its own session's completed writes (or something newer).

    Here a write's `result` is the version the store gave it and a read's `result` the version it
    read; `version` maps them to comparable keys (e.g. LWW timestamps). A read r of session s
    violates the guarantee when s completed a write w before invoking r and version(r) < version(w).
    """
    for client, ops in _sessions(history).items():
        latest = None
        for op in ops:
            if op.ret is None:
                continue
            if op.kind == "write":
                v = version(op.result)
                latest = (v, op) if latest is None or v > latest[0] else latest
            elif op.kind == "read" and latest is not None and version(op.result) < latest[0]:
                return f"{client} read an older version than its own write: {latest[1].show()}; then {op.show()}"
    return True


def monotonic_reads(history: Iterable[Op], version: Callable[[Any], Any] = lambda v: v) -> bool | str:
    """Checks that successive reads of one session never go back to an older version."""
    for client, ops in _sessions(history).items():
        last = None
        for op in ops:
            if op.kind != "read" or op.ret is None:
                continue
            if last is not None and version(op.result) < version(last.result):
                return f"{client} read a newer version, then an older one: {last.show()}; then {op.show()}"
            last = op
    return True


def no_stale_reads(history: Iterable[Op], version: Callable[[Any], Any] = lambda v: v) -> bool | str:
    """Checks that every completed read returns the latest write completed before it was invoked
    (or a newer one): a quorum store's promise. Versions as in `read_your_writes`, any client."""
    ops = list(history)
    writes = [w for w in ops if w.kind == "write" and w.ret is not None]
    for r in ops:
        if r.kind != "read" or r.ret is None:
            continue
        done = [w for w in writes if w.ret < r.invoke]
        if done:
            w = max(done, key=lambda o: version(o.result))
            if version(r.result) < version(w.result):
                return f"stale read: {w.show()} completed, then {r.show()}"
    return True


# ---------------------------------------------------------------------- replicas


def convergence(replicas: dict[str, Any], quiescent: bool) -> bool | str:
    """Checks that replicas hold the same value once the system is quiescent (nothing in flight,
    no operation pending); before that they may differ."""
    if not quiescent or len({_hashable(v) for v in replicas.values()}) <= 1:
        return True
    return "quiescent, yet replicas differ: " + ", ".join(f"{k}={v!r}" for k, v in sorted(replicas.items()))


__all__ = ["Op", "convergence", "find_linearization", "linearizable", "monotonic_reads", "no_stale_reads",
           "offending_subhistory", "read_your_writes", "register_step", "sequentially_consistent", "show_history"]
