"""A Redis lock (SET key value NX PX ttl) guarding writes to a storage service, with and without fencing.

What is modelled: `n` clients (A, B, ...) each take the lock once. `acquire` is SET NX PX: it
succeeds only when the key is free, stores the client's id as the value (standing for its random
token) and starts the lease; the lock service also hands out a fencing token, the lease number,
increasing with every grant (INCR). The lease may expire (`lease_expires`, an event of its own),
which frees the key. After acquiring, a client may pause (a GC pause, a page fault, a slow network)
before its write reaches the storage service: it does not notice if its lease expired meanwhile.
`release` is the compare-and-delete script: DEL only if the key still holds the client's value.

Variants (`--param variant=...`):
- `fencing` (the default, correct): every write carries the client's fencing token and the storage
  rejects a token lower than the highest it has accepted.
- `no_fencing` (the known bug, Kleppmann's "How to do distributed locking"): the storage accepts
  every write. A's lease expires while A is paused, B acquires and writes, A wakes up and writes:
  the storage applies A's stale write over B's (5 steps).

Properties:
- `mutual_exclusion` (on the storage writes): a client *believes it owns* the lock from its acquire
  until its release. The storage must apply writes in the order of the leases they were made under:
  it never accepts a write made under lease k after it accepted one made under a newer lease k' > k
  (invariants.locks.writes_in_lease_order). Such a pair is exactly two clients' writes under
  overlapping believed ownership applied out of order: the older owner had not released (it
  wrote later) when the newer owner wrote. `writes` is ghost state: (client, lease) per accepted write.
- `reacquired` (liveness): a lock whose lease expired while a client waits for it is eventually
  acquired again; `acquire` is weakly fair (a client keeps retrying SET NX).

Timed mode (`--param timing=true`): real time, with zones (explorer.timed). The lease lasts `ttl`
on the Redis server's clock, which may run fast or slow by up to `drift` over one lease, so it
expires between ttl - drift and ttl + drift after the acquire; a client's pause lasts at most
`max_pause` (`inf`: unbounded). Then, without fencing, mutual exclusion fails iff
max_pause >= ttl - drift (the pause may outlast the lease), with concrete times in the trace
("t = 10.0: lease_expires", "t = 10.1: acquire(c='B')"); with fencing it holds for any pause.
Z3 finds that relation from the spec itself: `explorer.timed.boundary.timing_boundary(...)` over
ttl, max_pause and drift gives "unsafe iff ttl <= max_pause + drift" (docs/symbolic.md, Time).

    explore specs/redis_lock.py                                        # fencing: holds
    explore specs/redis_lock.py --param variant=no_fencing             # 5-step counterexample
    explore specs/redis_lock.py --param variant=no_fencing --param timing=true   # ttl 10, pause <= 15
    explore specs/redis_lock.py --param variant=no_fencing --param timing=true --param max_pause=9 --param drift=0.5

The client's own lease check (`--param lease_check=true`, timed mode): Redlock's clients check,
before using the lock, that its validity has not run out: here a client writes only while its own
clock, read with `elapsed_since`, shows less than ttl - margin since its acquire (check and write are
one step, so a pause cannot come between them). That clock drifts by a rate up to `client_drift`;
a slow one shows less than real time. Then, without fencing, mutual exclusion holds iff
(ttl - margin) / (1 - client_drift) < ttl - drift: with ttl 10, margin 1 and an exact server it holds
for client_drift 0.09 and fails from 0.1 (Kleppmann's point: the check trusts a clock). At
client_drift 0.2 (5 steps): "t = 10.0: lease_expires", "t = 10.1: acquire(c='B')", "t = 10.2:
write(c='B', ...)", "t = 10.3: write(c='A', lease A < 9=True)": A's clock shows at most 8.24.

    explore specs/redis_lock.py --param variant=no_fencing --param timing=true --param lease_check=true --param client_drift=0.2

What is abstracted away: the value written (a write is its (client, lease) pair), Redis replication
and Redlock's several masters, the network between client and Redis (SET and DEL are atomic
steps), retries after a failed SET NX (the action is simply not enabled while the key is held),
and, unless lease_check is on, a client's own validity check (its acquire is the moment it knows it
holds the lock; the pause may come right after).
"""
from explorer import action, choose, invariant, leads_to, param, require
from explorer.dsl.expect import holds, violates
from explorer.timed import TimedSpec, up_to, within
from invariants.locks import writes_in_lease_order

INF = float("inf")


