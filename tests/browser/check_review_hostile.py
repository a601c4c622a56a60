#!/usr/bin/env python3
"""Hostile customer text on the review page, read by a real HTML parser and
a real browser.

    python3 tests/browser/check_review_hostile.py GREET_BIN SHOP_DIR [--out DIR]
        [--chromium PATH] [--env KEY=VALUE ...]

In SHOP_DIR (a folder with greet.toml, whose customer list carries hostile
text: markup, scripts, event handlers, Tera syntax...) runs

    greet preview christmas --date 2026-12-20 --format html --out review.html
    greet preview christmas --date 2026-12-20 --format json

and checks the page twice:

  * parsed with Python's html.parser (an HTML tokenizer, not a regex): its
    elements are only those the page is made of (PAGE_ELEMENTS), one
    <script>, no event-handler attribute, no javascript: or remote URL, no
    comment, CDATA section or processing instruction; and each greeting's
    subject, text part and HTML part (the text of its <template>) are the
    JSON's, character for character;
  * loaded in headless Chromium, offline, with a script of ours that scrolls
    every card into view (so that every body gets its frame) and then reads
    the DOM: no script ran but the page's and ours (every hostile script in
    the list sets the document's title, which must stay the page's), no
    element or attribute the page does not make, and each subject, name,
    text part and frame's srcdoc shown as the JSON has it.

Python 3.11 standard library only. Exit 0 when every check passes, 1 when a
check fails, 2 when the check could not run (greet or Chromium failed).
"""

from __future__ import annotations

import argparse
import html.parser
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_review  # noqa: E402  (greet, the CSP'd copies, the measurement)
from check_html import CheckError, greet_env  # noqa: E402

PAGE = "review.html"
# What the review page is made of; nothing else may appear in it.
PAGE_ELEMENTS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "div", "span", "a",
    "input", "main", "noscript", "p", "article", "dl", "dt", "dd", "bdi", "template",
    "details", "summary", "pre", "section", "h2", "h3", "ul", "li", "script",
}
# What every hostile script in the list does, were it to run.
PWNED = "PWNED"

MEASURE_JS = r"""
<script>
(function () {
  function painted() {
    return new Promise(function (r) {
      requestAnimationFrame(function () { setTimeout(r, 0); });
    });
  }
  async function measure() {
    var beat = setInterval(function () {}, 5);
    try {
      var out = {frames: [], waited: []};
      var arts = document.querySelectorAll('article.greeting');
      for (var i = 0; i < arts.length; i++) {
        var a = arts[i];
        a.scrollIntoView({block: 'start'});
        var f = null;
        for (var k = 0; k < 300 && !f; k++) {
          var g = a.querySelector('iframe.body');
          var d = g && g.contentDocument;
          if (d && d.readyState === 'complete' && d.body) { f = g; } else { await painted(); }
        }
        if (!f && a.querySelector('template')) { out.waited.push(a.id); }
        out.frames.push(f ? {srcdoc: f.getAttribute('srcdoc'), sandbox: f.getAttribute('sandbox'),
                             title: f.contentDocument.title} : null);
      }
      out.title = document.title;
      out.heading = document.getElementById('title').textContent;
      // Every element, attribute and script there is now.
      out.elements = {};
      out.handlers = [];
      document.querySelectorAll('*').forEach(function (e) {
        var name = e.tagName.toLowerCase();
        out.elements[name] = (out.elements[name] || 0) + 1;
        for (var j = 0; j < e.attributes.length; j++) {
          var at = e.attributes[j];
          if (/^on/i.test(at.name) || /^\s*javascript:/i.test(at.value)) {
            out.handlers.push(name + ' ' + at.name + '=' + at.value.slice(0, 80));
          }
        }
      });
      out.scripts = document.scripts.length;
      function texts(sel) {
        return Array.prototype.map.call(document.querySelectorAll(sel), function (e) {
          return e.textContent;
        });
      }
      out.subjects = texts('article.greeting dd.subject bdi');
      out.names = texts('article.greeting dd.to bdi');
      out.text_parts = texts('article.greeting pre.text');
      out.templates = Array.prototype.map.call(
        document.querySelectorAll('article.greeting template'),
        function (t) { return t.content.textContent; });
      out.csp = window.__csp || ['the CSP watcher did not run'];
      return out;
    } finally {
      clearInterval(beat);
    }
  }
""" + check_review.check_html.REPORT_JS


