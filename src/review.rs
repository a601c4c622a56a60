//! The review page: one self-contained HTML file a person opens in a browser
//! to read every greeting before it is sent — a summary, then each greeting
//! as its recipient would see it (subject, From/To, the HTML body in a
//! sandboxed frame, the text part), then who will not be greeted and why.
//!
//! Made to be read quickly, hundreds of greetings at a sitting, and to open
//! in a moment even with thousands of them:
//! - each HTML body waits, inert, in a `<template>` (as escaped text, so no
//!   body can close the template or start a script) and gets its frame only
//!   when its card nears the screen; the frame goes again when the card is
//!   far away. A page of 5,000 frames took minutes to open; this one holds a
//!   handful at a time;
//! - each frame is as tall as its body (measured once it has loaded), so no
//!   card is mostly empty;
//! - the text part is folded away when it says what the HTML part says
//!   ([`text_says_what_html_says`]) and shown open when it does not;
//! - long unbroken words (a 2,000-character name) wrap instead of widening
//!   the page.
//!
//! No external resources: the page's Content-Security-Policy allows nothing
//! to be fetched (the body frames inherit it), and the frames are sandboxed
//! without `allow-scripts`, so no body runs a script. They do get
//! `allow-same-origin`, which lets the page read a body's height; the two
//! together would let a body script lift its own sandbox, which is why
//! `allow-scripts` must never be added. The page's own script is a few
//! inline lines: the search box and the frames.
use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::i18n;
use crate::pipeline::Status;
use crate::report::count;

/// One greeting that will be sent.
pub struct Entry {
    pub name: String,
    pub to: String,
    pub lang: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The file of this message in a batch folder, if there is one.
    pub file: Option<String>,
}

/// One customer who will not be greeted.
pub struct Skipped {
    pub name: String,
    pub to: String,
    pub status: Status,
}

pub struct Review {
    pub occasion: String,
    pub date: String,
    pub from: String,
    pub entries: Vec<Entry>,
    pub skipped: Vec<Skipped>,
    /// Problems in the customer list, as `file:line:column: message`.
    pub problems: Vec<String>,
}

/// Escape text for HTML content and attribute values. Also what keeps a body
/// inert inside its `<template>`: with every `<` escaped, a body's own
/// `</template>` or `<script>` is text, not markup.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Elements whose content a reader never sees in the body of a message.
const UNSEEN: &[&str] = &[
    "head", "title", "style", "script", "template", "noscript", "svg", "object",
];

/// Elements that sit inside a line: their tags do not separate words
/// (`<b>Ma</b>ria` is one word). Every other tag does (`<p>`, `<br>`, `<td>`).
const INLINE: &[&str] = &[
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "del", "dfn", "em", "font", "i",
    "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup",
    "time", "tt", "u", "var", "wbr",
];

/// The words a reader sees in an HTML document, in order: tags dropped (a
/// block tag separates words, an inline one does not), comments and the
/// contents of `<head>`, `<style>`, `<script>` and the like skipped,
/// character references decoded. Words are what lies between white space
/// (no-break spaces included); soft hyphens and zero-width spaces vanish.
pub fn visible_words(html: &str) -> Vec<String> {
    let mut text = String::with_capacity(html.len() / 2);
    let mut rest = html;
    while let Some(i) = rest.find(['<', '&']) {
        text.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('&') {
            let (decoded, used) = decode_reference(rest);
            text.push_str(&decoded);
            rest = &rest[used..];
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |j| &after[j + 3..]);
        } else if rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!' || c == '?') {
            let end = tag_end(rest);
            let tag = &rest[1..end.saturating_sub(1).max(1)];
            rest = &rest[end..];
            let closing = tag.starts_with('/');
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect::<String>()
                .to_ascii_lowercase();
            if !INLINE.contains(&name.as_str()) {
                text.push(' ');
            }
            if !closing && UNSEEN.contains(&name.as_str()) && !tag.ends_with('/') {
                // Skip to the matching end tag (these do not nest in mail).
                let close = format!("</{name}");
                rest = match find_ascii_ci(rest, &close) {
                    Some(j) => &rest[j + tag_end(&rest[j..])..],
                    None => "",
                };
            }
        } else {
            // A `<` that starts no tag is text.
            text.push('<');
            rest = &rest[1..];
        }
    }
    text.push_str(rest);
    text.split_whitespace()
        .map(|w| w.replace(['\u{ad}', '\u{200b}'], ""))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Where the tag at the start of `s` ends (just past its `>`), stepping over
