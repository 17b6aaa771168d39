"""The asyncio network backend under the SDK's HTTP client (recorder.ingest.sockets): reads, timeouts, servers
that close, back-pressure, cancellation, TLS, and installing it. (The recording tests against the emulator run
through it too: make_client installs it.)"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anthropic
import httpcore2
import httpx2
import pytest

from recorder.ingest import sockets
from recorder.ingest.sockets import HIGH_WATER, Backend

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def server(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    srv = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ssl_context)
    try:
        yield srv.sockets[0].getsockname()[1]
    finally:
        srv.close()


async def _request_head(reader: asyncio.StreamReader) -> None:
    await reader.readuntil(b"\r\n\r\n")


def test_a_read_gets_what_arrived_and_then_the_end() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello ")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"world")
        writer.close()

    async def main() -> bytes:
        async with server(handler) as port:
            stream = await Backend().connect_tcp("127.0.0.1", port, timeout=5)
            got = b""
            while chunk := await stream.read(3, timeout=5):  # max_bytes smaller than a chunk: the rest waits
                assert len(chunk) <= 3
                got += chunk
            assert stream.get_extra_info("is_readable")  # at its end: an idle connection like this is expired
            await stream.aclose()
            return got

    assert asyncio.run(main()) == b"hello world"


def test_a_silent_server_gives_a_read_timeout_and_a_cancellation_stays_one() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(2)
        writer.write(b"late")
        await writer.drain()
        await asyncio.sleep(1)
        writer.close()

    async def main() -> None:
        async with server(handler) as port:
            stream = await Backend().connect_tcp("127.0.0.1", port, timeout=5)
            assert not stream.get_extra_info("is_readable")
            with pytest.raises(httpcore2.ReadTimeout):
                await stream.read(100, timeout=0.05)
            task = asyncio.ensure_future(stream.read(100, timeout=10))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await stream.read(100, timeout=5) == b"late"  # nothing was lost by the timeout or the cancel
            await stream.aclose()

    asyncio.run(main())


def test_a_large_body_comes_whole_through_back_pressure() -> None:
    body = bytes(range(256)) * (3 * HIGH_WATER // 256)

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(body)
        await writer.drain()
        writer.close()

    async def main() -> bytes:
        async with server(handler) as port:
            stream = await Backend().connect_tcp("127.0.0.1", port, timeout=5)
            await asyncio.sleep(0.3)  # let it pile up: reading pauses above HIGH_WATER
            protocol = stream._protocol  # type: ignore[attr-defined]
            assert protocol.buffered <= HIGH_WATER + (1 << 18)
            got = bytearray()
            while chunk := await stream.read(65536, timeout=5):
                got += chunk
            return bytes(got)

    assert asyncio.run(main()) == body


def test_connecting_to_a_closed_port_is_a_connect_error() -> None:
    async def main() -> None:
        async with server(lambda r, w: asyncio.sleep(0)) as port:
            pass  # closed again: nothing listens on the port now
        with pytest.raises(httpcore2.ConnectError):
            await Backend().connect_tcp("127.0.0.1", port, timeout=5)

    asyncio.run(main())


def test_writing_to_a_closed_connection_is_a_write_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def main() -> None:
        async with server(handler) as port:
            stream = await Backend().connect_tcp("127.0.0.1", port, timeout=5)
            assert await stream.read(10, timeout=5) == b""
            with pytest.raises(httpcore2.WriteError):
                for _ in range(50):
                    await stream.write(b"x" * 65536, timeout=5)
                    await asyncio.sleep(0.01)

    asyncio.run(main())


def test_http_requests_and_sse_through_the_client() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if head.startswith(b"GET /stream"):
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
                             b"connection: close\r\n\r\n")
                for n in range(3):
                    frame = f'event: agent.message\ndata: {{"id": "e{n}"}}\n\n'.encode()
                    writer.write(f"{len(frame):x}\r\n".encode() + frame + b"\r\n")
                    await writer.drain()
                    await asyncio.sleep(0.01)
                writer.write(b"0\r\n\r\n")
                writer.close()
                return
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}")
            await writer.drain()

    async def main() -> None:
        from recorder.ingest.api import _events

        async with server(handler) as port:
            client = httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}")
            assert sockets.install(client)
            for _ in range(3):  # one kept-alive connection, reused
                assert (await client.get("/x")).json() == {}
            async with client.stream("GET", "/stream") as response:
                assert [obj["id"] async for obj, _ in _events(response)] == ["e0", "e1", "e2"]
            await client.aclose()

    asyncio.run(main())


def test_install_takes_the_sdk_client_and_leaves_other_transports() -> None:
    sdk_client = anthropic.DefaultAsyncHttpxClient()
    assert sockets.install(sdk_client)
    assert isinstance(sdk_client._transport._pool._network_backend, Backend)  # type: ignore[attr-defined]
    mocked = httpx2.AsyncClient(transport=httpx2.MockTransport(lambda request: httpx2.Response(200)))
    assert not sockets.install(mocked)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_tls(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    client_context = ssl.create_default_context(cafile=str(cert))

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await _request_head(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: " + str(3 * HIGH_WATER).encode() + b"\r\n\r\n")
            writer.write(b"z" * (3 * HIGH_WATER))
            await writer.drain()

    async def main() -> None:
        async with server(handler, server_context) as port:
            client = httpx2.AsyncClient(verify=client_context, base_url=f"https://localhost:{port}")
            assert sockets.install(client)
            for _ in range(2):
                response = await client.get("/")
                assert response.content == b"z" * (3 * HIGH_WATER)
            await client.aclose()
            untrusting = httpx2.AsyncClient(base_url=f"https://localhost:{port}")  # the system's roots only
            sockets.install(untrusting)
            with pytest.raises(httpx2.ConnectError):
                await untrusting.get("/")
            await untrusting.aclose()

    asyncio.run(main())
