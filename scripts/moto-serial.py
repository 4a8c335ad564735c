"""Run moto_server with one request applied at a time.

moto applies a DynamoDB conditional write as read-check-write without a lock,
so its threaded server can grant one lease to two holders at once, which
real DynamoDB never does (single-item writes are atomic there). This wraps
moto's WSGI application in a lock: connections stay threaded (HTTP/1.1
keep-alive, as moto_server runs by default), but requests are applied one
after another. An unthreaded server would instead answer HTTP/1.0 and close
every connection, which under load loses answers the SDK then retries.
Arguments are moto_server's (-H HOST -p PORT).
"""
import sys
import threading

import moto.server as server

_run_simple = server.run_simple
_lock = threading.Lock()


def _serial(hostname, port, application, *args, **kwargs):
    def locked(environ, start_response):
        with _lock:
            return list(application(environ, start_response))

    return _run_simple(hostname, port, locked, *args, **kwargs)


server.run_simple = _serial
server.main(sys.argv[1:])