/// quoted attribute values, which may hold a `>`.
fn tag_end(s: &str) -> usize {
    let mut quote = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i + 1,
            _ => {}
        }
    }
    s.len()
}

/// The byte offset of `needle` (ASCII) in `hay`, ignoring ASCII case.
fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    (0..h.len().saturating_sub(n.len() - 1)).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// The character reference at the start of `s` (which starts with `&`),
/// decoded, and how many bytes it took. One this does not know stays as it is.
fn decode_reference(s: &str) -> (String, usize) {
    let Some(semi) = s[1..].find(';').map(|j| j + 1).filter(|&j| j <= 32) else {
        return ("&".into(), 1);
    };
    let body = &s[1..semi];
    let numeric = body
        .strip_prefix('#')
        .and_then(|n| match n.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => n.parse().ok(),
        })
        .and_then(char::from_u32);
    let named = match body {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{a0}'),
        "shy" => Some('\u{ad}'),
        "ndash" => Some('–'),
        "mdash" => Some('—'),
        "hellip" => Some('…'),
        "laquo" => Some('«'),
        "raquo" => Some('»'),
        "lsquo" => Some('‘'),
        "rsquo" => Some('’'),
        "ldquo" => Some('“'),
        "rdquo" => Some('”'),
        "copy" => Some('©'),
        "euro" => Some('€'),
        _ => None,
    };
    match numeric.or(named) {
        Some(c) => (c.to_string(), semi + 1),
        None => ("&".into(), 1),
    }
}

/// The words of a text part, normalized as [`visible_words`] normalizes the
/// HTML's.
fn text_words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| w.replace(['\u{ad}', '\u{200b}'], ""))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether the text part says what the HTML part says, so that the review
/// page may fold it away (a reviewer reads the greeting once, not twice).
///
/// The rule: every word of the text appears in the HTML's visible words, in
/// the same order, and the HTML adds no more than a heading's and a
/// footer's worth of words of its own — at most 12, or a fifth of its
/// words when it has more than 60. Words are compared exactly (case,
/// punctuation and script count); white space, line breaks and markup do
/// not. So the usual pair — the same paragraphs, the HTML with a "Merry
/// Christmas!" heading and the shop's name in its footer — folds, while a
/// text part with a word the HTML lacks (a P.S., an unsubscribe line, a name
/// spelled otherwise), or one that leaves out a paragraph, is shown open:
/// the reviewer must read it. An empty text part is never folded.
pub fn text_says_what_html_says(text: &str, html: &str) -> bool {
    let text = text_words(text);
    let html = visible_words(html);
    if text.is_empty() || text.len() > html.len() {
        return false;
    }
    let mut want = text.iter().peekable();
    for word in &html {
        if want.peek() == Some(&word) {
            want.next();
        }
    }
    let extra = html.len() - text.len();
    want.peek().is_none() && extra <= (html.len() / 5).max(12)
}

/// An id for the list of customers skipped for this reason: `skipped-opted-out`.
fn skipped_id(status: Status) -> String {
    format!("skipped-{}", status.code().replace('_', "-"))
}

/// A description with its first letter in upper case, for a heading.
fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

const STYLE: &str = "body{margin:0;font-family:system-ui,'DejaVu Sans',sans-serif;background:#f5f1ea;color:#2b2118;overflow-wrap:anywhere;word-break:normal}\
header{position:sticky;top:0;background:#fffaf3;border-bottom:1px solid #e0cfb8;padding:12px 20px;z-index:1}\
h1{font-size:20px;margin:0 0 6px}\
.summary{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:14px;margin:6px 0}\
.summary>*{min-width:0}\
#search{width:100%;max-width:420px;box-sizing:border-box;padding:6px 8px;font-size:15px;border:1px solid #c9b59a;border-radius:6px}\
main{padding:12px 20px}\
article{background:#fff;border:1px solid #e0cfb8;border-radius:10px;margin:14px 0;padding:12px 16px;min-width:0}\
article dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 10px;margin:0 0 10px;font-size:14px}\
article dt{color:#7a6650}\
article dd{margin:0;min-width:0}\
.html-part{min-height:560px}\
.html-part.sized{min-height:0}\
iframe.body{display:block;width:100%;height:0;border:1px solid #eee;border-radius:6px;background:#fff}\
details.text-part{margin-top:10px}\
details.text-part>summary{cursor:pointer;font-size:14px;color:#7a6650}\
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-family:inherit;font-size:14px;background:#faf7f2;padding:10px;border-radius:6px;margin:6px 0 0}\
.skipped li,.problems li{font-size:14px;margin:2px 0}\
h3{font-size:15px;margin:12px 0 4px}\
.hidden{display:none}";

