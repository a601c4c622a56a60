"""HTTP for greet's OAuth test support (tests/integration/oauth_servers.rs),
which has no HTTP client of its own: the standard library only, to 127.0.0.1.

usage:
  python client.py post URL [--basic USER:PASS] [NAME=VALUE ...]
      POST the form; prints {"status": N, "body": "..."} (any status).
  python client.py browse AUTHORIZE_URL
      The owner's browser: follows the redirects from AUTHORIZE_URL through the
      test server's auto-approving pages, carrying cookies, until a redirect to
      http://127.0.0.1:<another port>/ or /callback?..., GETs that URL (the app's
      loopback listener) and prints its body. Exit 1, with what it saw on
      stderr, when the chain ends anywhere else.
"""
import base64
import http.cookiejar
import json
import sys
import urllib.error
import urllib.parse
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def post(url, args):
    headers = {}
    form = []
    it = iter(args)
    for a in it:
        if a == "--basic":
            headers["Authorization"] = "Basic " + base64.b64encode(next(it).encode()).decode()
        else:
            name, _, value = a.partition("=")
            form.append((name, value))
    req = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    print(json.dumps({"status": status, "body": body.decode("utf-8", "replace")}))


def browse(url):
    start = urllib.parse.urlsplit(url)
    opener = urllib.request.build_opener(
        NoRedirect, urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    for _ in range(20):
        try:
            with opener.open(url, timeout=10) as r:
                sys.exit(f"browse: {url} answered {r.status} with no redirect:\n{r.read().decode('utf-8', 'replace')}")
        except urllib.error.HTTPError as e:
            if e.code not in (301, 302, 303, 307, 308):
                sys.exit(f"browse: {url} answered {e.code}:\n{e.read().decode('utf-8', 'replace')}")
            url = urllib.parse.urljoin(url, e.headers["Location"])
        to = urllib.parse.urlsplit(url)
        if to.hostname == "127.0.0.1" and to.port != start.port and to.path in ("/", "/callback"):
            try:
                with urllib.request.urlopen(url, timeout=30) as r:
                    body = r.read()
            except urllib.error.HTTPError as e:
                body = e.read()
            sys.stdout.write(body.decode("utf-8", "replace"))
            return
        if to.hostname != "127.0.0.1":
            sys.exit(f"browse: refusing to leave 127.0.0.1: {url}")
    sys.exit(f"browse: too many redirects, last {url}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "post":
        post(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 3 and sys.argv[1] == "browse":
        browse(sys.argv[2])
    else:
        sys.exit(__doc__)
