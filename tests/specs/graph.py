"""A walk on a directed graph given as parameters: the state is the node the walker is on.

Its reachable states, transitions and depths are those of the graph, so tests can compare the
explorer's counts with networkx's on any graph.
"""
from explorer import Spec, action, choose, invariant, param


class GraphWalk(Spec):
    edges = param(((0, 1), (1, 0)), help="directed edges (a, b)")
    starts = param((0,), help="initial nodes")
    avoid = param(-1, help="a node the walk must never reach (-1: none)")

    def init(self):
        self.at = choose(self.starts)

    @action
    def move(self):
        self.at = choose([b for a, b in self.edges if a == self.at])

    @invariant
    def avoids(self):
        return self.at != self.avoid
