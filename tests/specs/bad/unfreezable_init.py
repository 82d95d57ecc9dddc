from explorer import Spec, action


class Unfreezable(Spec):
    def init(self):
        self.f = open(__file__)

    @action
    def noop(self):
        pass
