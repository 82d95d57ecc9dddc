from explorer import Spec, action

CALLS = [0]


class Ticker(Spec):
    def init(self):
        self.x = 0

    @action
    def tick(self):
        CALLS[0] += 1
        self.x = CALLS[0] % 7
