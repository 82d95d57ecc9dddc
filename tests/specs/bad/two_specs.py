from explorer import Spec, action


class First(Spec):
    def init(self):
        self.x = 0

    @action
    def inc(self):
        self.x = 1


class Second(Spec):
    def init(self):
        self.y = 0

    @action
    def inc(self):
        self.y = 1
