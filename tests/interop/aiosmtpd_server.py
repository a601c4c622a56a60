"""An independent SMTP server for greet's interop tests: aiosmtpd with
STARTTLS required, AUTH (only over TLS), and a fault-injecting handler.

usage: python aiosmtpd_server.py PORT CERT KEY OUT.jsonl

- refuse@example.gr   -> 550 5.1.1 at RCPT, always
- later@example.gr    -> 451 4.7.1 at RCPT the first time, then accepted
- user "greet" / password "s3cret" is the only account
Every accepted message is appended to OUT.jsonl as {"rcpt": [...], "data": "..."}.
"""
import asyncio
import json
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

PORT, CERT, KEY, OUT = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
seen_later = set()


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() == "refuse@example.gr":
            return "550 5.1.1 no such user here"
        if address.lower() == "later@example.gr" and address not in seen_later:
            seen_later.add(address)
            return "451 4.7.1 greylisted, try again"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with open(OUT, "a", encoding="utf-8") as f:
            f.write(json.dumps({
                "rcpt": envelope.rcpt_tos,
                "data": envelope.original_content.decode("utf-8", "replace"),
                "auth": session.authenticated,
            }) + "\n")
        return "250 2.0.0 queued"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"greet" and auth_data.password == b"s3cret"
    # handled=False: aiosmtpd then answers "535 5.7.8" itself.
    return AuthResult(success=ok, handled=False)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(CERT, KEY)
controller = Controller(
    Handler(),
    hostname="127.0.0.1",
    port=PORT,
    tls_context=context,
    require_starttls=True,
    authenticator=authenticator,
    auth_require_tls=True,
)
controller.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
