"""The HTTP side of `explore serve`: the standard library's `ThreadingHTTPServer`, a static page and a JSON API.

Every API answer is JSON. An error a user can cause (bad JSON, unknown action, stale state id, a trace
of another spec, an action of the spec that raises) is answered with `{"error": message}` and a 4xx
status; anything else with a 500 and the same shape. The server keeps running either way.

Endpoints (see docs/serve.md):
  GET  /                 the page (index.html, app.js, app.css from explorer/serve/static)
  GET  /api/state        the current state, enabled actions, invariants, the path
  GET  /api/diagram      the sequence diagram of the path up to the cursor: {svg, dot, note}
  GET  /api/diagram.svg  the same chart as an SVG file (the page's "open full size")
  GET  /api/trace.json   the whole path as a replayable trace file
  POST /api/step         {state_id, action, decisions}
  POST /api/goto         {index}            back and forward along the path
  POST /api/reset        {init}             a new path from an initial state
  POST /api/random       {state_id, steps, seed?}
  POST /api/search       {state_id, max_states?, time_limit?, depth?, deadlock?}
  POST /api/jump         {fingerprint, max_states?, time_limit?}
  POST /api/trace        the JSON of a saved trace file
  POST /api/configure    {params?, faults?}  the spec again with other parameters or fault budgets
"""
from __future__ import annotations

import json
import threading
import traceback
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from ..errors import ActionError, ExplorerError
from .session import NotFound, Session, StaleState

MAX_BODY = 32 * 1024 * 1024
_STATIC = {"/": ("index.html", "text/html; charset=utf-8"), "/index.html": ("index.html", "text/html; charset=utf-8"),
           "/app.js": ("app.js", "text/javascript; charset=utf-8"), "/app.css": ("app.css", "text/css; charset=utf-8")}


class ApiError(Exception):
    """An HTTP-level error: a status and a message for the page."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def static_file(name: str) -> bytes:
    """Returns one file of the page, shipped as package data."""
    return resources.files("explorer.serve").joinpath("static", name).read_bytes()


class ExplorerServer(ThreadingHTTPServer):
    """An HTTP server bound to one Session; requests are handled one at a time under the session's lock."""

    daemon_threads = True

    def __init__(self, session: Session, host: str = "127.0.0.1", port: int = 0, *, check_host: bool = True):
        self.session = session
        self.check_host = check_host
        super().__init__((host, port), _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{port}/"

    def start_in_thread(self) -> threading.Thread:
        """Serves in a daemon thread (tests and notebooks); stop with `shutdown()` then `server_close()`."""
        t = threading.Thread(target=self.serve_forever, name="explore-serve", daemon=True)
        t.start()
        return t


class _Handler(BaseHTTPRequestHandler):
    server: ExplorerServer
    protocol_version = "HTTP/1.1"
    server_version = "explore-serve"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass  # quiet: the terminal shows the URL and errors only

    # ------------------------------------------------------------------ plumbing
    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any, extra: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False, default=str).encode("utf-8"),
                   "application/json; charset=utf-8", extra)

    def _host_ok(self) -> bool:
        """Refuses requests whose Host is not this machine's loopback (DNS rebinding), unless --host was given."""
        if not self.server.check_host:
            return True
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        return host in ("127.0.0.1", "localhost", "::1", "")

    def _body(self) -> Any:
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":  # also keeps other web pages from posting here without a CORS preflight
            raise ApiError(415, f"send the request body as application/json, not {ctype or 'nothing'}")
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ApiError(400, "bad Content-Length") from None
        if n > MAX_BODY:
            raise ApiError(413, f"the request body is {n:,} bytes; at most {MAX_BODY:,} are accepted")
        raw = self.rfile.read(n) if n else b""
        if not raw.strip():
            return {}
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ApiError(400, f"the request body is not valid JSON: {e}") from None

    def _dispatch(self, fn) -> None:
        if not self._host_ok():
            self._json(403, {"error": "this server answers requests for 127.0.0.1 or localhost only"})
            return
        try:
            fn()
        except ApiError as e:
            self._json(e.status, {"error": e.message})
        except StaleState as e:
            self._json(409, {"error": e.render(), "stale": True})
        except NotFound as e:
            self._json(404, {"error": e.render()})
        except ActionError as e:
            self._json(422, {"error": e.render(), "spec_error": True})
        except ExplorerError as e:
            self._json(400 if e.exit_code == 2 else 422, {"error": e.render()})
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # noqa: BLE001 - a bug in explorer must not stop the server
            traceback.print_exc()
            self._json(500, {"error": f"internal error in explorer: {type(e).__name__}: {e} (the server keeps running)"})

    # ------------------------------------------------------------------ routes
    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        self._dispatch(self._get)

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch(self._post)

    def _get(self) -> None:
        path = self.path.split("?", 1)[0]
        s = self.server.session
        if path in _STATIC:
            name, ctype = _STATIC[path]
            self._send(200, static_file(name), ctype)
        elif path == "/favicon.ico":
            self._send(204, b"", "image/x-icon")
        elif path == "/api/state":
            with s.lock:
                self._json(200, s.view())
        elif path == "/api/diagram":
            with s.lock:
                self._json(200, s.diagram())
        elif path == "/api/diagram.svg":
            with s.lock:
                d = s.diagram()
            if d["svg"] is None:
                raise ApiError(404, d["note"] or "no drawing")
            self._send(200, d["svg"].encode("utf-8"), "image/svg+xml; charset=utf-8")
        elif path == "/api/trace.json":
            from ..trace.json_io import trace_to_json

            with s.lock:
                data = trace_to_json(s.as_trace())
            name = f"{s.model.name.lower()}-path.json"
            self._json(200, data, {"Content-Disposition": f'attachment; filename="{name}"'})
        else:
            raise ApiError(HTTPStatus.NOT_FOUND, f"no such page or endpoint: GET {path}")

    def _post(self) -> None:
        path = self.path.split("?", 1)[0]
        s = self.server.session
        routes = {
            "/api/step": lambda b: s.step(b.get("state_id"), b.get("action"), b.get("decisions", [])),
            "/api/goto": lambda b: s.goto(b.get("index")),
            "/api/reset": lambda b: s.reset(b.get("init", 0)),
            "/api/random": lambda b: s.random_walk(b.get("state_id"), b.get("steps"), b.get("seed")),
            "/api/search": lambda b: s.search(b.get("state_id"), b.get("max_states"), b.get("time_limit"),
                                              b.get("depth"), b.get("deadlock", False)),
            "/api/jump": lambda b: s.jump(b.get("fingerprint"), b.get("max_states"), b.get("time_limit")),
            "/api/trace": lambda b: s.load_trace(b),
            "/api/configure": lambda b: s.configure(b.get("params"), b.get("faults")),
        }
        fn = routes.get(path)
        if fn is None:
            raise ApiError(HTTPStatus.NOT_FOUND, f"no such endpoint: POST {path}")
        body = self._body()
        if path != "/api/trace" and not isinstance(body, dict):
            raise ApiError(400, f"the request body must be a JSON object, not {type(body).__name__}")
        with s.lock:
            self._json(200, fn(body))