class RedisLock(TimedSpec):
    n = param(2, help="number of clients")
    variant = param("fencing", choices=("fencing", "no_fencing"), help="fencing: the storage checks tokens")
    timing = param(False, help="model real time: lease ttl, bounded pauses, clock drift")
    ttl = param(10.0, help="lease length (timed mode)")
    max_pause = param(15.0, help="longest client pause between acquire and write (timed mode; inf: unbounded)")
    drift = param(0.0, help="how far the lock server's clock may drift over one lease (timed mode)")
    lease_check = param(False, help="timed mode: a client checks on its own clock that its lease is still valid "
                                    "before it writes")
    margin = param(1.0, help="lease_check: a client writes only while its clock shows less than ttl - margin")
    client_drift = param(0.0, help="lease_check: rate bound of the clients' clocks (0.01 = 1%)")

    checks = [
        holds(),
        holds(params={"n": 3}),
        violates("mutual_exclusion", params={"variant": "no_fencing"}, name="no_fencing"),
        violates("mutual_exclusion", params={"variant": "no_fencing", "timing": True}, name="no_fencing_timed"),
        holds(params={"variant": "no_fencing", "timing": True, "max_pause": 9.0, "drift": 0.5},
              name="pause_below_ttl_minus_drift"),
        holds(params={"timing": True, "max_pause": INF}, name="fencing_any_pause"),
        holds(params={"variant": "no_fencing", "timing": True, "lease_check": True, "client_drift": 0.05},
              name="lease_check_small_drift"),
        violates("mutual_exclusion", params={"variant": "no_fencing", "timing": True, "lease_check": True,
                                             "client_drift": 0.1}, name="lease_check_drift_at_the_bound"),
    ]

    def clock_drift(self):
        return self.client_drift  # the clock elapsed_since reads: the client's own

    def clients(self):
        return tuple("ABCDEFGHIJ"[: self.n])

    def init(self):
        self.holder = None  # the key's value: the client id (its random token), None when free
        self.last_token = 0  # the lock service's counter: the last fencing token (lease number) issued
        self.phase = {c: "waiting" for c in self.clients()}  # waiting -> holding -> wrote -> done
        self.lease = {c: 0 for c in self.clients()}  # the lease (token) each client got
        self.storage_max = 0  # the highest token the storage accepted (fencing only)
        self.writes = ()  # ghost: (client, lease) of every accepted write, in order
        self.expired = False  # ghost: the last lease ended by expiry and nobody acquired since

    @action(fair=True)
    def acquire(self):
        c = choose(self.clients(), "c")
        require(self.phase[c] == "waiting" and self.holder is None)
        self.holder = c
        self.last_token += 1
        self.lease[c] = self.last_token
        self.phase[c] = "holding"
        self.expired = False
        if self.timing:
            self.set_timer("lease", after=within(self.ttl, drift=self.drift))
            self.set_timer(f"pause {c}", after=up_to(self.max_pause))  # max_pause=inf: no deadline
            if self.lease_check:
                self.clock_mark(f"lease {c}")  # the client notes when it got the lock, on its own clock

    @action
    def lease_expires(self):
        require(self.holder is not None)
        if self.timing:
            self.fire("lease")
        self.holder = None
        self.expired = True

    @action
    def write(self):
        c = choose(self.clients(), "c")
        require(self.phase[c] == "holding")
        if self.timing:
            self.fire(f"pause {c}")  # the pause ends: the write reaches the storage now
            if self.lease_check:
                valid = self.elapsed_since(f"lease {c}") < self.ttl - self.margin  # read on c's drifting clock
                self.forget_mark(f"lease {c}")
                if not valid:
                    self.phase[c] = "gave_up"  # its lease may have expired: it does not write
                    return
        token = self.lease[c]
        self.phase[c] = "wrote"
        if self.variant == "fencing":
            if token < self.storage_max:
                self.phase[c] = "rejected"
                return
            self.storage_max = token
        self.writes += ((c, token),)

    @action
    def release(self):
        c = choose(self.clients(), "c")
        require(self.phase[c] in ("wrote", "rejected", "gave_up"))
        self.phase[c] = "done"
        if self.holder == c:  # compare-and-delete: only the client's own key
            self.holder = None
            if self.timing:
                self.cancel_timer("lease")

    @invariant
    def mutual_exclusion(self):
        return writes_in_lease_order(self.writes)

    @leads_to(lambda self: self.expired and "waiting" in self.phase.values())
    def reacquired(self):
        return self.holder is not None
