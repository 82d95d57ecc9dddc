from explorer import Spec, action


class Empty(Spec):
    def init(self):
        pass

    @action
    def noop(self):
        pass
