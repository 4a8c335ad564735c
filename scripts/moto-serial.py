"""Run moto_server one request at a time.

moto applies a DynamoDB conditional write as read-check-write without a lock,
so its default threaded server can grant one lease to two holders at once,
which real DynamoDB never does (single-item writes are atomic there). Serving
requests one at a time restores that guarantee for our contention tests.
Arguments are moto_server's (-H HOST -p PORT).
"""
import sys

import moto.server as server

_run_simple = server.run_simple


def _serial(*args, **kwargs):
    kwargs["threaded"] = False
    return _run_simple(*args, **kwargs)


server.run_simple = _serial
server.main(sys.argv[1:])
