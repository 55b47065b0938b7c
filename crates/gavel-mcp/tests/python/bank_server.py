"""A small MCP server (the official Python SDK's MCPServer) for the proxy's end-to-end tests.

Tools: `transfer_money` (moves money), `send_message` (sends a message), `get_balance`
(read-only). Every call it receives is appended as one JSON line to $BANK_RECORD, so a test
can tell what reached the server and with which arguments.

    python bank_server.py stdio
    python bank_server.py http PORT
"""

import json
import os
import sys

try:
    from mcp.server import MCPServer
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as MCPServer

mcp = MCPServer("bank")


def record(tool, args):
    path = os.environ.get("BANK_RECORD")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"tool": tool, "args": args}) + "\n")


@mcp.tool()
def transfer_money(amount: float, to: str, memo: str = "") -> str:
    """Move money to an account."""
    record("transfer_money", {"amount": amount, "to": to, "memo": memo})
    return f"sent {amount} to {to}"


@mcp.tool()
def send_message(to: str, body: str) -> str:
    """Send a message."""
    record("send_message", {"to": to, "body": body})
    return f"message sent to {to}"


@mcp.tool()
def get_balance(account: str) -> str:
    """Read an account's balance."""
    record("get_balance", {"account": account})
    return "balance of " + account + ": 1234"


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        mcp.run(transport="streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        mcp.run(transport="stdio")
