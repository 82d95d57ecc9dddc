from explorer import Spec, action


class Typo(Spec):
    def init(self):
        self.count = 0

    @action
    def inc(self):
        self.cuont = self.count + 1  # a typo: not a field init() set
