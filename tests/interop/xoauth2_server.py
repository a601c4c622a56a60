"""An SMTP server that signs clients in with OAuth 2.0 bearer tokens, for
greet's `auth = "oauth2"` tests: aiosmtpd 1.4.6 with STARTTLS required and
`AUTH XOAUTH2` as the only mechanism (no PLAIN, no LOGIN; only over TLS).

usage: python xoauth2_server.py PORT CERT KEY DIR INTROSPECTION_URL

A token is good when RFC 7662 introspection at INTROSPECTION_URL (as the
confidential client smtp-server:smtp-secret) says it is active, its `sub` is
the XOAUTH2 user name and its scope holds SMTP.Send. A bad one is answered as
Gmail does: `334 <base64 JSON error>`, the client's (empty) line is read, then
`535 5.7.8 ...`. Binds 127.0.0.1 only; prints "ready" once listening.

Files in DIR:
- received.jsonl  every accepted message: {"rcpt": [...], "data": "...", "auth": "<user>"}
- auth.jsonl      every AUTH attempt: {"user": ..., "ok": bool, "token_sha256": ...}
                  (a hash: the token itself is never written)
- reject_auth     a control file the test writes, holding a number K: the next K
                  AUTH attempts are refused as an invalid token even when it is
                  good (each refusal decrements it)

Knob (environment): MAX_PER_CONNECTION=N -- after N accepted messages on one
connection the next MAIL gets "421 4.7.0 too many messages on this connection"
and the connection is closed (as real providers do).
"""
import asyncio
import base64
import hashlib
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
import urllib.request

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, MISSING

PORT, CERT, KEY, DIR, INTROSPECT = (
    int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
RECEIVED = os.path.join(DIR, "received.jsonl")
AUTH_LOG = os.path.join(DIR, "auth.jsonl")
REJECT = os.path.join(DIR, "reject_auth")
MAX_PER_CONNECTION = int(os.environ.get("MAX_PER_CONNECTION") or 0)
lock = threading.Lock()


def append(path, record):
    with lock, open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def take_forced_rejection():
    """True (and one fewer left) when reject_auth holds a number above 0."""
    with lock:
        try:
            with open(REJECT, encoding="utf-8") as f:
                left = int(f.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            return False
        if left <= 0:
            return False
        tmp = REJECT + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"{left - 1}\n")
        os.replace(tmp, REJECT)
        return True


def introspect(token):
    req = urllib.request.Request(
        INTROSPECT,
        data=urllib.parse.urlencode({"token": token}).encode(),
        headers={"Authorization": "Basic " + base64.b64encode(b"smtp-server:smtp-secret").decode()},
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.load(r)


class Handler:
    async def auth_XOAUTH2(self, server, args):
        # args == ["XOAUTH2"] or ["XOAUTH2", "<base64 initial response>"]
        if len(args) == 2:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except ValueError:
                return AuthResult(success=False, handled=False,
                                  message="501 5.5.2 Can't decode base64")
        else:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False, handled=True)  # 501 already sent
        parts = blob.split(b"\x01")
        # user=U ^A auth=Bearer T ^A ^A
        user = token = None
        for p in parts:
            if p.startswith(b"user="):
                user = p[5:].decode("utf-8", "replace")
            elif p.startswith(b"auth=Bearer "):
                token = p[12:].decode("utf-8", "replace")
        if user is None or token is None or parts[-2:] != [b"", b""]:
            return AuthResult(success=False, handled=False,
                              message="501 5.5.2 Malformed XOAUTH2 initial response")
        ok = False
        if not take_forced_rejection():
            loop = asyncio.get_running_loop()
            try:
                info = await loop.run_in_executor(None, introspect, token)
            except OSError as e:
                print(f"introspection failed: {e}", file=sys.stderr, flush=True)
                info = {}
            ok = (info.get("active") is True and info.get("sub") == user
                  and "SMTP.Send" in (info.get("scope") or "").split())
        append(AUTH_LOG, {"user": user, "ok": ok,
                          "token_sha256": hashlib.sha256(token.encode()).hexdigest()})
        if ok:
            return AuthResult(success=True, auth_data=user)
        # Like Gmail: 334 + base64 JSON error; the client answers (an empty
        # line), then 535. handled=False, or aiosmtpd answers nothing and the
        # client waits for its timeout.
        err = {"status": "401", "schemes": "Bearer", "scope": "SMTP.Send"}
        if await server.challenge_auth(json.dumps(err)) is MISSING:
            return AuthResult(success=False, handled=True)  # "*": 501 already sent
        return AuthResult(success=False, handled=False,
                          message="535 5.7.8 Username and Password not accepted (invalid token)")

    async def handle_DATA(self, server, session, envelope):
        append(RECEIVED, {
            "rcpt": envelope.rcpt_tos,
            "data": envelope.original_content.decode("utf-8", "replace"),
            "auth": session.auth_data,
        })
        session.accepted_here = getattr(session, "accepted_here", 0) + 1
        return "250 2.0.0 queued"


class LimitedSMTP(SMTP):
    async def smtp_MAIL(self, arg):
        accepted = getattr(self.session, "accepted_here", 0)
        if MAX_PER_CONNECTION and self.session.authenticated and accepted >= MAX_PER_CONNECTION:
            # As aiosmtpd itself does for its own 421s: answer, then close.
            await self.push("421 4.7.0 too many messages on this connection")
            self.transport.close()
            return
        await super().smtp_MAIL(arg)


class LimitedController(Controller):
    def factory(self):
        return LimitedSMTP(self.handler, **self.SMTP_kwargs)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(CERT, KEY)
controller = LimitedController(
    Handler(),
    hostname="127.0.0.1",
    port=PORT,
    tls_context=context,
    require_starttls=True,
    auth_require_tls=True,
    auth_required=True,
    auth_exclude_mechanism=["LOGIN", "PLAIN"],
)
controller.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
