#!/usr/bin/env python3
"""Real-browser check of the review page.

    python3 tests/browser/check_review.py GREET_BIN SHOP_DIR [--out DIR]
        [--chromium PATH] [--env KEY=VALUE ...] [--any-list]

In SHOP_DIR (a folder with greet.toml) runs

    greet preview christmas --date 2026-12-20 --format html --out review.html
    greet preview christmas --date 2026-12-20 --format json

and loads the page in headless Chromium, offline, the way check_html.py
does (whose Chromium runner and remote-reference scanner this reuses):

  * the page must name no remote resource (in its own markup or in any
    greeting's body, held inert in a <template>), carry a
    Content-Security-Policy of its own that allows no fetch, and have no
    <iframe> in its markup (the body frames come as cards near the window);
  * a measurement: a copy of the page (DIR/review.measure.html) with a
    stricter CSP of ours and a small inline script that reads the DOM,
    scrolls every card into view, exercises the search box and reports back
    through --dump-dom:
      1. one `article.greeting` per "due" JSON line, one `#skipped li` per
         other line, each article to the right recipient in the right lang;
      2. Hebrew articles are dir="rtl", their `pre.text` computes to
         direction: rtl and its text ends against the pre's right content
         edge (the salutation, a short first line, far from the left edge);
         the others are ltr with the text against the left edge;
      3. at most a handful of frames at load and after scrolling through the
         page; every greeting with an HTML part gets, once scrolled to, an
         iframe sandboxed with exactly allow-same-origin (never
         allow-scripts) whose srcdoc is that HTML part (dir="rtl" for
         Hebrew, "ltr" for Greek), as tall as its document (within
         SIZE_SLACK_PX) and, for the sample greetings, well under the
         1,070 px every frame once was;
      4. the text part is folded exactly when its words are the HTML's as
         the browser shows them (says_the_same), open otherwise;
      5. the page is no wider than the window;
      6. typing a customer's e-mail into #search (value + an `input` event)
         leaves exactly that customer's article visible; a skipped
         customer's e-mail leaves only their list item; clearing shows all;
      7. the title and heading say "1 greeting" / "N greetings"; the
         summary's per-language counts are the JSON's, each labelled with the
         language's name ("Greek (el): 8"); each not-greeted and problem count
         links to an id on the page whose list has that many items (and
         following it shows the list below the sticky header), and the
         not-greeted counts add up to the JSON's;
    and no Content-Security-Policy violation happened while it ran;
  * screenshots, 1000x1400, of copies with our CSP: DIR/review.png (the top
    of the page) and DIR/review-rtl.png (a style hides all but the Hebrew
    greetings), which must be real PNGs of some size.

--any-list: the shop's list is not the sample's; the checks that need its
customers (Hebrew and Greek greetings, the search for one of them, where the
text lines sit, the frames' heights at the sample's size, the RTL
screenshot) are left out.

greet runs with a scrubbed environment: PATH, TZ=America/Los_Angeles,
LANG=C.UTF-8, NO_COLOR=1 and GREET_NOW=2026-12-20T09:00:00+02:00, each of
which --env KEY=VALUE may override (or add to).

Python 3.11 standard library only. Exit 0 when every check passes, 1 when a
check fails, 2 when the check could not run (greet or Chromium failed).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_html  # noqa: E402  (the Chromium runner and the HTML scanner)
from check_html import CheckError, chromium, greet_env, tail  # noqa: E402

OCCASION = "christmas"
DATE = "2026-12-20"
PAGE = "review.html"
# The customer the search box is tried with: a Hebrew greeting that is due.
SEARCH_FOR = "sarah.cohen@example.co.il"
RTL = {"he"}
# Languages whose greetings' HTML parts must carry this dir.
SRCDOC_DIR = {"he": "rtl", "el": "ltr"}
WINDOW = (1000, 1400)
# The text must end (start, for LTR) this close to the pre's content edge...
NEAR_PX = 40.0
# ...and, for RTL, the first line (the short salutation) must start at least
# this far from the left edge.
FAR_PX = 100.0
MIN_PNG_BYTES = 10 * 1024
# A body frame is as tall as its document, within this...
SIZE_SLACK_PX = 4
# ...and a sample greeting's well under the 1,070 px every frame once had.
MAX_SAMPLE_FRAME_PX = 900
# Frames may exist at once: those of the cards near the window, no more.
HANDFUL = 8
# How the summary names the languages of the sample shop.
LANGUAGE_NAMES = {"el": "Greek", "en": "English", "he": "Hebrew", "hy": "Armenian"}

# Ours, put first in <head> of the copies Chromium loads, on top of the
# page's own: no fetch at all; inline style and script (the page's search box
# and, in the measuring copy, ours); srcdoc frames are not fetches.
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; font-src data:; frame-src about:; base-uri 'none'; form-action 'none'"
)
# Sources a directive of the page's own CSP may allow: none names a host.
LOCAL_SOURCES = {"'none'", "'self'", "'unsafe-inline'", "data:", "about:", "blob:"}

# Right after our CSP <meta>: counts violations from the start.
WATCH_JS = r"""<script>
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '(inline)'));
});
</script>"""

MEASURE_JS = r"""
<script>
(function () {
  var SEARCH_FOR = %(search)s;
  var SKIPPED_EMAIL = %(skipped)s;
  // Counted when the page has loaded, before anything scrolls.
  var FRAMES_AT_LOAD = null;
  var WAITED = [];
  window.addEventListener('load', function () {
    FRAMES_AT_LOAD = document.querySelectorAll('iframe').length;
  });
  function box(r) {
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            width: r.width, height: r.height};
  }
  function px(v) { return parseFloat(v) || 0; }
  // The next rendering of the page: when IntersectionObserver reports, and
  // frames lay out. (Not a timer: virtual time runs far ahead of rendering.)
  function painted() {
    return new Promise(function (r) {
      requestAnimationFrame(function () { setTimeout(r, 0); });
    });
  }
  // The address in "Name <address>" (and, in #skipped, "... — why").
  function email(e) {
    var all = (e ? e.textContent : '').match(/<[^<>\s]+>/g);
    return all ? all[all.length - 1].slice(1, -1) : null;
  }
  function articles() {
    return Array.prototype.slice.call(document.querySelectorAll('article.greeting'));
  }
  function visible(list) {
    return list.filter(function (e) {
      return !e.classList.contains('hidden') && e.offsetParent !== null;
    });
  }
  function search(value) {
    var q = document.getElementById('search');
    q.value = value;
    q.dispatchEvent(new Event('input', {bubbles: true}));
    var arts = articles();
    var lis = Array.prototype.slice.call(document.querySelectorAll('#skipped li'));
    var shown = visible(arts);
    return {
      value: value,
      articles: shown.length,
      articles_unhidden: arts.filter(function (e) {
        return !e.classList.contains('hidden');
      }).length,
      shown: shown.map(function (e) {
        return {id: e.id, to: email(e.querySelector('dd.to'))};
      }),
      skipped: visible(lis).length
    };
  }
  // Scrolls the article into view and waits until its body frame has
  // loaded and been sized; null when none comes within 300 renderings.
  async function rendered(a) {
    a.scrollIntoView({block: 'start'});
    for (var i = 0; i < 300; i++) {
      var f = a.querySelector('iframe.body');
      var d = f && f.contentDocument;
      if (d && d.readyState === 'complete' && d.body && f.style.height &&
          f.style.height !== '0px') {
        return f;
      }
      await painted();
    }
    // What there was instead, for the report.
    WAITED.push(a.id + ': ' + (f ? 'a frame, its document ' + (d ? d.readyState : 'missing') +
      ', height ' + f.style.height : 'no frame') + ' at scrollY ' + window.scrollY +
      ', the card at top ' + a.getBoundingClientRect().top);
    return null;
  }
  function frame(f) {
    var d = f.contentDocument;
    var root = d && d.documentElement;
    return {
      sandboxed: f.hasAttribute('sandbox'),
      sandbox: f.getAttribute('sandbox'),
      srcdoc: f.getAttribute('srcdoc'),
      html_dir: root ? root.getAttribute('dir') : null,
      html_lang: root ? root.getAttribute('lang') : null,
      height: f.getBoundingClientRect().height,
      client_height: f.clientHeight,
      scroll_height: root ? root.scrollHeight : null,
      content_height: root ? root.getBoundingClientRect().height : null,
      text: d && d.body ? d.body.innerText : null
    };
  }
  function pre(a) {
    var pre = a.querySelector('pre.text');
    if (!pre) { return null; }
    var ps = getComputedStyle(pre);
    var pb = pre.getBoundingClientRect();
    var r = {
      dir: pre.getAttribute('dir'),
      direction: ps.direction,
      text_align: ps.textAlign,
      content_left: pb.left + px(ps.borderLeftWidth) + px(ps.paddingLeft),
      content_right: pb.right - px(ps.borderRightWidth) - px(ps.paddingRight)
    };
    var range = document.createRange();
    range.selectNodeContents(pre);
    r.text_box = box(range.getBoundingClientRect());
    // The first line: the salutation, short, on the start side.
    var node = pre.firstChild;
    if (node && node.nodeType === Node.TEXT_NODE) {
      var end = node.data.indexOf('\n');
      var first = document.createRange();
      first.setStart(node, 0);
      first.setEnd(node, end < 0 ? node.data.length : end);
      r.first_line = node.data.slice(0, end < 0 ? node.data.length : end);
      r.first_box = box(first.getBoundingClientRect());
    }
    return r;
  }
  // Elements wider than the window, for the report when the page is.
  function too_wide(limit) {
    var found = [];
    document.querySelectorAll('body *').forEach(function (e) {
      var r = e.getBoundingClientRect();
      if (found.length < 5 && r.right > limit + 1) {
        found.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                   (e.className ? '.' + e.className : '') + ' right=' + r.right);
      }
    });
    return found;
  }
  async function measure() {
    // Virtual time jumps to the end of its budget (and the page is dumped)
    // whenever nothing is scheduled, as while waiting for a rendering: this
    // keeps a timer scheduled until the measurement is done.
    var beat = setInterval(function () {}, 5);
    try {
      return await measured();
    } finally {
      clearInterval(beat);
    }
  }
  async function measured() {
    var out = {};
    out.frames_at_load = FRAMES_AT_LOAD;
    out.title = (document.getElementById('title') || {}).textContent || null;
    out.doc_title = document.title;
    out.summary = {};
    document.querySelectorAll('#summary span[data-lang]').forEach(function (s) {
      out.summary[s.getAttribute('data-lang')] = s.textContent;
    });
    // Each count in the summary that links somewhere, and what is there.
    out.links = [];
    document.querySelectorAll('#summary a').forEach(function (l) {
      var href = l.getAttribute('href') || '';
      var target = href[0] === '#' ? document.getElementById(href.slice(1)) : null;
      var list = null;
      if (target) {
        list = target.tagName === 'UL' ? target
          : target.tagName === 'H3' ? target.nextElementSibling
          : target.querySelector('ul');
      }
      out.links.push({href: href, text: l.textContent, target: !!target,
                      target_tag: target ? target.tagName.toLowerCase() : null,
                      items: list ? list.querySelectorAll('li').length : null,
                      node: target});
    });
    // Following each link brings its list into view, below the sticky
    // header. (The spacer gives room to scroll each list to the top, as a
    // list in the middle of a long page would be.)
    var header = document.querySelector('header');
    var spacer = document.createElement('div');
    spacer.style.height = (2 * innerHeight) + 'px';
    document.body.appendChild(spacer);
    for (var k = 0; k < out.links.length; k++) {
      var link = out.links[k];
      if (link.node) {
        document.querySelectorAll('#summary a')[k].click();
        await painted();
        var top = link.node.getBoundingClientRect().top;
        link.shown = top >= header.getBoundingClientRect().bottom - 1 && top < innerHeight;
        link.top = top;
      }
      delete link.node;
    }
    spacer.remove();
    window.scrollTo(0, 0);
    out.skipped = [];
    document.querySelectorAll('#skipped li').forEach(function (li) {
      out.skipped.push(email(li));
    });
    var arts = articles();
    // The fold of each text part, as the page opens.
    var folded = arts.map(function (a) {
      var d = a.querySelector('details.text-part');
      return d ? !d.open : null;
    });
    // Each body, rendered by scrolling to it.
    var frames = [];
    for (var i = 0; i < arts.length; i++) {
      var f = arts[i].querySelector('template') ? await rendered(arts[i]) : null;
      frames.push(f ? frame(f) : null);
    }
    out.frames_alive_at_end = document.querySelectorAll('iframe').length;
    out.waited = WAITED;
    // Unfold every text part to measure where its lines sit.
    document.querySelectorAll('details.text-part').forEach(function (d) { d.open = true; });
    window.scrollTo(0, 0);
    out.articles = arts.map(function (a, i) {
      return {id: a.id, lang: a.lang, dir: a.getAttribute('dir'),
              article_direction: getComputedStyle(a).direction,
              to: email(a.querySelector('dd.to')),
              has_template: !!a.querySelector('template'),
              folded: folded[i], iframe: frames[i], pre: pre(a)};
    });
    var root = document.documentElement;
    out.width = {scroll: root.scrollWidth, client: root.clientWidth,
                 window: window.innerWidth, too_wide: too_wide(root.clientWidth)};
    out.search = [];
    if (SEARCH_FOR) { out.search.push(search(SEARCH_FOR)); }
    if (SKIPPED_EMAIL) { out.search.push(search(SKIPPED_EMAIL)); }
    out.search.push(search(''));
    out.csp = window.__csp || ['the CSP watcher did not run'];
    return out;
  }
