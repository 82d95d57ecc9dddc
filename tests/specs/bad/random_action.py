import random

from explorer import Spec, action


class Dice(Spec):
    def init(self):
        self.x = 0.0

    @action
    def roll(self):
        self.x = random.random()
