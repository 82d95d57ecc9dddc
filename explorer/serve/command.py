"""What `explore serve` does once its flags are parsed: build the session, bind, open the browser, serve."""
from __future__ import annotations

import errno
import threading
import webbrowser
from collections.abc import Callable
from typing import Any

from ..errors import UsageError
from .server import ExplorerServer
from .session import Session

LOOPBACK = "127.0.0.1"


def make_server(spec: str | None, params: dict[str, Any], faults: Any, *, trace: str | None = None,
                host: str | None = None, port: int = 8765) -> ExplorerServer:
    """Returns a bound (not yet serving) server for `spec`, with `trace` opened when given."""
    data = None
    if trace is not None:
        from ..replay import _spec_path
        from ..trace.json_io import load_trace

        data = load_trace(trace)
        spec = spec or _spec_path(data, trace, None)
    if spec is None:
        raise UsageError("explore serve needs a spec: explore serve SPEC.py, or explore serve --trace TRACE.json")
    session = Session(spec, params, faults)
    if data is not None:
        session.load_trace(data, where=trace)
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port}: a port is a number from 0 to 65535 (0 picks a free one)")
    bind = host or LOOPBACK
    try:
        return ExplorerServer(session, bind, port, check_host=host is None)
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {bind} is already in use",
                             hint="stop the other server, or pass --port 0 to pick a free port") from None
        raise UsageError(f"cannot listen on {bind}:{port}: {e.strerror or e}") from None


def serve(server: ExplorerServer, *, open_browser: bool = True, echo: Callable[[str], None] = print) -> None:
    """Serves until Ctrl-C; opens the page in the default browser first unless told not to."""
    s = server.session
    echo(f"explore serve: {s.model.describe()}  faults: {getattr(s.model, 'faults_text', None) or 'none'}")
    echo(f"  open {server.url}  (Ctrl-C stops the server)")
    if server.server_address[0] not in (LOOPBACK, "localhost", "::1"):
        echo("  warning: listening beyond this machine (--host): anyone who can reach it can drive the explorer")
    if open_browser:
        threading.Timer(0.3, lambda: webbrowser.open(server.url)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        echo("stopped")
    finally:
        server.server_close()
