from explorer import Message, Node, Protocol, on


class Ping(Message):
    pass


class Client(Node):
    def on_start(self):
        self.send("s", Ping())

    @on(Ping)
    def echo(self, msg, sender):
        pass


class Server(Node):
    @on(Ping)
    def got_ping(self, msg, sender):
        self.broadcast(Ping(), to=["c", "server2"])  # there is no node server2


class System(Protocol):
    def nodes(self):
        return {"c": Client(), "s": Server()}
