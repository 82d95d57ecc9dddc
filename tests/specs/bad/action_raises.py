from explorer import Spec, action, require


class Raises(Spec):
    def init(self):
        self.x = 0

    @action
    def inc(self):
        require(self.x < 2)
        self.x += 1

    @action
    def halve(self):
        self.x = self.x // (2 - self.x)  # x == 2 divides by zero
