from explorer import Node, Protocol, on


class Ping:  # forgot to subclass Message
    pass


class Server(Node):
    @on(Ping)
    def got_ping(self, msg, sender):
        pass


class System(Protocol):
    def nodes(self):
        return {"s": Server()}
