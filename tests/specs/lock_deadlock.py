"""Two processes take two locks in opposite orders: they can deadlock, and both can also finish.

States: both done is the proper end (terminal() says so unless done_is_terminal=False); p holding
l1 while q holds l2 is the deadlock.
"""
from explorer import Spec, action, choose, param, require


class TwoLocks(Spec):
    done_is_terminal = param(True, help="treat 'both finished' as a proper end")

    def init(self):
        self.holds = {"p": (), "q": ()}  # the locks each process holds, in the order taken
        self.done = {"p": False, "q": False}

    def order(self, proc):
        return ("l1", "l2") if proc == "p" else ("l2", "l1")

    @action
    def acquire(self):
        proc = choose(["p", "q"])
        require(not self.done[proc] and len(self.holds[proc]) < 2)
        want = self.order(proc)[len(self.holds[proc])]
        require(all(want not in locks for locks in self.holds.values()))
        self.holds[proc] = self.holds[proc] + (want,)

    @action
    def release_all(self):
        proc = choose(["p", "q"])
        require(len(self.holds[proc]) == 2)
        self.holds[proc] = ()
        self.done[proc] = True

    def terminal(self):
        return self.done_is_terminal and all(self.done.values())
