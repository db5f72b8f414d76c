"""Serving a page on this machine only: what the review and chat servers share.

The server binds 127.0.0.1. It answers only requests addressed to that address or to
localhost (a page elsewhere cannot reach it through a rebound DNS name), and takes a POST only
from its own origin (a page of another site cannot post to it). It stops on Ctrl-C and on
SIGTERM alike: a server started in the background has SIGINT ignored.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from importlib import resources

from flask import Flask, abort, request

LOOPBACK = "127.0.0.1"


def page_asset(package: str, name: str) -> str:
    """A file of a page: `package`'s static/NAME (dom.js, the helpers both pages load, is
    this package's)."""
    owner = "dataengine.review" if name == "dom.js" else package
    return resources.files(owner).joinpath("static", name).read_text("utf-8")


def guard_loopback(app: Flask) -> None:
    @app.before_request
    def loopback_only():
        if request.host.rsplit(":", 1)[0] not in (LOOPBACK, "localhost"):
            abort(403)
        origin = request.headers.get("Origin")  # a page's POST says where it came from
        if request.method == "POST" and origin not in (None, request.host_url.rstrip("/")):
            abort(403)


def serve_locally(app: Flask, port: int, banner: Callable[[str], str]) -> None:
    """Serve `app` on 127.0.0.1:port (0: a free port) until Ctrl-C or SIGTERM; print
    banner(url) first, so that whoever started it learns the URL."""
    from werkzeug.serving import make_server

    server = make_server(LOOPBACK, port, app, threaded=True)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    print(banner(f"http://{LOOPBACK}:{server.port}/"), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
