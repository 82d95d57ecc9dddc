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

What is abstracted away: the data written (a write is who wrote it, in which epoch), replication
between primary and backups (the storage stands for it), clients (a primary writes on its own),
time: the heartbeats are the failure detector `self.suspects(primary)` (a backup times out when
the primary is down and its last messages have arrived, or when a partition cuts it off; either
way it cannot tell which). Roles and epochs are durable: a replica that restarts resumes as what
it was, which is what makes the restart case a split brain without fencing.

    explore specs/split_brain.py                                          # no faults: holds
    explore specs/split_brain.py --faults partition=1                     # epoch fencing: holds
    explore specs/split_brain.py --param variant=no_epoch --faults partition=1    # split brain: exit 12
    explore specs/split_brain.py --param variant=no_epoch --faults crash=1        # no partition, a crash: exit 12
"""
from itertools import pairwise

from explorer import Message, Node, Protocol, durable, invariant, on, param, reachable, require, timer
from explorer.dsl.expect import holds, violates


class Write(Message):
    epoch: tuple  # (number, replica id): ordered by number, then id


class Rejected(Message):
    epoch: tuple  # the highest epoch the storage has seen


class NewPrimary(Message):
    epoch: tuple


class Replica(Node):
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

    @timer
    def heartbeat_timeout(self):
        require(self.role == "backup" and self.suspects(self.primary))
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

    checks = [
        holds(faults="partition=1", name="partition"),
        holds(faults="crash=1", name="crash"),
        holds(params={"n": 3}, faults="partition=1", name="three_replicas"),
        violates("one_primary", params={"variant": "no_epoch"}, faults="partition=1"),
        violates("one_primary", params={"variant": "no_epoch"}, faults="crash=1", name="no_epoch-crash"),
    ]

    def replicas(self):
        return [f"r{i}" for i in range(1, self.n + 1)]

    def nodes(self):
        return {**{r: Replica() for r in self.replicas()}, "disk": Storage()}

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
