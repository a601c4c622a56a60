#!/usr/bin/env python3
"""Real-browser check of the Greek, Hebrew and Armenian HTML greetings.

    python3 tests/browser/check_html.py GREET_BIN SHOP_DIR [--out DIR]
        [--chromium PATH] [--env KEY=VALUE ...]

Runs `greet preview birthday --date 2026-03-14 --format json` in SHOP_DIR (a
folder with greet.toml), writes the el/he/hy HTML bodies to files in DIR
(default SHOP_DIR/browser) and loads each in headless Chromium:

  * a screenshot (DIR/<lang>.png, 800x1000) that must be a real PNG of some size;
  * a measurement: a copy of the document with a small inline script that
    reports <html dir/lang>, the computed direction of `.salutation`, the box
    of the salutation's text (a Range over its contents) and of its <td>,
    read back with --dump-dom.

Hebrew must be right-to-left with the salutation against the right content
edge of its cell; Greek and Armenian left-to-right against the left edge.

greet runs with a scrubbed environment: PATH, TZ=America/Los_Angeles,
LANG=C.UTF-8, NO_COLOR=1 and GREET_NOW=2026-12-20T09:00:00+02:00, each of
which --env KEY=VALUE may override (or add to).

Nothing may leave the page: every remote reference in the HTML is an error,
the copies Chromium loads carry a Content-Security-Policy that allows no
fetch at all, host names resolve to nothing and the proxy is a closed port on
this machine.

Python 3.11 standard library only. Exit 0 when every check passes, 1 when a
check fails, 2 when the check could not run (greet or Chromium failed).
"""

from __future__ import annotations

import argparse
import html
import html.parser
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OCCASION = "birthday"
DATE = "2026-03-14"
DEFAULT_ENV = {
    "TZ": "America/Los_Angeles",
    "LANG": "C.UTF-8",
    "NO_COLOR": "1",
    "GREET_NOW": "2026-12-20T09:00:00+02:00",
}
# language -> (recipient, expected dir)
EXPECTED = {
    "el": ("stamatis@example.gr", "ltr"),
    "he": ("sarah.cohen@example.co.il", "rtl"),
    "hy": ("narek@example.am", "ltr"),
}
WINDOW = (800, 1000)
# The salutation's text must start (end, for RTL) this close to the cell's
# content edge...
NEAR_PX = 40.0
# ...and, for RTL, its other end must be at least this far from the other edge.
FAR_PX = 100.0
MIN_PNG_BYTES = 4096
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHROMIUM_TIMEOUT_S = 90

# Allows no network fetch at all: only inline style (and, in the measuring
# copy, the inline script we add), and images and fonts from data: URLs.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
    "script-src {script}; base-uri 'none'; form-action 'none'"
)

# The end of every measuring script: once the page and its fonts are loaded,
# `measure()` runs and its result (or, when it returns a promise, what the
# promise gives) is written into <pre id="measure"> for `chromium --dump-dom`
# to carry out.
REPORT_JS = r"""
  function write(result) {
    var pre = document.createElement('pre');
    pre.id = 'measure';
    pre.textContent = JSON.stringify(result);
    document.body.appendChild(pre);
  }
  function report() {
    Promise.resolve().then(measure).then(write, function (e) {
      write({error: String(e && e.stack || e)});
    });
  }
  window.addEventListener('load', function () {
    if (document.fonts && document.fonts.ready) {
      document.fonts.ready.then(report, report);
    } else {
      report();
    }
  });
})();
</script>
"""

MEASURE_JS = r"""
<script>
(function () {
  function box(r) {
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            width: r.width, height: r.height};
  }
  function px(v) { return parseFloat(v) || 0; }
  function measure() {
    var out = {};
    try {
      var root = document.documentElement;
      out.dir = root.dir;
      out.lang = root.lang;
      var s = document.querySelector('.salutation');
      if (!s) { throw new Error('no .salutation element'); }
      var cs = getComputedStyle(s);
      out.direction = cs.direction;
      out.text_align = cs.textAlign;
      out.text = s.textContent.trim();
      var range = document.createRange();
      range.selectNodeContents(s);
      out.text_box = box(range.getBoundingClientRect());
      var td = s.closest('td');
      if (!td) { throw new Error('.salutation is not inside a <td>'); }
      var ts = getComputedStyle(td);
      var r = td.getBoundingClientRect();
      out.td_box = box(r);
      out.td_direction = ts.direction;
      out.td_padding = [px(ts.paddingLeft), px(ts.paddingRight)];
      out.content_left = r.left + px(ts.borderLeftWidth) + px(ts.paddingLeft);
      out.content_right = r.right - px(ts.borderRightWidth) - px(ts.paddingRight);
    } catch (e) {
      out.error = String(e);
    }
    return out;
  }
""" + REPORT_JS


