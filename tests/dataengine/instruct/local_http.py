"""A small real HTTP server on 127.0.0.1 that misbehaves on purpose: slow, broken JSON,
errors, or well-formed chat completions, and counts the requests it gets."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def completion(texts: list[str]) -> bytes:
    choices = [
        {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
        for i, t in enumerate(texts)
    ]
    body = {"id": "c", "object": "chat.completion", "created": 0, "model": "m", "choices": choices}
    return json.dumps(body).encode()


def polite_rewrite(request: dict) -> bytes:
    """A valid answer for a rewrite request: the instruction, with 'Please, ' in front."""
    user = request["messages"][-1]["content"]
    instruction = user.split("Instruction: ", 1)[1]
    return completion([f"Please, {instruction}"] * request.get("n", 1))


BEHAVIOURS = {
    "ok": lambda req: (200, polite_rewrite(req)),
    "bad_json": lambda req: (200, b'{"choices": [{"message": '),
    "no_choices": lambda req: (200, b'{"id": "c", "object": "chat.completion"}'),
    "server_error": lambda req: (500, b'{"error": {"message": "engine crashed"}}'),
}


class LocalServer:
    """`behaviour` picks the answer; `delay_s` holds every answer back that long."""

    def __init__(self, behaviour: str = "ok", delay_s: float = 0.0):
        self.behaviour, self.delay_s, self.requests = behaviour, delay_s, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                server.requests += 1
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(server.delay_s)
                status, body = BEHAVIOURS[server.behaviour](request)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout) before we answered

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/v1"

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
