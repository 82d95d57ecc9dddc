"""Split brain: primary-backup replication with heartbeat failover, and epoch fencing against it.

Replicas r1 .. rN write to a shared storage service (`disk`). r1 starts as the primary in epoch
(1, r1); the others are backups. The primary writes to the storage (each replica that believes it
is the primary may write once: the bound that keeps the space finite). A backup that stops hearing
the primary's heartbeats promotes itself: it takes the next epoch, (e + 1, its own id), so no two
promotions share an epoch, and tells the other replicas (NewPrimary). A replica that learns of a
higher epoch, from NewPrimary or from the storage's rejection, steps down to backup.

Fencing: every write carries the writer's epoch, and the storage rejects a write whose epoch is
lower than the highest it has seen. `variant=no_epoch` is the same system with a storage that
accepts every write: the fence is gone.

Property `one_primary` (over the ghost field `disk.accepted`, every accepted write with the epoch
its writer held): at most one primary accepts writes at a time, i.e. once a write of epoch e has
been accepted, no write of an older epoch is accepted after it. (An epoch names one primary.)

- the default (epoch fencing) holds under a partition and under crashes with restarts;
- `variant=no_epoch` fails under a partition (`--faults partition=1`, 7 steps): r1 writes, and the
  network cuts r1 off from r2 and the storage before the write arrives; r2 misses the heartbeats,
  promotes itself and writes; after the heal the storage accepts r1's write of epoch 1 after r2's
  of epoch 2. Two primaries accepted writes: split brain. It fails with no partition too
  (`--faults crash=1`, 6 steps): r1's write is still in flight when r1 crashes, r2 takes over and
  writes, and the dead primary's write lands last. A slow network or a long GC pause does the same.

Timed mode (`--param timing=true`): real timeouts, with zones (explorer.timed). The primary sends
a heartbeat every `period` (`beats` of them, then it falls silent: a GC pause, a dead link or a crash
look the same) and each one renews its lease: it may write until `lease` after its last heartbeat,
on its own clock, off by up to `drift`. A backup takes over `timeout` after the last heartbeat it
received. Every message arrives within `max_delay`. Then, without epochs, two primaries accept
writes iff timeout <= lease + drift + max_delay: the old primary writes at the end of its lease and
its write is still in flight when the backup takes over and writes (times in the trace: "t = 13.9:
r1: timer write", "t = 14.0: r2: timer takeover"); the usual rule "fail over only after the lease
plus the clock error plus the network delay" is what the model finds. With epoch fencing it holds
for any timing. `explore boundary --method sweep` fits that formula (docs/symbolic.md):

    explore boundary specs/split_brain.py --method sweep --param variant=no_epoch --param timing=true \
        --range timeout=9..12 --range lease=9..10 --range drift=0..1 --range max_delay=0..1
    # one_primary holds iff timeout > lease + drift + max_delay   (32 runs, 2.5 s)

What is abstracted away: the data written (a write is who wrote it, in which epoch), replication
between primary and backups (the storage stands for it), clients (a primary writes on its own),
time (untimed mode): the heartbeats are the failure detector `self.suspects(primary)` (a backup times out when
the primary is down and its last messages have arrived, or when a partition cuts it off; either
way it cannot tell which). Roles and epochs are durable: a replica that restarts resumes as what
it was, which is what makes the restart case a split brain without fencing.

    explore specs/split_brain.py                                          # no faults: holds
    explore specs/split_brain.py --faults partition=1                     # epoch fencing: holds
    explore specs/split_brain.py --param variant=no_epoch --faults partition=1    # split brain: exit 12
    explore specs/split_brain.py --param variant=no_epoch --faults crash=1        # no partition, a crash: exit 12
    explore specs/split_brain.py --param variant=no_epoch --param timing=true     # timeout 10 <= lease 10 + delay 1: exit 12
    explore specs/split_brain.py --param variant=no_epoch --param timing=true --param timeout=12   # holds
    explore specs/split_brain.py --param timing=true --param timeout=2            # epochs: holds for any timing

In timed mode the new primary neither sends heartbeats nor holds a lease (one failover is the
story), and the untimed `suspects` detector is replaced by the timers (class TimedReplica).
Cost (load 2.7 on 2 cores): n=2 timed, 31 to 183 (state, zone) pairs, under a second; n=3 timed,
8,637 pairs in 37 s with the defaults and 37,976 in about 5 minutes with timeout=2 (more backups
time out in more orders), so no n=3 timed check is declared.
"""
from itertools import pairwise

