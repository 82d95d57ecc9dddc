from explorer import Message, Node, Protocol, on


class Ping(Message):
    pass


class Pong(Message):
    pass


class Client(Node):
    def on_start(self):
        self.send("s", Ping())


class Server(Node):
    @on(Pong)
    def got_pong(self, msg, sender):
        pass


class System(Protocol):
    def nodes(self):
        return {"c": Client(), "s": Server()}