/// The search box, and the body frames: made when a card comes within a
/// screen or so of the window (IntersectionObserver), sized to their
/// document once loaded, removed when the card is far away again — the
/// holder keeps the measured height, so nothing moves. A browser without
/// IntersectionObserver gets every frame at once, as before.
const SCRIPT: &str = "(function(){\
var q=document.getElementById('search');\
q.addEventListener('input',function(){var v=q.value.trim().toLowerCase();\
document.querySelectorAll('[data-search]').forEach(function(e){\
e.classList.toggle('hidden',v!==''&&e.getAttribute('data-search').indexOf(v)<0);});});\
function size(f){var d;try{d=f.contentDocument;}catch(e){return;}\
if(!d||!d.documentElement)return;\
f.style.height='0px';var h=Math.ceil(d.documentElement.scrollHeight);\
f.style.height=h+'px';var p=f.parentNode;p.style.height=h+2+'px';p.classList.add('sized');}\
function show(p){if(p.querySelector('iframe'))return;\
var t=p.querySelector('template');if(!t)return;\
var f=document.createElement('iframe');f.className='body';\
f.setAttribute('sandbox','allow-same-origin');f.title='HTML part';\
f.addEventListener('load',function(){size(f);});\
f.srcdoc=t.content.textContent;p.appendChild(f);}\
function hide(p){var f=p.querySelector('iframe');if(f)p.removeChild(f);}\
var parts=document.querySelectorAll('.html-part');\
if('IntersectionObserver' in window){\
var io=new IntersectionObserver(function(es){es.forEach(function(e){\
if(e.isIntersecting)show(e.target);else hide(e.target);});},{rootMargin:'1500px 0px'});\
parts.forEach(function(p){io.observe(p);});}else{parts.forEach(show);}\
var timer;window.addEventListener('resize',function(){clearTimeout(timer);\
timer=setTimeout(function(){document.querySelectorAll('iframe.body').forEach(size);},150);});\
})();";

