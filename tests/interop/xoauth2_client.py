"""One SMTP session against tests/interop/xoauth2_server.py, by python's
smtplib, for the servers' own tests (tests/integration/oauth_servers.rs).

usage: python xoauth2_client.py PORT CA_FILE USER TOKEN MESSAGES

STARTTLS trusting CA_FILE, `AUTH XOAUTH2` (user=USER, auth=Bearer TOKEN); on a
334 challenge it sends the empty line, as clients do. Then, if signed in, up
to MESSAGES messages (to customerN@example.test), stopping at the first one
refused. Prints one JSON object: {"mechanisms": AUTH mechanisms offered after
STARTTLS, "challenge": [code, text] or null, "challenge_json": the decoded
challenge or null, "auth": [code, text], "sent": [[code, text], ...] (the
DATA answer, or the first refusal), "closed": whether the server hung up}.
"""
import base64
import json
import smtplib
import ssl
import sys

port, ca, user, token, messages = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
out = {"challenge": None, "challenge_json": None, "sent": [], "closed": False}
smtp = smtplib.SMTP("127.0.0.1", int(port), timeout=20)
smtp.ehlo("client.test")
smtp.starttls(context=ssl.create_default_context(cafile=ca))
smtp.ehlo("client.test")
out["mechanisms"] = smtp.esmtp_features.get("auth", "").strip()
blob = base64.b64encode(f"user={user}\x01auth=Bearer {token}\x01\x01".encode()).decode()
code, text = smtp.docmd("AUTH", "XOAUTH2 " + blob)
if code == 334:
    out["challenge"] = [code, text.decode()]
    out["challenge_json"] = json.loads(base64.b64decode(text))
    code, text = smtp.docmd("")
out["auth"] = [code, text.decode()]


def refused(answer, ok=250):
    """Record `answer`; True when it is not `ok`."""
    out["sent"].append([answer[0], answer[1].decode()])
    return answer[0] != ok


try:
    if code == 235:
        for i in range(messages):
            to = f"customer{i}@example.test"
            mail = smtp.mail("shop@example.test")
            if mail[0] != 250:
                refused(mail)
                break
            rcpt = smtp.rcpt(to)
            if rcpt[0] != 250:
                refused(rcpt)
                break
            msg = f"From: shop@example.test\r\nTo: {to}\r\nSubject: test {i}\r\n\r\nhello {i}\r\n"
            if refused(smtp.data(msg)):
                break
    smtp.noop()
    smtp.quit()
except smtplib.SMTPServerDisconnected:
    out["closed"] = True
print(json.dumps(out))
