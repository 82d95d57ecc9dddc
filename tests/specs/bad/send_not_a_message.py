from explorer import Message, Node, Protocol, on


class Ping(Message):
    pass


class Client(Node):
    def on_start(self):
        self.send("s", Ping())


class Server(Node):
    @on(Ping)
    def got_ping(self, msg, sender):
        self.send(sender, "pong")  # a str, not a Message


class System(Protocol):
    def nodes(self):
        return {"c": Client(), "s": Server()}