""" + check_html.REPORT_JS.replace("%", "%%")


# --- the page ---------------------------------------------------------------


class PageRefs(check_html.RemoteRefs):
    """check_html's scanner, which also keeps each body to scan in turn (the
    text of a <template>, or a srcdoc), the page's own
    Content-Security-Policy and how many <iframe> its markup has."""

    def __init__(self) -> None:
        super().__init__()
        self.srcdocs: list[str] = []
        self.csp: list[str] = []
        self.iframes = 0
        self._template: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "meta":
            a = dict(attrs)
            if (a.get("http-equiv") or "").lower() == "content-security-policy":
                self.csp.append(a.get("content") or "")
        if tag == "template":
            self._template = []
        self.iframes += tag == "iframe"
        self.srcdocs += [v for n, v in attrs if n == "srcdoc" and v]
        super().handle_starttag(tag, [(n, v) for n, v in attrs if n != "srcdoc"])

    def handle_endtag(self, tag):
        if tag == "template" and self._template is not None:
            self.srcdocs.append("".join(self._template))
            self._template = None
        super().handle_endtag(tag)

    def handle_data(self, data):
        if self._template is not None:
            self._template.append(data)
            return
        # As check_html's, but quoting the remote reference, not the start of
        # a long style sheet.
        m = check_html.CSS_REMOTE.search(data) if self._in_style else None
        if m:
            self.found.append(f"<style> ...{data[max(0, m.start() - 40) : m.end() + 60]!r}...")


def remote_refs(doc: str, where: str = "the page") -> tuple[list[str], list[str], int, int]:
    """(every remote reference in `doc` and its bodies, its CSPs, how many
    bodies it holds, how many <iframe> its markup has)."""
    parser = PageRefs()
    parser.feed(doc)
    parser.close()
    found = [f"{where}: {ref}" for ref in parser.found]
    for i, inner in enumerate(parser.srcdocs, 1):
        found += remote_refs(inner, f"{where}, body #{i}")[0]
    return found, parser.csp, len(parser.srcdocs), parser.iframes


def csp_problems(policies: list[str]) -> list[str]:
    """What lets the page's own CSP fetch anything (none: it allows no fetch)."""
    if not policies:
        return ["the page has no Content-Security-Policy <meta>"]
    problems = []
    for policy in policies:
        directives = {}
        for part in policy.split(";"):
            words = part.split()
            if words:
                directives[words[0].lower()] = words[1:]
        if directives.get("default-src") != ["'none'"]:
            problems.append(f"its CSP does not start from default-src 'none': {policy!r}")
        for name, sources in directives.items():
            loose = [s for s in sources if s.lower() not in LOCAL_SOURCES]
            if loose:
                problems.append(f"its CSP lets {name} fetch from {' '.join(loose)}")
    return problems


