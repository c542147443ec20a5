"""The real app under uvicorn on 127.0.0.1, in a thread of the test process."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from service.services import Services
from service.web.app import create_app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """The real app under uvicorn on 127.0.0.1, in a thread of the test process."""

    def __init__(self, services: Services) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(services),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            proxy_headers=False,  # as `visitcal serve` runs it
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
