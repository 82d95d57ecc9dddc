from explorer import Spec, action, invariant, require


class Lookup(Spec):
    def init(self):
        self.x = 0

    @action
    def inc(self):
        require(self.x < 3)
        self.x += 1

    @invariant
    def known(self):
        return {0: True, 1: True}[self.x]  # KeyError once x == 2
