"""moto's server, with every write to an object made whole.

    python3 tools/emulators/moto-server.py -H 127.0.0.1 -p 5000    (moto.server's own arguments)

moto answers each request on its own thread and checks `If-Match` / `If-None-Match` before it
writes, with nothing held in between: two writers holding the same etag can both pass the check
and both write, which S3 never allows. Every lost-update test of the S3 adapter rests on that
compare-and-swap, so this runs moto's server with one lock around each request that changes
objects (PUT, POST, DELETE), the check and the write together, as S3 does them.

The request's body is read before the lock is taken, so a client that sends slowly (or a fault
proxy that stalls) holds up nobody else. Uploading a part changes no object until the upload is
completed, so parts, the bulk of a large upload, go through unlocked and in parallel.
"""

import io
import sys
import threading

import moto.server

WRITES = {"PUT", "POST", "DELETE"}


class WholeWrites:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] not in WRITES or "partNumber=" in environ.get("QUERY_STRING", ""):
            return self.app(environ, start_response)
        body = read_body(environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ["wsgi.input_terminated"] = True
        with self.lock:
            answer = self.app(environ, start_response)
            try:
                return [b"".join(answer)]
            finally:
                close = getattr(answer, "close", None)
                if close:
                    close()


def read_body(environ):
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        return stream.read(int(length))
    # A chunked body (werkzeug has already taken the chunks apart) or none: read to its end.
    return stream.read() if environ.get("wsgi.input_terminated") else b""


def run_simple(host, port, app, *args, **kwargs):
    return serve(host, port, WholeWrites(app), *args, **kwargs)


serve = moto.server.run_simple
moto.server.run_simple = run_simple

if __name__ == "__main__":
    moto.server.main(sys.argv[1:])
