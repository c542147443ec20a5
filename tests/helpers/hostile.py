"""What the hostile-input tests compare: every row of every table and the public feeds' bytes,
so that a refused request is shown to have changed nothing."""

from __future__ import annotations

import socket
import threading
from typing import Any

import httpx
from sqlmodel import SQLModel

from service.services import Services
from tests.helpers.services import LEE, MELONI

PUBLIC = ("/feeds/all.ics", f"/feeds/visits/{LEE}.ics", f"/feeds/visits/{MELONI}.ics")


def snapshot(services: Services, server_url: str) -> dict[str, Any]:
    """Every table's rows (sorted, as text) and the public feeds' bytes."""
    tables: dict[str, Any] = {}
    with services.db.engine.connect() as connection:
        for name, table in SQLModel.metadata.tables.items():
            rows = connection.execute(table.select()).all()
            tables[name] = sorted(repr(tuple(row)) for row in rows)
    feeds = {path: httpx.get(f"{server_url}{path}").content for path in PUBLIC}
    return {"tables": tables, "feeds": feeds}


def field_of(answer: httpx.Response) -> str:
    """The field a 422 names: the last part of its location that is a name, not an index."""
    (problem, *_) = answer.json()["detail"]
    names = [str(part) for part in problem["loc"] if not isinstance(part, int)]
    return ".".join(names[1:]) if names[:1] == ["body"] else ".".join(names)


class ConnectionCounter:
    """A TCP port on 127.0.0.1 that counts every connection made to it, whatever it carries."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.connections = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def __enter__(self) -> ConnectionCounter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
