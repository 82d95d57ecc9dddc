"""A counter that must stay below 3: explored without a depth bound, it fails after 3 steps."""
from explorer import Spec, action, invariant, param


class BuggyCounter(Spec):
    limit = param(3, help="the first value that violates the invariant")

    def init(self):
        self.x = 0

    @action
    def inc(self):
        self.x = min(self.x + 1, 5)

    @invariant
    def below_limit(self):
        return self.x < self.limit or f"x reached {self.x}"