from explorer import Message, Node, Protocol, durable, invariant, on, param, reachable, require, timer
from explorer.dsl.expect import holds, violates
from explorer.timed import within


class Write(Message):
    epoch: tuple  # (number, replica id): ordered by number, then id


class Rejected(Message):
    epoch: tuple  # the highest epoch the storage has seen


class NewPrimary(Message):
    epoch: tuple


class Heartbeat(Message):  # timed mode: the primary's "I am alive, my lease is renewed"
    epoch: tuple


class ReplicaCore(Node):
    """What every replica does, timed or not: write as primary, promote itself, learn of higher epochs."""

    role = durable("backup")  # primary | backup
    epoch = durable((1, "r1"))  # the epoch of the primary this replica follows (or is)
    primary = durable("r1")  # who it believes is the primary
    wrote = durable(False)  # it wrote once as a primary (the bound that keeps the space finite)

    def on_start(self):
        if self.id == "r1":
            self.role = "primary"

    @timer
    def write(self):
        require(self.role == "primary" and not self.wrote)
        self.wrote = True
        self.send("disk", Write(epoch=self.epoch))

    def promote(self):
        """Takes over as primary in the next epoch and tells the other replicas."""
        self.role, self.primary, self.wrote = "primary", self.id, False
        self.epoch = (self.epoch[0] + 1, self.id)
        self.broadcast(NewPrimary(epoch=self.epoch), to=[r for r in self.world.replicas() if r != self.id])

    @on(NewPrimary)
    def got_new_primary(self, msg, sender):
        self.learn(msg.epoch)

    @on(Rejected)
    def got_rejected(self, msg, sender):
        self.learn(msg.epoch)

    def learn(self, epoch):
        """A higher epoch exists: follow its primary (the epoch's second part), stepping down if need be."""
        if epoch > self.epoch:
            self.role, self.epoch, self.primary = "backup", epoch, epoch[1]


class Replica(ReplicaCore):
    """The untimed replica: its heartbeat timeout is the failure detector `suspects`."""

    @timer
    def heartbeat_timeout(self):
        require(self.role == "backup" and self.suspects(self.primary))
        self.promote()


class TimedReplica(ReplicaCore):
    """A replica with real timeouts (`timing=true`): the primary's lease and the backups' failover timer.

    The primary sends a heartbeat every `period` (`beats` in all, then it falls silent: a GC pause,
    a dead link, a crash, it does not matter which) and each one renews its lease: it may write until
    `lease` after its last heartbeat, measured on its own clock, which may be off by `drift`. A
    backup takes over `timeout` after the last heartbeat it received (or after the start).
    """

    sent = 0  # heartbeats sent (the bound that keeps the space finite)

    def on_start(self):
        super().on_start()
        if self.role == "primary":
            self.renew()
        else:
            self.set_timer("takeover")

    def renew(self):
        """Sends a heartbeat and renews the lease from now; arms the next heartbeat while any are left."""
        self.sent += 1
        self.set_timer("lease_expires")
        self.broadcast(Heartbeat(epoch=self.epoch), to=[r for r in self.world.replicas() if r != self.id])
        if self.sent < self.world.beats:
            self.set_timer("beat")

    @timer(after=lambda node: node.world.period)
    def beat(self):
        require(self.role == "primary")
        self.renew()

    @timer(after=lambda node: within(node.world.lease, drift=node.world.drift))
    def lease_expires(self):
        require(self.role == "primary")
        self.role = "backup"  # the lease is over: it stops writing (and waits to hear of a new primary)

    @timer(after=lambda node: node.world.timeout)
    def takeover(self):
        require(self.role == "backup" and self.primary != self.id)
        self.promote()

    @on(Heartbeat)
    def got_heartbeat(self, msg, sender):
        if msg.epoch >= self.epoch and self.role == "backup" and self.primary != self.id:
            self.set_timer("takeover")  # the primary is alive: wait `timeout` from now


