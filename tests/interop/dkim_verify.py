"""Verify every DKIM signature of each message file with dkimpy, an
independent implementation, looking the public keys up in a DNS server on
127.0.0.1 (dnspython, pointed at that server's port).

usage: dkim_verify.py DNS_PORT FILE...

Prints one JSON object per file: {"file", "signatures": [{"a", "d", "s",
"t", "h", "ok", "why"}]}; a file with no signature has an empty list.
"""
import io
import json
import logging
import sys

import dkim
import dns.resolver


def main():
    port = int(sys.argv[1])
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port
    resolver.lifetime = 5

    def txt(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        try:
            answer = resolver.resolve(name, "TXT", lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        # One record, its strings joined (RFC 6376 §3.6.2.2).
        return b"".join(next(iter(answer)).strings)

    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            message = f.read()
        log = io.StringIO()
        logger = logging.getLogger(path)
        logger.handlers = [logging.StreamHandler(log)]
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        d = dkim.DKIM(message, logger=logger)
        count = sum(1 for (k, _) in d.headers if k.lower() == b"dkim-signature")
        signatures = []
        for idx in range(count):
            try:
                ok = bool(d.verify(idx=idx, dnsfunc=txt))
                why = "" if ok else log.getvalue().strip().splitlines()[-1:]
            except Exception as e:  # a malformed signature is a failure too
                ok, why = False, [repr(e)]
            fields = {k.decode(): v.decode(errors="replace") for k, v in (d.signature_fields or {}).items()}
            signatures.append(
                {
                    "a": fields.get("a"),
                    "d": fields.get("d"),
                    "s": fields.get("s"),
                    "t": fields.get("t"),
                    "h": fields.get("h", "").replace(" ", "").replace("\t", "").replace("\r\n", ""),
                    "ok": ok,
                    "why": " ".join(why) if isinstance(why, list) else why,
                }
            )
        print(json.dumps({"file": path, "signatures": signatures}), flush=True)


if __name__ == "__main__":
    main()
