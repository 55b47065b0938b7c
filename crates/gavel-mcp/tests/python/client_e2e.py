"""The end-to-end client: connects THROUGH `gavel mcp-proxy` with the official MCP Python SDK
and checks what the proxy lets reach tests/python/bank_server.py (which records every call
it receives in $BANK_RECORD).

    python client_e2e.py stdio GAVEL POLICY LOG -- SERVER_CMD...
    python client_e2e.py http PROXY_URL
    python client_e2e.py approval PROXY_URL SERVE_URL REVIEWER_TOKEN
    python client_e2e.py errors PROXY_URL   (a proxy with --deny-as error --envelope FILE)

Prints `ok: NAME` per check and exits 1 at the first failure.
"""

import asyncio
import json
import os
import sys
import urllib.request

from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.shared.exceptions import MCPError

RECORD = os.environ["BANK_RECORD"]


def received():
    try:
        with open(RECORD) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def check(name, cond, detail=""):
    if not cond:
        print(f"FAILED: {name}: {detail}", flush=True)
        sys.exit(1)
    print(f"ok: {name}", flush=True)


def text(result):
    return " ".join(getattr(c, "text", "") for c in result.content)


async def basics(client):
    tools = await client.list_tools()
    names = sorted(t.name for t in tools.tools)
    check("tools/list passes through", names == ["get_balance", "send_message", "transfer_money"], names)

    before = len(received())
    r = await client.call_tool("get_balance", {"account": "acc-1"})
    check("an allowed read reaches the server", not r.is_error and "1234" in text(r), text(r))
    check("the server received it", received()[before:] == [{"tool": "get_balance", "args": {"account": "acc-1"}}], received()[before:])

    before = len(received())
    r = await client.call_tool("transfer_money", {"amount": 50, "to": "bob", "memo": "rent"})
    check("a small transfer is allowed", not r.is_error and "sent" in text(r), text(r))
    check("the server received the transfer", len(received()) == before + 1 and received()[-1]["args"]["amount"] == 50, received()[before:])

    before = len(received())
    r = await client.call_tool("transfer_money", {"amount": 50000, "to": "mallory"})
    check("a large transfer is denied with the reason", r.is_error and text(r) == "transfers above 10000 are blocked (asked 50000)", text(r))
    check("the denied transfer never reached the server", len(received()) == before, received()[before:])

    r = await client.call_tool("send_message", {"to": "eve@evil.test", "body": "hi"})
    check("an external message is denied", r.is_error and "not eve@evil.test" in text(r), text(r))
    r = await client.call_tool("send_message", {"to": "ann@example.com", "body": "hi"})
    check("an internal message is sent", not r.is_error, text(r))
    check("only the internal message reached the server", received()[-1] == {"tool": "send_message", "args": {"to": "ann@example.com", "body": "hi"}}, received()[-1])

    before = len(received())
    r = await client.call_tool("transfer_money", {"amount": 20, "to": "bob", "memo": "ssn 123-45-6789"})
    check("a transfer with an SSN in its memo is allowed", not r.is_error, text(r))
    memo = received()[-1]["args"]["memo"] if len(received()) == before + 1 else None
    check("the memo arrived redacted", memo is not None and "123-45-6789" not in memo, memo)

    before = len(received())
    r = await client.call_tool("transfer_money", {"amount": 5000, "to": "bob"})
    check("a big transfer needs approval", r.is_error and "approval required from treasurer" in text(r), text(r))
    check("the unapproved transfer never reached the server", len(received()) == before, received()[before:])


def serve(url, path, token, body=None):
    req = urllib.request.Request(url + path, method="POST" if body is not None else "GET", data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


async def approval(client, serve_url, reviewer):
    call = {"amount": 5000, "to": "bob", "memo": "invoice 7"}
    before = len(received())
    r = await client.call_tool("transfer_money", call)
    check("the big transfer waits for approval, naming its id", r.is_error and "Approval id: " in text(r), text(r))
    approval_id = text(r).split("Approval id: ")[1].split(".")[0]
    r = await client.call_tool("transfer_money", call)
    check("a retry before approval waits on the same approval", r.is_error and approval_id in text(r), text(r))
    pending = serve(serve_url, "/v1/approvals?status=pending", reviewer)
    ids = [a["id"] for a in pending.get("approvals", pending if isinstance(pending, list) else [])]
    check("gavel serve holds one pending approval", ids == [approval_id], pending)
    check("nothing reached the server yet", len(received()) == before, received()[before:])
    approved = serve(serve_url, f"/v1/approvals/{approval_id}/approve", reviewer, {"comment": "ok"})
    check("the reviewer approves it", approved.get("status") == "approved", approved)
    r = await client.call_tool("transfer_money", call)
    check("the retry after approval passes", not r.is_error and "sent 5000" in text(r), text(r))
    check("the server received it once", len(received()) == before + 1 and received()[-1]["args"]["amount"] == 5000, received()[before:])
    r = await client.call_tool("transfer_money", call)
    check("a third try waits again", r.is_error and "approval required" in text(r), text(r))
    check("the third try never reached the server", len(received()) == before + 1, received()[before:])


async def refused(client, tool, args):
    """The JSON-RPC error a refused call raises, or None when the call went through."""
    try:
        await client.call_tool(tool, args)
    except MCPError as e:
        return e
    return None


async def errors(client):
    before = len(received())
    e = await refused(client, "transfer_money", {"amount": 50000, "to": "mallory"})
    check("a denial is a JSON-RPC error -32001", e is not None and e.code == -32001, e)
    check("the error names the reason", "transfers above 10000 are blocked (asked 50000)" in e.message, e.message)
    e = await refused(client, "transfer_money", {"amount": 5000, "to": "bob"})
    check("an approval is a JSON-RPC error too", e is not None and e.code == -32001 and "approval required from treasurer" in e.message, e)
    e = await refused(client, "get_balance", {"account": "acc-1"})
    check("the envelope file's workspace reaches the policy", e is not None and "the workspace `frozen` is frozen" in e.message, e)
    check("no refused call reached the server", len(received()) == before, received()[before:])
    r = await client.call_tool("transfer_money", {"amount": 50, "to": "bob"})
    check("an allowed call still passes", not r.is_error and "sent" in text(r), text(r))


async def main():
    mode = sys.argv[1]
    if mode == "stdio":
        gavel, policy, log = sys.argv[2:5]
        server = sys.argv[sys.argv.index("--") + 1:]
        env = dict(os.environ)
        params = StdioServerParameters(command=gavel, args=["mcp-proxy", policy, "--log", log, "--agent", "e2e-agent", "--user", "u1", "--", *server], env=env)
        async with Client(params) as client:
            await basics(client)
    elif mode == "http":
        async with Client(sys.argv[2]) as client:
            await basics(client)
    elif mode == "approval":
        async with Client(sys.argv[2]) as client:
            await approval(client, sys.argv[3], sys.argv[4])
    elif mode == "errors":
        async with Client(sys.argv[2]) as client:
            await errors(client)
    print("all checks passed", flush=True)


asyncio.run(main())