impl Review {
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let title = format!(
            "{} for {} on {}",
            count(self.entries.len(), "greeting", "greetings"),
            self.occasion,
            self.date
        );
        writeln!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\" dir=\"ltr\">\n<head>"
        )?;
        writeln!(out, "<meta charset=\"utf-8\">")?;
        writeln!(
            out,
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; frame-src 'self' about:\">"
        )?;
        writeln!(
            out,
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        )?;
        writeln!(out, "<title>{}</title>", escape(&title))?;
        writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>")?;
        writeln!(out, "<header>\n<h1 id=\"title\">{}</h1>", escape(&title))?;
        self.write_summary(out)?;
        writeln!(
            out,
            "<input id=\"search\" type=\"search\" placeholder=\"search by name or email\" aria-label=\"search by name or email\">\n</header>\n<main>"
        )?;
        writeln!(
            out,
            "<noscript><p>The HTML parts need JavaScript to show; each greeting's text part is below it.</p></noscript>"
        )?;
        for (i, e) in self.entries.iter().enumerate() {
            self.write_entry(i + 1, e, out)?;
        }
        self.write_skipped(out)?;
        writeln!(out, "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>")
    }

    /// Who sends, how many greetings in each language, and how many are not
    /// greeted and why — each of those a link to its list.
    fn write_summary(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut by_lang: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &self.entries {
            *by_lang.entry(e.lang.as_str()).or_default() += 1;
        }
        write!(out, "<div class=\"summary\" id=\"summary\">")?;
        write!(out, "<span>from {}</span>", escape(&self.from))?;
        for (lang, n) in &by_lang {
            write!(
                out,
                "<span data-lang=\"{}\">{}: {n}</span>",
                escape(lang),
                escape(&i18n::language_label(lang))
            )?;
        }
        for (status, list) in self.skipped_by_reason() {
            write!(
                out,
                "<a href=\"#{}\" data-count=\"{}\">not greeted, {}: {}</a>",
                skipped_id(status),
                list.len(),
                escape(status.describe()),
                list.len()
            )?;
        }
        if !self.problems.is_empty() {
            write!(
                out,
                "<a href=\"#problems\" data-count=\"{}\">{} in the list</a>",
                self.problems.len(),
                count(self.problems.len(), "problem", "problems")
            )?;
        }
        writeln!(out, "</div>")
    }

    /// One greeting, as its recipient would see it.
    fn write_entry(&self, n: usize, e: &Entry, out: &mut dyn Write) -> io::Result<()> {
        let dir = i18n::direction(&e.lang);
        let lang = escape(&e.lang);
        let search = format!("{} {}", e.name, e.to).to_lowercase();
        writeln!(
            out,
            "<article class=\"greeting\" id=\"g{n}\" lang=\"{lang}\" dir=\"{dir}\" data-search=\"{}\">",
            escape(&search)
        )?;
        writeln!(out, "<dl dir=\"ltr\">")?;
        writeln!(
            out,
            "<dt>Subject</dt><dd class=\"subject\"><bdi dir=\"{dir}\">{}</bdi></dd>",
            escape(&e.subject)
        )?;
        writeln!(out, "<dt>From</dt><dd>{}</dd>", escape(&self.from))?;
        writeln!(
            out,
            "<dt>To</dt><dd class=\"to\"><bdi>{}</bdi> &lt;{}&gt;</dd>",
            escape(&e.name),
            escape(&e.to)
        )?;
        writeln!(
            out,
            "<dt>Language</dt><dd>{}</dd>",
            escape(&i18n::language_label(&e.lang))
        )?;
        if let Some(file) = &e.file {
            writeln!(out, "<dt>File</dt><dd>{}</dd>", escape(file))?;
        }
        writeln!(out, "</dl>")?;
        let (open, label) = match &e.html {
            Some(html) => {
                // Escaped text, not markup: the template holds one text node,
                // which the script hands to the frame as its srcdoc.
                writeln!(
                    out,
                    "<div class=\"html-part\"><template>{}</template></div>",
                    escape(html)
                )?;
                if text_says_what_html_says(&e.text, html) {
                    ("", "Text part: the same words as the HTML part")
                } else {
                    (" open", "Text part: not the same as the HTML part")
                }
            }
            None => (" open", "Text part (there is no HTML part)"),
        };
        writeln!(
            out,
            "<details class=\"text-part\"{open}><summary>{label}</summary><pre class=\"text\" dir=\"{dir}\" lang=\"{lang}\">{}</pre></details>\n</article>",
            escape(&e.text)
        )
    }

    /// The customers not greeted, in one list per reason, the reasons in
    /// the order they first occur.
    fn skipped_by_reason(&self) -> Vec<(Status, Vec<&Skipped>)> {
        let mut by: Vec<(Status, Vec<&Skipped>)> = Vec::new();
        for s in &self.skipped {
            match by.iter_mut().find(|(status, _)| *status == s.status) {
                Some((_, list)) => list.push(s),
                None => by.push((s.status, vec![s])),
            }
        }
        by
    }

    /// Who is not greeted, and why; problems in the list.
    fn write_skipped(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "<section class=\"skipped\" id=\"skipped\">\n<h2>Not greeted ({})</h2>",
            self.skipped.len()
        )?;
        for (status, list) in self.skipped_by_reason() {
            writeln!(
                out,
                "<h3 id=\"{}\">{} ({})</h3>\n<ul>",
                skipped_id(status),
                escape(&capitalized(status.describe())),
                list.len()
            )?;
            for s in list {
                let search = format!("{} {}", s.name, s.to).to_lowercase();
                writeln!(
                    out,
                    "<li data-search=\"{}\"><bdi>{}</bdi> &lt;{}&gt; — {}</li>",
                    escape(&search),
                    escape(&s.name),
                    escape(&s.to),
                    escape(s.status.describe())
                )?;
            }
            writeln!(out, "</ul>")?;
        }
        writeln!(out, "</section>")?;
        if !self.problems.is_empty() {
            writeln!(
                out,
                "<section class=\"problems\" id=\"problems\">\n<h2>Problems in the list ({})</h2>\n<ul>",
                self.problems.len()
            )?;
            for p in &self.problems {
                writeln!(out, "<li>{}</li>", escape(p))?;
            }
            writeln!(out, "</ul>\n</section>")?;
        }
        Ok(())
    }
}