class Page(html.parser.HTMLParser):
    """The elements, scripts and problems of the page as a tokenizer reads
    it, and the text of each greeting's subject, text part and template."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.elements: dict[str, int] = {}
        self.subjects: list[str] = []
        self.text_parts: list[str] = []
        self.templates: list[str] = []
        self._into: list[str] | None = None
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements[tag] = self.elements.get(tag, 0) + 1
        if tag not in PAGE_ELEMENTS:
            self.problems.append(f"a <{tag}> element, which the page does not make")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}={value!r}>: an event handler")
            if (value or "").strip().lower().startswith(("javascript:", "http:", "https:", "//")):
                self.problems.append(f"<{tag} {name}={value!r}>: a script or remote URL")
        a = dict(attrs)
        target = None
        if tag == "bdi" and self._stack[-1:] == ["dd.subject"]:
            target = self.subjects
        elif tag == "pre" and a.get("class") == "text":
            target = self.text_parts
        elif tag == "template":
            target = self.templates
        if target is not None:
            target.append("")
            self._into = target
        self._stack.append(f"{tag}.{a['class']}" if a.get("class") else tag)

    def handle_endtag(self, tag):
        if tag in ("bdi", "pre", "template"):
            self._into = None
        while self._stack:
            if self._stack.pop().split(".")[0] == tag:
                break

    def handle_data(self, data):
        if self._into is not None:
            self._into[-1] += data

    def handle_comment(self, data):
        self.problems.append(f"a comment <!--{data[:60]}-->")

    def unknown_decl(self, data):
        self.problems.append(f"a declaration <![{data[:60]}]>")

    def handle_pi(self, data):
        self.problems.append(f"a processing instruction <?{data[:60]}>")


def compare(what: str, got: list[str], want: list[str]) -> list[str]:
    if len(got) != len(want):
        return [f"{len(got)} {what} on the page, {len(want)} in the JSON"]
    return [
        f"{what} #{i}: {g[:120]!r} on the page, {w[:120]!r} in the JSON"
        for i, (g, w) in enumerate(zip(got, want), 1)
        if g != w
    ]


def judge_parsed(doc: str, due: list[dict]) -> tuple[list[str], list[str]]:
    page = Page()
    page.feed(doc)
    page.close()
    problems = list(page.problems)
    if page.elements.get("script") != 1:
        problems.append(f"{page.elements.get('script', 0)} <script> elements, want the page's one")
    problems += compare("subjects", page.subjects, [g["subject"] for g in due])
    problems += compare("text parts", page.text_parts, [g["text"] for g in due])
    problems += compare("templates", page.templates, [g["html"] for g in due if g.get("html")])
    report = [
        f"parsed: {sum(page.elements.values())} elements of {len(page.elements)} kinds, "
        f"{page.elements.get('script', 0)} script, {len(page.templates)} templates, "
        f"{len(page.problems)} foreign"
    ]
    return problems, report


def judge_loaded(m: dict, due: list[dict], want_title: str) -> tuple[list[str], list[str]]:
    if "error" in m:
        return [f"the measuring script failed: {m['error']}"], []
    problems = []
    if m["title"] != want_title or m["heading"] != want_title:
        problems.append(f"title {m['title']!r}, heading {m['heading']!r}: want {want_title!r}")
    foreign = sorted(set(m["elements"]) - PAGE_ELEMENTS - {"iframe"})
    if foreign:
        problems.append(f"elements the page does not make: {foreign}")
    # The page's script, the CSP watcher and the measuring script.
    if m["scripts"] != 3:
        problems.append(f"{m['scripts']} scripts in the document, want 3 (the page's and ours)")
    problems += [f"an event handler or script URL: {h}" for h in m["handlers"]]
    problems += [f"waited in vain for the body of {w}" for w in m["waited"]]
    problems += compare("subjects", m["subjects"], [g["subject"] for g in due])
    problems += compare("text parts", m["text_parts"], [g["text"] for g in due])
    htmls = [g.get("html") for g in due]
    problems += compare("templates", m["templates"], [h for h in htmls if h])
    srcdocs = [f["srcdoc"] if f else None for f in m["frames"]]
    problems += compare("frames' srcdoc", [s or "" for s in srcdocs], [h or "" for h in htmls])
    for i, f in enumerate(m["frames"], 1):
        if f and (f["sandbox"] != "allow-same-origin" or f["title"] == PWNED):
            problems.append(f"frame #{i}: sandbox {f['sandbox']!r}, title {f['title']!r}")
    for i, (name, g) in enumerate(zip(m["names"], due), 1):
        if not name.startswith(g["name"] + " "):
            problems.append(f"name #{i}: {name[:120]!r} does not start with {g['name'][:120]!r}")
    if m["csp"]:
        problems += [f"CSP violation: {v}" for v in sorted(set(m["csp"]))]
    report = [
        f"loaded: title {m['title']!r}; {m['scripts']} scripts (the page's and ours); "
        f"{len(m['handlers'])} event handlers; "
        f"{sum(1 for f in m['frames'] if f)} frames shown, each its body's srcdoc; "
        f"csp violations: {len(m['csp'])}"
    ]
    return problems, report


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("greet", type=Path, help="the greet binary")
    ap.add_argument("shop", type=Path, help="a folder with greet.toml")
    ap.add_argument("--out", type=Path, help="where the copy goes (SHOP/review)")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    ap.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="for greet")
    args = ap.parse_args(argv)

    started = time.monotonic()
    exe = args.greet.resolve()
    shop = args.shop.resolve()
    out = (args.out or shop / "review").resolve()
    try:
        if not Path(args.chromium).is_file():
            raise CheckError(f"chromium is not installed at {args.chromium}")
        out.mkdir(parents=True, exist_ok=True)
        env = greet_env(args.env)
        check_review.greet(exe, shop, env, "--format", "html", "--out", PAGE)
        doc = (shop / PAGE).read_text(encoding="utf-8")
        lines = check_review.preview_json(exe, shop, env)
        due = [g for g in lines if g.get("status") == "due"]
        if not due:
            raise CheckError("no greeting is due: nothing hostile reaches the page")

        failures, report = judge_parsed(doc, due)
        copy = out / "review.hostile.html"
        i = doc.lower().rfind("</body>")
        copy.write_text(
            check_review.with_csp(doc[:i] + MEASURE_JS + doc[i:]), encoding="utf-8"
        )
        want_title = (
            f"{check_review.plural(len(due), 'greeting', 'greetings')} "
            f"for {check_review.OCCASION} on {check_review.DATE}"
        )
        try:
            m = check_review.measure(args.chromium, copy)
        except CheckError as e:
            # Chromium ran, but the page broke the measuring script: hostile
            # markup got in (the parsed check above says which).
            m = {"error": str(e)}
        problems, loaded = judge_loaded(m, due, want_title)
        failures += problems
        report += loaded
        print(f"greetings: {len(due)} due, {len(lines) - len(due)} not")
        print("\n".join(report))
    except CheckError as e:
        print(f"hostile review check could not run: {e}", file=sys.stderr)
        return 2
    elapsed = time.monotonic() - started
    if failures:
        print(f"hostile review check FAILED in {elapsed:.1f}s:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        return 1
    print(f"review hostile: ok in {elapsed:.1f}s; the copy in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
