"""The recorder's HTTP connections on plain asyncio: the network layer under the SDK's transport, made cheap.

The SDK's HTTP stack (httpx2 over httpcore2) reaches the network through anyio. Profiled with a hundred live
streams, that layer cost more than parsing and storing the events it carried:

- every read resumes the socket's reading and pauses it again (anyio does so to bound its buffer): two ``epoll``
  system calls per chunk, on top of a cancel scope for the read's timeout;
- every request scans the pool's idle connections, and checking whether one was closed by the server builds
  anyio's attribute table for it (``getpeername`` included) and polls its socket.

:class:`Backend` is an httpcore2 network backend on asyncio's own protocol machinery instead: a connection's
socket stays registered for reading, what arrives waits in a buffer (reading pauses only when that buffer holds
more than ``HIGH_WATER`` bytes), a read takes the buffer or waits on one future (its timeout one timer), and
"closed by the server" is known without a system call (the protocol saw the end of the stream). TLS goes through
``loop.start_tls``. Errors map to httpcore2's own (``ConnectError``, ``ReadTimeout``...), so the SDK and the
recorder's retry policy see what they saw before.

:func:`install` puts it under an ``httpx2.AsyncClient``'s transports (its proxies' included); clients made
otherwise (tests' mock transports) are left alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections import deque
from collections.abc import Iterable
from typing import Any

import httpcore2
from httpcore2 import AsyncNetworkBackend, AsyncNetworkStream

HIGH_WATER = 1 << 20  # bytes buffered before reading pauses (resumed once a read brings it under LOW_WATER)
LOW_WATER = 1 << 16

SocketOption = Any  # (httpcore2's socket option tuples, passed to setsockopt as they are)


class _Protocol(asyncio.Protocol):
    """Collects what the connection delivers; wakes the one reader waiting for it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.eof = False
        self.error: BaseException | None = None
        self.closed = False
        self.paused = False
        self.waiter: asyncio.Future[None] | None = None
        self.drained: asyncio.Future[None] | None = None
        self.writing_paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.buffered += len(data)
        if self.buffered > HIGH_WATER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool | None:
        self.eof = True
        self._wake()
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.eof = True
        if exc is not None and self.error is None:
            self.error = exc
        self._wake()
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        drained, self.drained = self.drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)


async def _within(future: asyncio.Future[Any], timeout: float | None, on_timeout: type[Exception]) -> None:
    """Wait for ``future`` at most ``timeout`` seconds (one timer, no task); ``on_timeout`` when it runs out. A
    cancellation of the waiting task stays a cancellation, even if the timer ran out at the same moment."""
    if timeout is None:
        await future
        return
    expired: list[bool] = []

    def expire() -> None:
        if not future.done():
            expired.append(True)
            future.cancel()

    timer = asyncio.get_running_loop().call_later(max(timeout, 0.0), expire)
    try:
        await future
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if not expired or (task is not None and task.cancelling()):
            raise
        raise on_timeout("timed out") from None
    finally:
        timer.cancel()


class Stream(AsyncNetworkStream):
    """One connection (see the module docstring)."""

    def __init__(self, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._transport = transport
        self._protocol = protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        protocol = self._protocol
        while not protocol.chunks:
            if protocol.eof:
                if protocol.error is not None:
                    raise httpcore2.ReadError(str(protocol.error) or type(protocol.error).__name__)
                return b""
            waiter = protocol.waiter = asyncio.get_running_loop().create_future()
            try:
                await _within(waiter, timeout, httpcore2.ReadTimeout)
            finally:
                if protocol.waiter is waiter:
                    protocol.waiter = None
        chunk = protocol.chunks.popleft()
        if len(chunk) > max_bytes:
            protocol.chunks.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        protocol.buffered -= len(chunk)
        if protocol.paused and protocol.buffered < LOW_WATER and not protocol.closed:
            protocol.paused = False
            self._transport.resume_reading()
        return chunk

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        protocol = self._protocol
        if protocol.closed or self._transport.is_closing():
            raise httpcore2.WriteError("the connection is closed")
        try:
            self._transport.write(buffer)
        except (OSError, RuntimeError) as err:
            raise httpcore2.WriteError(str(err)) from err
        if protocol.writing_paused:
            drained = protocol.drained = asyncio.get_running_loop().create_future()
            await _within(drained, timeout, httpcore2.WriteTimeout)
            if protocol.closed:
                raise httpcore2.WriteError("the connection closed while writing")

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport = await asyncio.wait_for(
                loop.start_tls(self._transport, self._protocol, ssl_context, server_hostname=server_hostname),
                timeout,
            )
        except TimeoutError:
            self._transport.close()
            raise httpcore2.ConnectTimeout("timed out during the TLS handshake") from None
        except (OSError, ssl.SSLError, ConnectionError) as err:
            self._transport.close()
            raise httpcore2.ConnectError(str(err)) from err
        if transport is None:
            raise httpcore2.ConnectError("the connection closed during the TLS handshake")
        self._protocol.transport = transport  # (reading pauses on the TLS transport from now on)
        return Stream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # an idle connection with something to read was closed by the server
            return bool(self._protocol.chunks) or self._protocol.eof
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None


class Backend(AsyncNetworkBackend):
    """httpcore2's network backend on asyncio transports (see the module docstring)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await asyncio.wait_for(
                loop.create_connection(_Protocol, host, port,
                                       local_addr=(local_address, 0) if local_address else None),
                timeout,
            )
        except TimeoutError:
            raise httpcore2.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as err:
            raise httpcore2.ConnectError(str(err)) from err
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for option in socket_options or ():
                sock.setsockopt(*option)
        return Stream(transport, protocol)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[SocketOption] | None = None
    ) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            transport, protocol = await asyncio.wait_for(loop.create_unix_connection(_Protocol, path), timeout)
        except TimeoutError:
            raise httpcore2.ConnectTimeout(f"timed out connecting to {path}") from None
        except OSError as err:
            raise httpcore2.ConnectError(str(err)) from err
        return Stream(transport, protocol)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def install(client: Any) -> bool:
    """Put :class:`Backend` under an ``httpx2.AsyncClient``'s connection pools (its own transport and its proxy
    mounts); returns whether any pool took it. Transports that are not httpcore2 pools are left alone."""
    backend = Backend()
    installed = False
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        if isinstance(pool, httpcore2.AsyncConnectionPool) and hasattr(pool, "_network_backend"):
            pool._network_backend = backend
            installed = True
    return installed
