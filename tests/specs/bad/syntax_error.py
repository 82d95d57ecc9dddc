from explorer import Spec, action


class Broken(Spec):
    def init(self):
        self.x = 0

    @action
    def inc(self)
        self.x += 1
