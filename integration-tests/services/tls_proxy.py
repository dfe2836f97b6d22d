#!/usr/bin/env python3
"""A TLS terminator for tests: accepts HTTPS on 127.0.0.1 and forwards the plain bytes to an
upstream TCP address (the harness's Elasticsearch node), so a client's certificate checks meet a
real TLS server. Standard library only.

Usage: tls_proxy.py CERT_PEM KEY_PEM UPSTREAM_HOST:PORT
Prints "LISTENING <port>" once bound (an ephemeral port), then serves until killed or until
stdin closes.
"""

import socket
import ssl
import sys
import threading


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def serve(client, context, upstream):
    try:
        tls = context.wrap_socket(client, server_side=True)
    except (ssl.SSLError, OSError):
        # A client that refused our certificate: exactly what some tests expect.
        client.close()
        return
    try:
        backend = socket.create_connection(upstream)
    except OSError:
        tls.close()
        return
    threading.Thread(target=pipe, args=(tls, backend), daemon=True).start()
    pipe(backend, tls)


def main():
    cert, key, upstream = sys.argv[1], sys.argv[2], sys.argv[3]
    host, port = upstream.rsplit(":", 1)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(f"LISTENING {listener.getsockname()[1]}", flush=True)

    def accept_loop():
        while True:
            client, _ = listener.accept()
            threading.Thread(
                target=serve, args=(client, context, (host, int(port))), daemon=True
            ).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    sys.stdin.read()  # EOF: the test that started us is done


if __name__ == "__main__":
    main()
