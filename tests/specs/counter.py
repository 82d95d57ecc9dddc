"""A counter modulo k: k states in one cycle, k transitions, depth k - 1."""
from explorer import Spec, action, param


class Counter(Spec):
    k = param(5, help="modulus")

    def init(self):
        self.x = 0

    @action
    def inc(self):
        self.x = (self.x + 1) % self.k
