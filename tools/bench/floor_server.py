"""The Python floor: the interpreter answering HTTP with nothing imported.

Runs as the entrypoint of //tools/bench:floor_python (the python3 base) and
uses only _socket, which is built into the interpreter, so a cold start of it
is what starting Python costs before the service imports anything. Answers
every request with 200 and an empty body.
"""

import _socket

server = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
server.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", 8080))
server.listen(16)
while True:
    fd, _ = server._accept()
    client = _socket.socket(fileno=fd)
    client.recv(65536)
    client.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
    client.close()
