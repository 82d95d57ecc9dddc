"""`explore serve`: step through a spec in the browser, inject faults by hand, open saved traces.

`Session` (session.py) holds the spec, the path and the cursor and knows nothing of HTTP;
`ExplorerServer` (server.py) answers the page's JSON requests with it. The page is three static
files (static/), with no build step and nothing fetched from the network.
"""
from .server import ExplorerServer
from .session import Session

__all__ = ["ExplorerServer", "Session"]
