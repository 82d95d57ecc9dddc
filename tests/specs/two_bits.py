"""Two independent bits, each toggled by its own action: 4 states, 8 transitions, depth 2."""
from explorer import Spec, action


class TwoBits(Spec):
    def init(self):
        self.a = 0
        self.b = 0

    @action
    def flip_a(self):
        self.a = 1 - self.a

    @action
    def flip_b(self):
        self.b = 1 - self.b
