"""The server satisfies the protocols its parts depend on (the import rules of server/ are import-linter contracts,
checked by test_architecture.py)."""
from __future__ import annotations

import asyncio

from clientsim.server.app import EmbeddedServer
from clientsim.server.context import ServerContext
from clientsim.server.handlers import HandlerContext
from clientsim.server.pages import PageContext


def test_server_satisfies_the_protocols_of_its_parts():
    async def main() -> tuple[bool, bool, bool]:
        server = EmbeddedServer()
        await server.start()
        try:
            return (isinstance(server, ServerContext), isinstance(server, PageContext),
                    isinstance(server, HandlerContext))
        finally:
            await server.stop()
    assert asyncio.run(main()) == (True, True, True)
    assert not isinstance(object(), ServerContext)
