from explorer import Spec, action


class UnfreezableStep(Spec):
    def init(self):
        self.thing = None

    @action
    def make(self):
        self.thing = object()
