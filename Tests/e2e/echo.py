#!/usr/bin/env python3
"""A tiny TCP and UDP "who am I talking to" server and its client, for the e2e scripts.

  echo.py serve NAME PORT READY_FILE [ADDRESS]
      Listens on PORT, TCP and UDP, both families (one dual-stack socket each), and
      answers every connection or datagram with one line: "NAME saw PEER", PEER being
      the source address as this host saw it (so a masqueraded source shows the node's
      address). Each peer is also logged on stdout, so the log is what reached the
      server. Touches READY_FILE once listening. With ADDRESS, listens on that address
      only (such as 127.0.0.1).

  echo.py ask tcp|udp HOST PORT [TIMEOUT]
      Sends one line, prints the answer line and exits 0; exits 1 with the reason on
      stderr when there is no answer within TIMEOUT seconds (default 2).
"""
import socket
import sys
import threading


def peer_text(address):
    host = address[0]
    # A dual-stack socket shows IPv4 peers as IPv4-mapped IPv6 addresses.
    return host[len("::ffff:"):] if host.startswith("::ffff:") and "." in host else host


def listening_socket(kind, port, address):
    """A dual-stack socket on every address, or one of `address`'s family on it alone."""
    family = socket.AF_INET if address and ":" not in address else socket.AF_INET6
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if address is None:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind((address or "::", port))
    return sock


def serve(name, port, ready_file, address=None):
    tcp = listening_socket(socket.SOCK_STREAM, port, address)
    tcp.listen(64)
    udp = listening_socket(socket.SOCK_DGRAM, port, address)

    def answer_udp():
        while True:
            _, address = udp.recvfrom(2048)
            peer = peer_text(address)
            print(f"udp {peer}", flush=True)
            udp.sendto(f"{name} saw {peer}\n".encode(), address)

    threading.Thread(target=answer_udp, daemon=True).start()
    open(ready_file, "w").close()
    while True:
        conn, address = tcp.accept()
        peer = peer_text(address)
        print(f"tcp {peer}", flush=True)
        with conn:
            conn.settimeout(2)
            try:
                conn.recv(2048)
                conn.sendall(f"{name} saw {peer}\n".encode())
            except OSError:
                pass


def ask(protocol, host, port, timeout):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(family, kind) as sock:
        sock.settimeout(timeout)
        try:
            if protocol == "tcp":
                sock.connect((host, port))
                sock.sendall(b"hello\n")
                reply = sock.recv(2048)
            else:
                sock.sendto(b"hello\n", (host, port))
                reply, _ = sock.recvfrom(2048)
        except OSError as error:
            print(f"no answer from {protocol} {host} port {port}: {error or 'timed out'}", file=sys.stderr)
            return 1
    print(reply.decode().strip())
    return 0


def main(argv):
    if len(argv) in (5, 6) and argv[1] == "serve":
        serve(argv[2], int(argv[3]), argv[4], argv[5] if len(argv) == 6 else None)
        return 0
    if len(argv) in (5, 6) and argv[1] == "ask" and argv[2] in ("tcp", "udp"):
        return ask(argv[2], argv[3], int(argv[4]), float(argv[5]) if len(argv) == 6 else 2.0)
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
