#!/usr/bin/env python3
"""Real-browser check of the review page.

    python3 tests/browser/check_review.py GREET_BIN SHOP_DIR [--out DIR]
        [--chromium PATH] [--env KEY=VALUE ...]

In SHOP_DIR (a folder with greet.toml) runs

    greet preview christmas --date 2026-12-20 --format html --out review.html
    greet preview christmas --date 2026-12-20 --format json

and loads the page in headless Chromium, offline, the way check_html.py
does (whose Chromium runner and remote-reference scanner this reuses):

  * the page must name no remote resource (in its own markup or in any
    greeting's srcdoc) and carry a Content-Security-Policy of its own that
    allows no fetch;
  * a measurement: a copy of the page (DIR/review.measure.html) with a
    stricter CSP of ours and a small inline script that reads the DOM,
    exercises the search box and reports back through --dump-dom:
      1. one `article.greeting` per "due" JSON line, one `#skipped li` per
         other line, each article to the right recipient in the right lang;
      2. Hebrew articles are dir="rtl", their `pre.text` computes to
         direction: rtl and its text ends against the pre's right content
         edge (the salutation, a short first line, far from the left edge);
         the others are ltr with the text against the left edge;
      3. every greeting with an HTML part has a sandboxed iframe (no
         allow-scripts / allow-same-origin) whose srcdoc is that HTML part,
         with dir="rtl" for Hebrew and dir="ltr" for Greek;
      4. typing a customer's e-mail into #search (value + an `input` event)
         leaves exactly that customer's article visible; a skipped
         customer's e-mail leaves only their list item; clearing shows all;
      5. the summary's per-language counts are the JSON's;
    and no Content-Security-Policy violation happened while it ran;
  * screenshots, 1000x1400, of copies with our CSP: DIR/review.png (the top
    of the page) and DIR/review-rtl.png (a style hides all but the Hebrew
    greetings), which must be real PNGs of some size.

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
  function box(r) {
    return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            width: r.width, height: r.height};
  }
  function px(v) { return parseFloat(v) || 0; }
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
  function measure() {
    var out = {};
    try {
      out.title = (document.getElementById('title') || {}).textContent || null;
      out.summary = {};
      document.querySelectorAll('#summary span[data-lang]').forEach(function (s) {
        out.summary[s.getAttribute('data-lang')] = s.textContent;
      });
      out.not_greeted = [];
      document.querySelectorAll('#summary span:not([data-lang])').forEach(function (s) {
        if (/^not greeted/.test(s.textContent)) { out.not_greeted.push(s.textContent); }
      });
      out.skipped = [];
      document.querySelectorAll('#skipped li').forEach(function (li) {
        out.skipped.push(email(li));
      });
      out.articles = articles().map(function (a) {
        var r = {id: a.id, lang: a.lang, dir: a.getAttribute('dir'),
                 article_direction: getComputedStyle(a).direction,
                 to: email(a.querySelector('dd.to'))};
        var f = a.querySelector('iframe.body');
        if (f) {
          var inner = new DOMParser().parseFromString(
            f.getAttribute('srcdoc') || '', 'text/html').documentElement;
          r.iframe = {sandboxed: f.hasAttribute('sandbox'),
                      sandbox: f.getAttribute('sandbox'),
                      srcdoc: f.getAttribute('srcdoc'),
                      html_dir: inner.getAttribute('dir'),
                      html_lang: inner.getAttribute('lang')};
        }
        var pre = a.querySelector('pre.text');
        if (!pre) { return r; }
        var ps = getComputedStyle(pre);
        var pb = pre.getBoundingClientRect();
        r.pre = {
          dir: pre.getAttribute('dir'),
          direction: ps.direction,
          text_align: ps.textAlign,
          content_left: pb.left + px(ps.borderLeftWidth) + px(ps.paddingLeft),
          content_right: pb.right - px(ps.borderRightWidth) - px(ps.paddingRight)
        };
        var range = document.createRange();
        range.selectNodeContents(pre);
        r.pre.text_box = box(range.getBoundingClientRect());
        // The first line: the salutation, short, on the start side.
        var node = pre.firstChild;
        if (node && node.nodeType === Node.TEXT_NODE) {
          var end = node.data.indexOf('\n');
          var first = document.createRange();
          first.setStart(node, 0);
          first.setEnd(node, end < 0 ? node.data.length : end);
          r.pre.first_line = node.data.slice(0, end < 0 ? node.data.length : end);
          r.pre.first_box = box(first.getBoundingClientRect());
        }
        return r;
      });
      out.search = [search(SEARCH_FOR)];
      if (SKIPPED_EMAIL) { out.search.push(search(SKIPPED_EMAIL)); }
      out.search.push(search(''));
    } catch (e) {
      out.error = String(e && e.stack || e);
    }
    out.csp = window.__csp || ['the CSP watcher did not run'];
    return out;
  }
""" + check_html.REPORT_JS.replace("%", "%%")


# --- the page ---------------------------------------------------------------


class PageRefs(check_html.RemoteRefs):
    """check_html's scanner, which also keeps each srcdoc to scan in turn, and
    the page's own Content-Security-Policy."""

    def __init__(self) -> None:
        super().__init__()
        self.srcdocs: list[str] = []
        self.csp: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "meta":
            a = dict(attrs)
            if (a.get("http-equiv") or "").lower() == "content-security-policy":
                self.csp.append(a.get("content") or "")
        self.srcdocs += [v for n, v in attrs if n == "srcdoc" and v]
        super().handle_starttag(tag, [(n, v) for n, v in attrs if n != "srcdoc"])

    def handle_data(self, data):
        # As check_html's, but quoting the remote reference, not the start of
        # a long style sheet.
        m = check_html.CSS_REMOTE.search(data) if self._in_style else None
        if m:
            self.found.append(f"<style> ...{data[max(0, m.start() - 40) : m.end() + 60]!r}...")


