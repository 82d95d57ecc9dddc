from explorer import Spec, action, invariant


class Forgetful(Spec):
    def init(self):
        self.x = 0

    @action
    def inc(self):
        self.x = min(self.x + 1, 2)

    @invariant
    def small(self):
        if self.x > 5:
            return False  # forgot the 'return True' for the good case