class Storage(Node):
    highest = durable((1, "r1"))  # the highest epoch seen: the fence
    accepted = durable(())  # ghost: (writer, epoch) of every accepted write, in order

    @on(Write)
    def got_write(self, msg, sender):
        if self.world.variant == "epoch" and msg.epoch < self.highest:
            self.send(sender, Rejected(epoch=self.highest))
            return
        self.highest = max(self.highest, msg.epoch)
        self.accepted = self.accepted + ((sender, msg.epoch),)


class SplitBrain(Protocol):
    n = param(2, help="number of replicas")
    variant = param("epoch", choices=("epoch", "no_epoch"), help="epoch: the storage fences stale epochs")
    timing = param(False, help="model real time: heartbeats, a lease, a failover timeout, bounded delays")
    lease = param(10.0, help="timed mode: the primary may write until this long after its last heartbeat")
    timeout = param(10.0, help="timed mode: a backup takes over after this long without a heartbeat")
    drift = param(0.0, help="timed mode: how far the primary's clock may be off over one lease")
    max_delay = param(1.0, help="timed mode: every message arrives within this long")
    period = param(4.0, help="timed mode: time between two heartbeats")
    beats = param(2, help="timed mode: heartbeats the primary sends before it falls silent")

    checks = [
        holds(faults="partition=1", name="partition"),
        holds(faults="crash=1", name="crash"),
        holds(params={"n": 3}, faults="partition=1", name="three_replicas"),
        violates("one_primary", params={"variant": "no_epoch"}, faults="partition=1"),
        violates("one_primary", params={"variant": "no_epoch"}, faults="crash=1", name="no_epoch-crash"),
        violates("one_primary", params={"variant": "no_epoch", "timing": True}, name="no_epoch_timed"),
        violates("one_primary", params={"variant": "no_epoch", "timing": True, "timeout": 11.5, "drift": 0.5},
                 name="no_epoch_timed-at_the_bound"),
        holds(params={"timing": True, "timeout": 2.0, "drift": 1.0}, name="epoch_any_timing"),
    ]

    @classmethod
    def build_model(cls, params=None, faults=None):
        """timing=true builds TimedSplitBrain: the message delay bound is declared per Protocol class."""
        timing = (params or {}).get("timing", False)
        if cls is SplitBrain and (cls.timing.parse(timing) if isinstance(timing, str) else timing):
            return TimedSplitBrain.build_model(params, faults)
        return super().build_model(params, faults)

    def replicas(self):
        return [f"r{i}" for i in range(1, self.n + 1)]

    def nodes(self):
        kind = TimedReplica if self.timing else Replica
        return {**{r: kind() for r in self.replicas()}, "disk": Storage()}

    @invariant
    def one_primary(self):
        accepted = self.node("disk").accepted
        for (w1, e1), (w2, e2) in pairwise(accepted):
            if e2 < e1:
                return f"{w2} wrote in epoch {e2} after {w1} wrote in epoch {e1}: two primaries accepted writes"
        return True

    @reachable
    def a_write_is_accepted(self):
        return len(self.node("disk").accepted) > 0


class TimedSplitBrain(SplitBrain):
    """SplitBrain with `timing=true`: every message arrives within `max_delay` (and timed replicas).

    Not a spec of its own (`abstract`): `SplitBrain.build_model` picks it, and it keeps the name
    SplitBrain so traces, `--save` folders and `explore replay` see one spec.
    """

    abstract = True

    def delay(self):
        return (0, self.max_delay)


TimedSplitBrain.__name__ = TimedSplitBrain.__qualname__ = "SplitBrain"