def remote_refs(doc: str, where: str = "the page") -> tuple[list[str], list[str]]:
    """(every remote reference in `doc` and its srcdoc frames, its CSPs)."""
    parser = PageRefs()
    parser.feed(doc)
    parser.close()
    found = [f"{where}: {ref}" for ref in parser.found]
    for i, inner in enumerate(parser.srcdocs, 1):
        found += remote_refs(inner, f"{where}, srcdoc #{i}")[0]
    return found, parser.csp


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


def with_measure(doc: str, search: str, skipped: str | None) -> str:
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
    return check_html.screenshot(exe, url, png, WINDOW, MIN_PNG_BYTES + 1)


def measure(exe: str, page: Path) -> dict:
    size = f"--window-size={WINDOW[0]},{WINDOW[1]}"
    return check_html.measure(exe, page, (size, "--virtual-time-budget=3000"))


# --- the checks -------------------------------------------------------------


def judge(lines: list[dict], m: dict) -> tuple[list[str], list[str]]:
    """(what is wrong with the page as measured, the numbers to print)."""
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

    # 2. direction, 3. the HTML part.
    rtl_ok = ltr_ok = frames = 0
    srcdoc_ok: Counter = Counter()
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
        else:
            wrong += judge_pre(pre, want)
            if lang in RTL or lang == "el":
                report.append(f"  {name}: {pre_numbers(pre)}")
        if not wrong:
            rtl_ok += want == "rtl"
            ltr_ok += want == "ltr"
        problems += [f"{name}: {p}" for p in wrong]
        frame = a.get("iframe")
        if g.get("html"):
            if not frame:
                problems.append(f"{name}: the greeting has an HTML part but no iframe.body")
                continue
            frames += 1
            tokens = (frame["sandbox"] or "").lower().split()
            if not frame["sandboxed"] or {"allow-scripts", "allow-same-origin"} & set(tokens):
                problems.append(f"{name}: iframe sandbox={frame['sandbox']!r}, want bare sandbox")
            if frame["srcdoc"] != g["html"].replace("\r\n", "\n"):
                problems.append(f"{name}: the iframe's srcdoc is not the greeting's HTML part")
            if lang in SRCDOC_DIR:
                want_dir = SRCDOC_DIR[lang]
                if f'dir="{want_dir}"' not in (frame["srcdoc"] or ""):
                    problems.append(f'{name}: the iframe\'s srcdoc has no dir="{want_dir}"')
                if frame["html_dir"] != want_dir or frame["html_lang"] != lang:
                    problems.append(
                        f"{name}: the iframe's srcdoc is <html dir={frame['html_dir']!r} "
                        f"lang={frame['html_lang']!r}>, want dir={want_dir!r} lang={lang!r}"
                    )
                else:
                    srcdoc_ok[lang] += 1
        elif frame:
            problems.append(f"{name}: an iframe, but the greeting has no HTML part")
    langs = Counter(g.get("language") for g in due)
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

    # 4. the search box.
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
    last = rest[-1]
    if last["articles"] != len(arts) or last["skipped"] != len(m["skipped"]):
        problems.append(
            f"clearing the search shows {last['articles']}/{len(arts)} articles and "
            f"{last['skipped']}/{len(m['skipped'])} skipped items"
        )

    # 5. the summary.
    summary = {}
    for lang, text in m["summary"].items():
        found = re.fullmatch(r"\s*(\S+):\s*(\d+)\s*", text)
        if not found or found.group(1) != lang:
            problems.append(f"summary: {text!r} for {lang} is not '{lang}: N'")
        else:
            summary[lang] = int(found.group(2))
    report.append(
        "summary: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(summary.items()))
        + " (json: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(langs.items()))
        + f"); {'; '.join(m['not_greeted']) or 'no not-greeted counts'}"
    )
    if summary != dict(langs):
        problems.append(
            f"summary counts {dict(sorted(summary.items()))}, JSON {dict(sorted(langs.items()))}"
        )
    not_greeted = 0
    for text in m["not_greeted"]:
        found = re.search(r":\s*(\d+)\s*$", text)
        if found:
            not_greeted += int(found.group(1))
        else:
            problems.append(f"summary: {text!r} does not end in ': N'")
    if not_greeted != len(skipped):
        problems.append(f"the summary counts {not_greeted} not greeted, the JSON {len(skipped)}")
    if not (m["title"] or "").startswith(f"{len(due)} greetings"):
        problems.append(f"title {m['title']!r} does not start with '{len(due)} greetings'")

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
    args = ap.parse_args(argv)

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
        if not any(g.get("status") == "due" and g.get("to") == SEARCH_FOR for g in lines):
            raise CheckError(f"no greeting to {SEARCH_FOR} is due: nothing to search for")

        refs, policies = remote_refs(doc)
        print(
            f"offline: {len(refs)} remote references; the page's CSP: "
            f"{' | '.join(policies) or 'none'}"
        )
        failures += [f"it would fetch {ref}" for ref in refs]
        failures += csp_problems(policies)
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
        measure_page.write_text(with_measure(doc, SEARCH_FOR, skipped), encoding="utf-8")

        m = measure(args.chromium, measure_page)
        problems, report = judge(lines, m)
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
        for name, page in [("review.png", shot_page), ("review-rtl.png", rtl_page)]:
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
