#!/usr/bin/env python3
"""Real-browser check that a review page of thousands of greetings opens
quickly and still shows every body.

    python3 tests/browser/check_review_scale.py GREET_BIN SHOP_DIR [--out DIR]
        [--chromium PATH] [--env KEY=VALUE ...] [--max-load-s S] [--expect N]

In SHOP_DIR (a folder with greet.toml and a long customer list) runs

    greet preview christmas --date 2026-12-20 --format html --out review.html

(which must show --expect N greetings) and, on a copy with our CSP
(check_review.py's), in headless Chromium:

  * the load: `chromium --dump-dom` of the page, which returns once the page
    has loaded (with 5,000 frames that took minutes); the page's own
    navigation timing says when the load event came, which must be within
    --max-load-s (default 30) — a regression guard, set far above what it
    takes, for a noisy shared machine; benches/review_page.sh is the
    measurement;
  * a measurement (check_review.py's way: an inline script, virtual time,
    --dump-dom): at most HANDFUL frames at load; the first, the middle and
    the last card each get their body frame when scrolled to, with text in
    it, as tall as its document; searching the e-mail of a card near the end
    leaves that card alone on the page and its body is shown; and at most
    HANDFUL frames are alive at the end.

Python 3.11 standard library only. Exit 0 when every check passes, 1 when a
check fails, 2 when the check could not run (greet or Chromium failed).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_html  # noqa: E402
import check_review  # noqa: E402
from check_html import CheckError, greet_env  # noqa: E402

HANDFUL = check_review.HANDFUL
SIZE_SLACK_PX = check_review.SIZE_SLACK_PX
# Generous: the page loads in a few seconds; the old one took 75-230 s.
MAX_LOAD_S = 30.0

MEASURE_JS = r"""
<script>
(function () {
  var FRAMES_AT_LOAD = null;
  window.addEventListener('load', function () {
    FRAMES_AT_LOAD = document.querySelectorAll('iframe').length;
  });
  function painted() {
    return new Promise(function (r) {
      requestAnimationFrame(function () { setTimeout(r, 0); });
    });
  }
  function articles() {
    return Array.prototype.slice.call(document.querySelectorAll('article.greeting'));
  }
  function email(e) {
    var all = (e ? e.textContent : '').match(/<[^<>\s]+>/g);
    return all ? all[all.length - 1].slice(1, -1) : null;
  }
  // Scrolls the card into view and waits for its body frame, loaded and
  // sized (check_review.py's way).
  async function body(a) {
    a.scrollIntoView({block: 'start'});
    for (var i = 0; i < 300; i++) {
      var f = a.querySelector('iframe.body');
      var d = f && f.contentDocument;
      if (d && d.readyState === 'complete' && d.body && f.style.height &&
          f.style.height !== '0px') {
        return {id: a.id, to: email(a.querySelector('dd.to')),
                sandbox: f.getAttribute('sandbox'),
                height: f.clientHeight, scroll_height: d.documentElement.scrollHeight,
                text: d.body.innerText.trim().slice(0, 80),
                renderings: i};
      }
      await painted();
    }
    return {id: a.id, to: email(a.querySelector('dd.to')), missing: true};
  }
  async function measured() {
    var out = {frames_at_load: FRAMES_AT_LOAD};
    var arts = articles();
    out.articles = arts.length;
    out.bodies = [];
    var picks = [0, Math.floor(arts.length / 2), arts.length - 1];
    for (var i = 0; i < picks.length; i++) {
      if (arts[picks[i]]) { out.bodies.push(await body(arts[picks[i]])); }
    }
    out.frames_alive = document.querySelectorAll('iframe').length;
    // Search for a card near the end: it alone stays, and shows its body.
    var target = arts[Math.floor(arts.length * 4 / 5)];
    if (target) {
      var q = document.getElementById('search');
      q.value = email(target.querySelector('dd.to'));
      q.dispatchEvent(new Event('input', {bubbles: true}));
      out.search = {value: q.value,
                    shown: arts.filter(function (a) { return a.offsetParent !== null; })
                               .map(function (a) { return a.id; }),
                    body: await body(target)};
      q.value = '';
      q.dispatchEvent(new Event('input', {bubbles: true}));
    }
    out.frames_alive_at_end = document.querySelectorAll('iframe').length;
    out.csp = window.__csp || ['the CSP watcher did not run'];
    // The cards go: --dump-dom then writes out a small page, not 15 MB.
    document.querySelector('main').remove();
    return out;
  }
  async function measure() {
    var beat = setInterval(function () {}, 5);  // see check_review.py
    try { return await measured(); } finally { clearInterval(beat); }
  }
""" + check_html.REPORT_JS


# When the page has loaded: the navigation's own timings (real time: this
# run has no virtual time), and how many frames there are.
LOAD_JS = r"""
<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    var n = performance.getEntriesByType('navigation')[0];
    var pre = document.createElement('pre');
    pre.id = 'load';
    pre.textContent = JSON.stringify({
      response_end_ms: n.responseEnd, dom_content_loaded_ms: n.domContentLoadedEventStart,
      load_ms: n.loadEventStart, frames: document.querySelectorAll('iframe').length});
    // The cards go: --dump-dom then writes out a small page, not 15 MB.
    document.querySelector('main').remove();
    document.body.appendChild(pre);
  }, 0);
});
</script>
"""


def with_script(doc: str, script: str) -> str:
    """The page with our CSP and `script` before </body>."""
    doc = check_review.with_csp(doc)
    i = doc.lower().rfind("</body>")
    if i < 0:
        raise CheckError("the page has no </body>")
    return doc[:i] + script + doc[i:]


def timed_load(exe: str, page: Path) -> tuple[dict, float]:
    """(the page's load timings, seconds until `chromium --dump-dom`
    returned: the load, then writing out the whole DOM)."""
    size = f"--window-size={check_review.WINDOW[0]},{check_review.WINDOW[1]}"
    started = time.monotonic()
    run = check_html.chromium(exe, [size, "--dump-dom"], page.as_uri())
    elapsed = time.monotonic() - started
    m = re.search(r'<pre id="load">(.*?)</pre>', run.stdout, re.S)
    if not m:
        raise CheckError(f"no load timings from {page} ({run.returncode})\n{run.stderr[-2000:]}")
    return json.loads(html.unescape(m.group(1))), elapsed


def judge(m: dict, due: int) -> tuple[list[str], list[str]]:
    if "error" in m:
        return [f"measuring failed: {m['error']}"], []
    problems, report = [], []
    report.append(
        f"frames: {m['frames_at_load']} at load, {m['frames_alive']} after scrolling to "
        f"the first, middle and last card, {m['frames_alive_at_end']} at the end"
    )
    if m["articles"] != due:
        problems.append(f"{m['articles']} cards for {due} greetings")
    for name in ("frames_at_load", "frames_alive", "frames_alive_at_end"):
        if m[name] is None or m[name] > HANDFUL:
            problems.append(f"{name.replace('_', ' ')}: {m[name]}, want at most {HANDFUL}")
    bodies = list(m["bodies"]) + ([m["search"]["body"]] if "search" in m else [])
    if len(m["bodies"]) != 3:
        problems.append(f"{len(m['bodies'])} cards scrolled to, want 3")
    for b in bodies:
        if b.get("missing"):
            problems.append(f"{b['id']} ({b['to']}): no body frame came when scrolled to")
            continue
        report.append(
            f"body {b['id']} ({b['to']}): {b['height']}px (document {b['scroll_height']}px) "
            f"after {b['renderings']} renderings: {b['text'][:40]!r}..."
        )
        if b["sandbox"] != "allow-same-origin":
            problems.append(f"{b['id']}: sandbox={b['sandbox']!r}")
        if abs(b["height"] - b["scroll_height"]) > SIZE_SLACK_PX:
            problems.append(f"{b['id']}: frame {b['height']}px, document {b['scroll_height']}px")
        if not b["text"]:
            problems.append(f"{b['id']}: the body frame shows no text")
    s = m.get("search")
    if s is None:
        problems.append("no card to search for")
    else:
        report.append(f"search {s['value']!r}: shows {s['shown']}")
        if len(s["shown"]) != 1 or s["shown"][0] != s["body"].get("id"):
            problems.append(f"searching {s['value']!r} shows {s['shown'][:5]}, want its card alone")
    if m["csp"]:
        problems += [f"CSP violation: {v}" for v in sorted(set(m["csp"]))]
    return problems, report


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("greet", type=Path, help="the greet binary")
    ap.add_argument("shop", type=Path, help="a folder with greet.toml")
    ap.add_argument("--out", type=Path, help="where the copies go (SHOP/review-scale)")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="for greet")
    ap.add_argument("--max-load-s", type=float, default=MAX_LOAD_S)
    ap.add_argument("--expect", type=int, metavar="N", help="greetings the page must show")
    args = ap.parse_args(argv)

    started = time.monotonic()
    shop = args.shop.resolve()
    out = (args.out or shop / "review-scale").resolve()
    try:
        if not Path(args.chromium).is_file():
            raise CheckError(f"chromium is not installed at {args.chromium}")
        out.mkdir(parents=True, exist_ok=True)
        env = greet_env(args.env)
        began = time.monotonic()
        exe = args.greet.resolve()
        check_review.greet(exe, shop, env, "--format", "html", "--out", "review.html")
        written = time.monotonic() - began
        doc = (shop / "review.html").read_text(encoding="utf-8")
        cards = doc.count('<article class="greeting"')
        print(f"page: {cards} greetings, {len(doc) / 1e6:.1f} MB, written in {written:.1f}s")
        failures = []
        if args.expect is not None and cards != args.expect:
            failures.append(f"{cards} cards on the page, want {args.expect}")

        load_page = out / "review.load.html"
        load_page.write_text(with_script(doc, LOAD_JS), encoding="utf-8")
        t, wall = timed_load(args.chromium, load_page)
        load_s = t["load_ms"] / 1000
        print(
            f"load: the load event at {load_s:.1f}s (read {t['response_end_ms'] / 1000:.1f}s, "
            f"parsed {t['dom_content_loaded_ms'] / 1000:.1f}s), {t['frames']} frames; "
            f"chromium returned after {wall:.1f}s"
        )
        if load_s >= args.max_load_s:
            failures.append(f"the page took {load_s:.1f}s to load, want under {args.max_load_s}s")
        if t["frames"] > HANDFUL:
            failures.append(f"{t['frames']} frames when the page loaded, want at most {HANDFUL}")

        measure_page = out / "review.measure.html"
        measure_page.write_text(with_script(doc, MEASURE_JS), encoding="utf-8")
        began = time.monotonic()
        m = check_review.measure(args.chromium, measure_page)
        print(f"measured in {time.monotonic() - began:.1f}s")
        problems, report = judge(m, cards)
        print("\n".join(report))
        failures += problems
    except CheckError as e:
        print(f"review scale check could not run: {e}", file=sys.stderr)
        return 2
    elapsed = time.monotonic() - started
    if failures:
        print(f"review scale check FAILED in {elapsed:.1f}s:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        return 1
    print(f"review scale: ok in {elapsed:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