class CheckError(Exception):
    """The check could not run (exit 2)."""


# --- the HTML ---------------------------------------------------------------

# A URL that names a host: "https://...", "ftp://...", "//host/...".
REMOTE = re.compile(r"(?i)^\s*(?:[a-z][a-z0-9+.-]*:)?//")
CSS_REMOTE = re.compile(r"(?i)(?:url\(\s*['\"]?\s*|@import\s+['\"]?)(?:[a-z][a-z0-9+.-]*:)?//")
# Where one attribute holds several URLs: srcset="a 1x, b 2x",
# <meta http-equiv="refresh" content="0; url=...">.
URL_PARTS = re.compile(r"(?i)[,;]\s*(?:url\s*=\s*)?")


class RemoteRefs(html.parser.HTMLParser):
    """Every reference in the document that names a host, other than a link
    (<a href>, fetched only when clicked) and a namespace (xmlns)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"
        for name, value in attrs:
            if value is None or (tag == "a" and name == "href") or name.startswith("xmlns"):
                continue
            if name == "style":
                remote = CSS_REMOTE.search(value)
            elif value.lstrip().lower().startswith("data:"):
                remote = False
            else:
                remote = any(REMOTE.match(part) for part in URL_PARTS.split(value))
            if remote:
                self.found.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style and CSS_REMOTE.search(data):
            self.found.append(f"<style> {data.strip()[:120]!r}")


def remote_refs(doc: str) -> list[str]:
    parser = RemoteRefs()
    parser.feed(doc)
    parser.close()
    return parser.found


def with_csp(doc: str, script: str) -> str:
    """The document with a CSP <meta> as the first thing in <head>."""
    meta = (
        '<meta http-equiv="Content-Security-Policy" content="'
        + html.escape(CSP.format(script=script))
        + '">'
    )
    m = re.search(r"(?i)<head\b[^>]*>", doc)
    if m:
        return doc[: m.end()] + meta + doc[m.end() :]
    m = re.search(r"(?i)<html\b[^>]*>", doc)
    if m:
        return doc[: m.end()] + "<head>" + meta + "</head>" + doc[m.end() :]
    return meta + doc


def with_measure(doc: str) -> str:
    doc = with_csp(doc, "'unsafe-inline'")
    i = doc.lower().rfind("</body>")
    if i < 0:
        raise CheckError("the HTML has no </body> to put the measuring script before")
    return doc[:i] + MEASURE_JS + doc[i:]


# --- greet ------------------------------------------------------------------


def greet_env(overrides: list[str]) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update(DEFAULT_ENV)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CheckError(f"--env wants KEY=VALUE, not {item!r}")
        env[key] = value
    return env


def preview(greet: Path, shop: Path, env: dict[str, str]) -> dict[str, dict]:
    args = [str(greet), "preview", OCCASION, "--date", DATE, "--format", "json"]
    try:
        run = subprocess.run(
            args, cwd=shop, env=env, capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CheckError(f"greet could not run: {e}") from e
    if run.returncode != 0:
        raise CheckError(
            f"greet exited {run.returncode}: {' '.join(args)}\n"
            f"--- stdout\n{run.stdout}--- stderr\n{run.stderr}"
        )
    by_lang: dict[str, dict] = {}
    for line in run.stdout.splitlines():
        if not line.strip():
            continue
        try:
            g = json.loads(line)
        except json.JSONDecodeError as e:
            raise CheckError(f"greet printed a line that is not JSON ({e}): {line}") from e
        for lang, (to, _) in EXPECTED.items():
            if g.get("to") == to:
                if g.get("language") != lang:
                    raise CheckError(
                        f"the greeting to {to} is in {g.get('language')!r}, not {lang!r}"
                    )
                by_lang[lang] = g
    missing = [f"{lang} ({to})" for lang, (to, _) in EXPECTED.items() if lang not in by_lang]
    if missing:
        raise CheckError(
            f"greet previewed no greeting for {', '.join(missing)}\n"
            f"--- stdout\n{run.stdout}--- stderr\n{run.stderr}"
        )
    return by_lang


# --- Chromium ---------------------------------------------------------------


def chromium(exe: str, extra: list[str], url: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="greet-chromium-", ignore_cleanup_errors=True) as home:
        args = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={home}/profile",
            # No request leaves: names resolve to nothing, and what needs no
            # name (an IP address) goes to a closed port on this machine.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--no-first-run",
            "--no-default-browser-check",
            "--mute-audio",
            "--hide-scrollbars",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            *extra,
            url,
        ]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "LANG": "C.UTF-8",
            "TZ": "UTC",
        }
        try:
            proc = subprocess.Popen(
                args,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
        except OSError as e:
            raise CheckError(f"chromium could not start ({exe}): {e}") from e
        try:
            out, err = proc.communicate(timeout=CHROMIUM_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            # Chromium and the helpers it started, which are in its own session.
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise CheckError(
                f"chromium took more than {CHROMIUM_TIMEOUT_S}s on {url}\n{tail(err)}"
            ) from None
        return subprocess.CompletedProcess(args, proc.returncode, out, err)


def tail(text: str, lines: int = 15) -> str:
    kept = [
        line
        for line in text.splitlines()
        if "dbus" not in line and "unexpected operator" not in line
    ]
    return "\n".join(kept[-lines:])


def screenshot(
    exe: str,
    url: str,
    png: Path,
    window: tuple[int, int] = WINDOW,
    min_bytes: int = MIN_PNG_BYTES,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """Problems with a `window`-sized screenshot of `url` (none: it is fine);
    `extra` Chromium flags (e.g. a virtual-time budget for what loads late)."""
    if png.exists():
        png.unlink()
    size_flag = f"--window-size={window[0]},{window[1]}"
    run = chromium(exe, [size_flag, *extra, f"--screenshot={png}"], url)
    problems = []
    if run.returncode != 0:
        problems.append(f"chromium --screenshot exited {run.returncode}\n{tail(run.stderr)}")
    if not png.is_file():
        return problems + [f"no screenshot at {png}"]
    data = png.read_bytes()
    if not data.startswith(PNG_SIGNATURE):
        problems.append(f"{png.name} is not a PNG (starts {data[:8]!r})")
    elif len(data) < 24 or data[12:16] != b"IHDR":
        problems.append(f"{png.name} has no PNG header chunk")
    else:
        size = (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"))
        if size != window:
            problems.append(f"{png.name} is {size[0]}x{size[1]}, not {window[0]}x{window[1]}")
    if len(data) < min_bytes:
        problems.append(f"{png.name} has only {len(data)} bytes (a blank page?)")
    return problems


def measure(exe: str, page: Path, flags: tuple[str, ...] = ("--virtual-time-budget=2000",)) -> dict:
    """Load `page` (which carries a measuring script) and read back its result."""
    run = chromium(exe, [*flags, "--dump-dom"], page.as_uri())
    m = re.search(r'<pre id="measure">(.*?)</pre>', run.stdout, re.S)
    if not m:
        raise CheckError(
            f"the measuring script left no result in {page} "
            f"(chromium exited {run.returncode})\n{tail(run.stderr)}"
        )
    try:
        return json.loads(html.unescape(m.group(1)))
    except json.JSONDecodeError as e:
        raise CheckError(f"the measurement is not JSON ({e}): {m.group(1)[:500]}") from e


# --- the checks -------------------------------------------------------------


def judge(lang: str, m: dict) -> list[str]:
    """What is wrong with the measured layout of the greeting in `lang`."""
    if "error" in m:
        return [f"measuring failed: {m['error']}"]
    want_dir = EXPECTED[lang][1]
    problems = []
    if m["dir"] != want_dir:
        problems.append(f'<html dir="{m["dir"]}">, want "{want_dir}"')
    if m["lang"] != lang:
        problems.append(f'<html lang="{m["lang"]}">, want "{lang}"')
    if m["direction"] != want_dir:
        problems.append(f".salutation has direction {m['direction']}, want {want_dir}")
    t = m["text_box"]
    if t["width"] <= 0 or t["height"] <= 0:
        return problems + [f".salutation text has an empty box {t}"]
    gap_left = t["left"] - m["content_left"]
    gap_right = m["content_right"] - t["right"]
    if want_dir == "rtl":
        if abs(gap_right) > NEAR_PX:
            problems.append(
                f"salutation text ends {gap_right:.1f}px from the cell's right content edge "
                f"(want within {NEAR_PX:.0f}px)"
            )
        if gap_left < FAR_PX:
            problems.append(
                f"salutation text starts {gap_left:.1f}px from the cell's left content edge "
                f"(want at least {FAR_PX:.0f}px: it should sit on the right)"
            )
    elif abs(gap_left) > NEAR_PX:
        problems.append(
            f"salutation text starts {gap_left:.1f}px from the cell's left content edge "
            f"(want within {NEAR_PX:.0f}px)"
        )
    return problems


def numbers(m: dict) -> str:
    if "error" in m:
        return f"error={m['error']!r}"
    t = m["text_box"]
    return (
        f"dir={m['dir']} lang={m['lang']} direction={m['direction']} "
        f"text-align={m['text_align']} text={m['text']!r} "
        f"text=[{t['left']:.1f}..{t['right']:.1f}] w={t['width']:.1f} "
        f"content=[{m['content_left']:.1f}..{m['content_right']:.1f}] "
        f"td=[{m['td_box']['left']:.1f}..{m['td_box']['right']:.1f}] "
        f"padding={m['td_padding'][0]:g}/{m['td_padding'][1]:g} "
        f"gap_left={t['left'] - m['content_left']:.1f} "
        f"gap_right={m['content_right'] - t['right']:.1f}"
    )


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("greet", type=Path, help="the greet binary")
    ap.add_argument("shop", type=Path, help="a folder with greet.toml")
    ap.add_argument("--out", type=Path, help="where the HTML and PNGs go (SHOP/browser)")
    ap.add_argument(
        "--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium")
    )
    ap.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="for greet"
    )
    args = ap.parse_args(argv)

    started = time.monotonic()
    greet = args.greet.resolve()
    shop = args.shop.resolve()
    out = (args.out or shop / "browser").resolve()
    try:
        if not Path(args.chromium).is_file():
            raise CheckError(f"chromium is not installed at {args.chromium}")
        out.mkdir(parents=True, exist_ok=True)
        greetings = preview(greet, shop, greet_env(args.env))
        failures = []
        for lang in EXPECTED:
            doc = greetings[lang].get("html")
            if not isinstance(doc, str) or not doc.strip():
                failures.append(f"{lang}: the greeting has no HTML body")
                print(f"{lang}: FAIL no HTML body")
                continue
            (out / f"{lang}.html").write_text(doc, encoding="utf-8")
            problems = [f"it would fetch {ref}" for ref in remote_refs(doc)]
            if problems:
                # Not loaded at all: nothing may leave the page.
                failures += [f"{lang}: {p}" for p in problems]
                print(f"{lang}: FAIL (not loaded) {'; '.join(problems)}")
                continue
            shot_page = out / f"{lang}.shot.html"
            shot_page.write_text(with_csp(doc, "'none'"), encoding="utf-8")
            measure_page = out / f"{lang}.measure.html"
            measure_page.write_text(with_measure(doc), encoding="utf-8")

            png = out / f"{lang}.png"
            problems = screenshot(args.chromium, shot_page.as_uri(), png)
            m = measure(args.chromium, measure_page)
            problems += judge(lang, m)
            size = png.stat().st_size if png.is_file() else 0
            verdict = "ok" if not problems else "FAIL"
            print(f"{lang}: {verdict} {numbers(m)} png={png.name} ({size} bytes)")
            failures += [f"{lang}: {p}" for p in problems]
    except CheckError as e:
        print(f"browser check could not run: {e}", file=sys.stderr)
        return 2
    elapsed = time.monotonic() - started
    if failures:
        print(f"browser check FAILED in {elapsed:.1f}s:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        return 1
    print(f"browser check: {', '.join(EXPECTED)} ok in {elapsed:.1f}s; screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
