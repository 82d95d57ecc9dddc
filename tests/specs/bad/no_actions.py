from explorer import Spec, invariant


class Idle(Spec):
    def init(self):
        self.x = 0

    @invariant
    def fine(self):
        return True