def with_measure(doc: str, search: str | None, skipped: str | None) -> str:
    doc = with_csp(doc)
    i = doc.lower().rfind("</body>")
    if i < 0:
        raise CheckError("the page has no </body> to put the measuring script before")
    js = MEASURE_JS % {"search": json.dumps(search), "skipped": json.dumps(skipped)}
    return doc[:i] + js + doc[i:]


def with_csp(doc: str, extra: str = "") -> str:
    """The page with our CSP (and the violation watcher, and `extra`) first
    in <head>."""
    meta = f'<meta http-equiv="Content-Security-Policy" content="{html.escape(CSP)}">'
    m = re.search(r"(?i)<head\b[^>]*>", doc)
    if not m:
        raise CheckError("the page has no <head>")
    return doc[: m.end()] + meta + WATCH_JS + extra + doc[m.end() :]


# --- greet ------------------------------------------------------------------


def greet(exe: Path, shop: Path, env: dict[str, str], *args: str) -> str:
    argv = [str(exe), "preview", OCCASION, "--date", DATE, *args]
    try:
        run = subprocess.run(argv, cwd=shop, env=env, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CheckError(f"greet could not run: {e}") from e
    if run.returncode != 0:
        raise CheckError(
            f"greet exited {run.returncode}: {' '.join(argv)}\n"
            f"--- stdout\n{run.stdout}--- stderr\n{run.stderr}"
        )
    return run.stdout


def preview_json(exe: Path, shop: Path, env: dict[str, str]) -> list[dict]:
    out = greet(exe, shop, env, "--format", "json")
    lines = []
    for line in out.splitlines():
        if line.strip():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise CheckError(f"greet printed a line that is not JSON ({e}): {line}") from e
    return lines


# --- Chromium ---------------------------------------------------------------


def screenshot(exe: str, url: str, png: Path) -> list[str]:
    """Problems with the screenshot of `url` (none: it is fine)."""
    # The budget lets the frames of the cards in view come and load.
    budget = ("--virtual-time-budget=5000",)
    return check_html.screenshot(exe, url, png, WINDOW, MIN_PNG_BYTES + 1, budget)


def measure(exe: str, page: Path) -> dict:
    size = f"--window-size={WINDOW[0]},{WINDOW[1]}"
    # Virtual time: the measuring script waits for each card's frame to come
    # as it scrolls, which takes no real time.
    return check_html.measure(exe, page, (size, "--virtual-time-budget=600000"))


# --- the checks -------------------------------------------------------------


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def label(lang: str) -> str:
    """How the summary names a language: "Greek (el)", an unknown code as is."""
    return f"{LANGUAGE_NAMES[lang]} ({lang})" if lang in LANGUAGE_NAMES else lang


def hrefs(markup: str) -> set[str]:
    """The addresses an HTML part links to, as Python's HTML parser reads them."""
    from html.parser import HTMLParser

    found: set[str] = set()

    class Links(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.update(v for k, v in attrs if k == "href" and v)

    Links().feed(markup)
    return found


def says_the_same(text: str, seen: str, links: set[str] = frozenset()) -> bool:
    """The page's rule for folding a text part, applied to what the browser
    shows of the HTML part (its body's innerText): the text's words are one
    unbroken run of the HTML's, which adds at most max(12, a fifth of its
    words) before and after it. A word of the text that the HTML carries as
    a link (the unsubscribe address under its words) is said by both."""
    t, h = [w for w in text.split() if w not in links], seen.split()
    if not t or len(t) > len(h) or len(h) - len(t) > max(12, len(h) // 5):
        return False
    return any(h[i : i + len(t)] == t for i in range(len(h) - len(t) + 1))


def judge(lines: list[dict], m: dict, sample: bool) -> tuple[list[str], list[str]]:
    """(what is wrong with the page as measured, the numbers to print).
    `sample`: the list is the sample shop's, so its Hebrew and Greek
    customers, the search for SEARCH_FOR and the frames' heights at the
    sample greetings' size are checked too."""
    if "error" in m:
        return [f"measuring failed: {m['error']}"], []
    problems: list[str] = []
    report: list[str] = []
    due = [g for g in lines if g.get("status") == "due"]
    skipped = [g for g in lines if g.get("status") != "due"]
    by_to = {g.get("to"): g for g in due}
    arts = m["articles"]

    # 1. one article per due greeting, one list item per skipped customer.
    reasons = sorted(Counter(str(g.get("status")) for g in skipped).items())
    report.append(
        f"greetings: {len(arts)} articles for {len(due)} due; "
        f"{len(m['skipped'])} skipped items for {len(skipped)} not due "
        f"({', '.join(f'{why}: {n}' for why, n in reasons) or 'none'})"
    )
    if len(arts) != len(due):
        problems.append(f"{len(arts)} article.greeting, but {len(due)} greetings are due")
    if len(m["skipped"]) != len(skipped):
        problems.append(f"{len(m['skipped'])} #skipped li, but {len(skipped)} lines are not due")
    if sorted(filter(None, m["skipped"])) != sorted(str(g.get("to")) for g in skipped):
        problems.append(
            f"#skipped lists {sorted(map(str, m['skipped']))}, "
            f"the JSON {sorted(str(g.get('to')) for g in skipped)}"
        )
    seen = Counter(a["to"] for a in arts)
    for to, n in seen.items():
        if to not in by_to:
            problems.append(f"an article to {to!r}, who is not due")
        elif n > 1:
            problems.append(f"{n} articles to {to}")
    for to in by_to:
        if to not in seen:
            problems.append(f"no article to {to}, who is due")

    # 2. direction, 3. the HTML part, rendered on scrolling and sized to its
    # content, 4. the text part folded when it says what the HTML says.
    rtl_ok = ltr_ok = frames = 0
    srcdoc_ok: Counter = Counter()
    heights: list[float] = []
    folds = Counter()
    for a in arts:
        g = by_to.get(a["to"])
        if g is None:
            continue
        lang = g.get("language")
        name = f"{a['id']} ({lang}, {a['to']})"
        want = "rtl" if lang in RTL else "ltr"
        wrong = []
        if a["lang"] != lang:
            wrong.append(f'lang="{a["lang"]}", want "{lang}"')
        if a["dir"] != want or a["article_direction"] != want:
            wrong.append(f'dir="{a["dir"]}" (computed {a["article_direction"]}), want {want}')
        pre = a.get("pre")
        if not pre:
            wrong.append("no pre.text")
        elif sample:
            wrong += judge_pre(pre, want)
            if lang in RTL or lang == "el":
                report.append(f"  {name}: {pre_numbers(pre)}")
        elif pre["direction"] != want:
            wrong.append(f"pre.text has direction {pre['direction']}, want {want}")
        if not wrong:
            rtl_ok += want == "rtl"
            ltr_ok += want == "ltr"
        problems += [f"{name}: {p}" for p in wrong]
        frame = a.get("iframe")
        if not g.get("html"):
            if a["has_template"] or frame:
                problems.append(f"{name}: an HTML body on the page, but the greeting has none")
            if a["folded"]:
                problems.append(f"{name}: the text part, the only part, is folded away")
            continue
        if not frame:
            problems.append(
                f"{name}: the greeting has an HTML part but no iframe.body came "
                "when its card was scrolled into view"
            )
            continue
        frames += 1
        tokens = set((frame["sandbox"] or "").lower().split())
        if not frame["sandboxed"] or tokens != {"allow-same-origin"}:
            problems.append(
                f"{name}: iframe sandbox={frame['sandbox']!r}, want exactly "
                "'allow-same-origin' (never with allow-scripts)"
            )
        if frame["srcdoc"] != g["html"].replace("\r\n", "\n"):
            problems.append(f"{name}: the iframe's srcdoc is not the greeting's HTML part")
        if lang in SRCDOC_DIR:
            want_dir = SRCDOC_DIR[lang]
            if f'dir="{want_dir}"' not in (frame["srcdoc"] or ""):
                problems.append(f'{name}: the iframe\'s srcdoc has no dir="{want_dir}"')
            if frame["html_dir"] != want_dir or frame["html_lang"] != lang:
                problems.append(
                    f"{name}: the iframe's document is <html dir={frame['html_dir']!r} "
                    f"lang={frame['html_lang']!r}>, want dir={want_dir!r} lang={lang!r}"
                )
            else:
                srcdoc_ok[lang] += 1
        h, sh, ch = frame["client_height"], frame["scroll_height"], frame["content_height"]
        heights.append(h)
        if sh is None or ch is None or abs(h - sh) > SIZE_SLACK_PX or abs(h - ch) > SIZE_SLACK_PX:
            problems.append(
                f"{name}: the body frame is {h}px tall, its document {sh}px "
                f"(scrollHeight) and its content {ch}px: want the same, within {SIZE_SLACK_PX}px"
            )
        if sample and h > MAX_SAMPLE_FRAME_PX:
            problems.append(
                f"{name}: the body frame is {h}px tall, want under {MAX_SAMPLE_FRAME_PX}px "
                "for a sample greeting"
            )
        if not (frame["text"] or "").strip():
            problems.append(f"{name}: the body frame shows no text")
        same = says_the_same(g.get("text") or "", frame["text"] or "", hrefs(g["html"]))
        folds["folded" if a["folded"] else "open"] += 1
        if a["folded"] is None:
            problems.append(f"{name}: no details.text-part")
        elif a["folded"] != same:
            problems.append(
                f"{name}: the text part is {'folded' if a['folded'] else 'open'}, but its "
                f"words are {'the same as' if same else 'not those of'} the HTML part's"
            )
    langs = Counter(g.get("language") for g in due)
    if sample:
        for lang in sorted(RTL | set(SRCDOC_DIR)):
            if not langs[lang]:
                problems.append(f"no {lang} greeting is due: the check would prove nothing")
    report.append(
        "srcdoc <html dir>: "
        + ", ".join(f"{x}: {srcdoc_ok[x]} {d}" for x, d in sorted(SRCDOC_DIR.items()))
    )
    report.append(
        f"direction: {rtl_ok} rtl ok ({', '.join(f'{x}: {langs[x]}' for x in sorted(RTL))} due), "
        f"{ltr_ok} ltr ok; {frames} sandboxed HTML frames"
    )
    report.append(
        f"frames: {m['frames_at_load']} at load, {m['frames_alive_at_end']} alive after "
        f"scrolling through all; heights {min(heights, default=0):.0f}"
        f"..{max(heights, default=0):.0f}px, each its document's"
    )
    if m["frames_at_load"] is None or m["frames_at_load"] > HANDFUL:
        problems.append(f"{m['frames_at_load']} frames at load, want at most {HANDFUL}")
    if m["frames_alive_at_end"] > HANDFUL:
        problems.append(
            f"{m['frames_alive_at_end']} frames alive at the end of the page, want at most "
            f"{HANDFUL}: the frames of cards far away are not removed"
        )
    report.append(f"text parts: {folds['folded']} folded, {folds['open']} open")
    problems += [f"waited in vain for the body of {w}" for w in m["waited"]]

    # 5. long words wrap: the page is as wide as the window.
    w = m["width"]
    report.append(f"width: page {w['scroll']}px, window {w['client']}px")
    if w["scroll"] > w["client"] or w["client"] != w["window"]:
        problems.append(
            f"the page is {w['scroll']}px wide in a {w['client']}px window "
            f"(innerWidth {w['window']}): {w['too_wide']}"
        )

    # 6. the search box.
    for s in m["search"]:
        shown = [f"{x['id']} {x['to']}" for x in s["shown"]] if s["articles"] < 4 else "..."
        report.append(
            f"search {s['value']!r}: {s['articles']} articles visible "
            f"({s['articles_unhidden']} without .hidden) {shown} "
            f"and {s['skipped']} skipped items"
        )
        if s["articles"] != s["articles_unhidden"]:
            problems.append(
                f"search {s['value']!r}: {s['articles']} articles laid out but "
                f"{s['articles_unhidden']} without class hidden"
            )
    if sample:
        first, *rest = m["search"]
        if first["articles"] != 1 or [x["to"] for x in first["shown"]] != [SEARCH_FOR]:
            problems.append(
                f"searching {SEARCH_FOR!r} shows {first['articles']} articles "
                f"{[x['to'] for x in first['shown']]}, want exactly the one to {SEARCH_FOR}"
            )
        if len(rest) == 2 and (rest[0]["articles"] != 0 or rest[0]["skipped"] != 1):
            problems.append(
                f"searching {rest[0]['value']!r} shows {rest[0]['articles']} articles and "
                f"{rest[0]['skipped']} skipped items, want 0 and 1"
            )
    last = m["search"][-1]
    if last["articles"] != len(arts) or last["skipped"] != len(m["skipped"]):
        problems.append(
            f"clearing the search shows {last['articles']}/{len(arts)} articles and "
            f"{last['skipped']}/{len(m['skipped'])} skipped items"
        )

    # 7. the summary: language names, counts that add up and link to their lists.
    summary = {}
    for lang, text in m["summary"].items():
        found = re.fullmatch(r"\s*(.+?):\s*(\d+)\s*", text)
        if not found or found.group(1) != label(lang):
            problems.append(f"summary: {text!r} for {lang} is not '{label(lang)}: N'")
        else:
            summary[lang] = int(found.group(2))
    report.append(
        "summary: "
        + ", ".join(f"{m['summary'][k]}" for k in sorted(summary))
        + " (json: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(langs.items()))
        + ")"
    )
    if summary != dict(langs):
        problems.append(
            f"summary counts {dict(sorted(summary.items()))}, JSON {dict(sorted(langs.items()))}"
        )
    not_greeted = 0
    for link in m["links"]:
        report.append(
            f"link {link['text']!r} -> {link['href']} "
            f"({link['target_tag'] or 'nothing'} with {link['items']} items)"
        )
        found = re.search(r"(\d+)", link["text"])
        if not link["href"].startswith("#") or not link["target"]:
            problems.append(f"summary link {link['text']!r} goes to {link['href']!r}: no such id")
        elif not found or int(found.group(1)) != link["items"]:
            problems.append(
                f"summary link {link['text']!r} goes to a list of {link['items']} items"
            )
        elif not link["shown"]:
            problems.append(
                f"following {link['text']!r} leaves {link['href']} at {link['top']:.0f}px, "
                "not in view below the header"
            )
        if link["text"].startswith("not greeted") and found:
            not_greeted += int(found.group(1))
    report.append(f"not greeted: {not_greeted} in the summary's links")
    if not_greeted != len(skipped):
        problems.append(
            f"the summary's links count {not_greeted} not greeted, the JSON {len(skipped)}"
        )
    want_title = f"{plural(len(due), 'greeting', 'greetings')} for {OCCASION} on {DATE}"
    report.append(f"title: {m['title']!r}")
    if m["title"] != want_title or m["doc_title"] != want_title:
        problems.append(
            f"title {m['doc_title']!r}, heading {m['title']!r}: want {want_title!r}"
        )

    if m["csp"]:
        # Each of the two policies (the page's, ours) reports it.
        problems += [f"CSP violation: {v}" for v in sorted(set(m["csp"]))]
    report.append(f"csp violations: {len(m['csp'])}")
    return problems, report


def judge_pre(pre: dict, want: str) -> list[str]:
    problems = []
    if pre["direction"] != want:
        problems.append(f"pre.text has direction {pre['direction']}, want {want}")
    t, f = pre["text_box"], pre.get("first_box")
    if t["width"] <= 0 or not f or f["width"] <= 0:
        return problems + [f"pre.text has an empty text box {t} / first line {f}"]
    if want == "rtl":
        gap = pre["content_right"] - t["right"]
        first_gap = pre["content_right"] - f["right"]
        first_left = f["left"] - pre["content_left"]
        if abs(gap) > NEAR_PX or abs(first_gap) > NEAR_PX:
            problems.append(
                f"pre.text text ends {gap:.1f}px (first line {first_gap:.1f}px) from the pre's "
                f"right content edge (want within {NEAR_PX:.0f}px)"
            )
        if first_left < FAR_PX:
            problems.append(
                f"pre.text's first line starts {first_left:.1f}px from the pre's left content "
                f"edge (want at least {FAR_PX:.0f}px: it should sit on the right)"
            )
    else:
        gap = t["left"] - pre["content_left"]
        first_gap = f["left"] - pre["content_left"]
        if abs(gap) > NEAR_PX or abs(first_gap) > NEAR_PX:
            problems.append(
                f"pre.text text starts {gap:.1f}px (first line {first_gap:.1f}px) from the "
                f"pre's left content edge (want within {NEAR_PX:.0f}px)"
            )
    return problems


def pre_numbers(pre: dict) -> str:
    t, f = pre["text_box"], pre.get("first_box") or {"left": 0, "right": 0}
    return (
        f"pre dir={pre['dir']} direction={pre['direction']} text-align={pre['text_align']} "
        f"content=[{pre['content_left']:.1f}..{pre['content_right']:.1f}] "
        f"text=[{t['left']:.1f}..{t['right']:.1f}] "
        f"first line {pre.get('first_line', '')!r}=[{f['left']:.1f}..{f['right']:.1f}] "
        f"gap_left={t['left'] - pre['content_left']:.1f} "
        f"gap_right={pre['content_right'] - t['right']:.1f}"
    )


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("greet", type=Path, help="the greet binary")
    ap.add_argument("shop", type=Path, help="a folder with greet.toml")
    ap.add_argument("--out", type=Path, help="where the copies and PNGs go (SHOP/review)")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="for greet")
    ap.add_argument(
        "--any-list",
        action="store_true",
        help="the shop's list is not the sample's: skip the checks that need its customers",
    )
    args = ap.parse_args(argv)
    sample = not args.any_list

    started = time.monotonic()
    exe = args.greet.resolve()
    shop = args.shop.resolve()
    out = (args.out or shop / "review").resolve()
    failures: list[str] = []
    try:
        if not Path(args.chromium).is_file():
            raise CheckError(f"chromium is not installed at {args.chromium}")
        out.mkdir(parents=True, exist_ok=True)
        env = greet_env(args.env)
        page_file = shop / PAGE
        if page_file.exists():
            page_file.unlink()
        greet(exe, shop, env, "--format", "html", "--out", PAGE)
        if not page_file.is_file():
            raise CheckError(f"greet wrote no {page_file}")
        doc = page_file.read_text(encoding="utf-8")
        lines = preview_json(exe, shop, env)
        due = [g for g in lines if g.get("status") == "due"]
        if sample and not any(g.get("to") == SEARCH_FOR for g in due):
            raise CheckError(f"no greeting to {SEARCH_FOR} is due: nothing to search for")

        refs, policies, bodies, iframes = remote_refs(doc)
        print(
            f"offline: {len(refs)} remote references in the page and its {bodies} bodies; "
            f"{iframes} iframes in its markup; the page's CSP: {' | '.join(policies) or 'none'}"
        )
        failures += [f"it would fetch {ref}" for ref in refs]
        failures += csp_problems(policies)
        if iframes:
            failures.append(f"{iframes} <iframe> in the markup: bodies must get frames lazily")
        with_html = sum(1 for g in due if g.get("html"))
        if bodies != with_html:
            failures.append(f"{bodies} bodies on the page, {with_html} greetings with HTML")
        if refs:
            # Not loaded at all: nothing may leave the page.
            return report_failures(failures, started)

        shot_page = out / "review.shot.html"
        shot_page.write_text(with_csp(doc), encoding="utf-8")
        measure_page = out / "review.measure.html"
        # A skipped customer to search for, who has no greeting on the page.
        due_to = {g.get("to") for g in lines if g.get("status") == "due"}
        skipped = next(
            (g["to"] for g in lines if g.get("status") != "due" and g.get("to") not in due_to),
            None,
        )
        search = SEARCH_FOR if sample else None
        measure_page.write_text(with_measure(doc, search, skipped), encoding="utf-8")

        m = measure(args.chromium, measure_page)
        problems, report = judge(lines, m, sample)
        failures += problems
        print("\n".join(report))

        # The top of the page, and the page with only its right-to-left
        # greetings (a headless screenshot does not scroll to a #fragment).
        rtl_page = out / "review.rtl.shot.html"
        only_rtl = ",".join(f'[lang="{lang}"]' for lang in sorted(RTL))
        rtl_page.write_text(
            with_csp(doc, f"<style>article.greeting:not({only_rtl}){{display:none}}</style>"),
            encoding="utf-8",
        )
        shots = [("review.png", shot_page)] + [("review-rtl.png", rtl_page)] * sample
        for name, page in shots:
            png = out / name
            problems = screenshot(args.chromium, page.as_uri(), png)
            size = png.stat().st_size if png.is_file() else 0
            print(f"screenshot: {name} {WINDOW[0]}x{WINDOW[1]} {size} bytes")
            failures += problems
    except CheckError as e:
        print(f"review check could not run: {e}", file=sys.stderr)
        return 2
    return report_failures(failures, started, out)


def report_failures(failures: list[str], started: float, out: Path | None = None) -> int:
    elapsed = time.monotonic() - started
    if failures:
        print(f"review check FAILED in {elapsed:.1f}s:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        return 1
    print(f"review: ok in {elapsed:.1f}s; copies and screenshots in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
