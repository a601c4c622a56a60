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
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "del", "dfn", "em", "font", "i", "ins",
    "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "time",
    "tt", "u", "var", "wbr",
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
        } else if rest[1..]
            .starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!' || c == '?')
        {
            let (tag, after) = match tag_close(rest) {
                Some(gt) => (&rest[1..gt], &rest[gt + 1..]),
                None => (&rest[1..], ""),
            };
            rest = after;
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
                rest = find_end_tag(rest, &name)
                    .and_then(|j| tag_close(&rest[j..]).map(|gt| &rest[j + gt + 1..]))
                    .unwrap_or("");
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

/// Where the `>` that closes the tag at the start of `s` is, stepping over
/// quoted attribute values, which may hold a `>`; `None` for a tag left open.
fn tag_close(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// The byte offset of the end tag `</name` in `hay`, ignoring ASCII case
/// (`</head` but not `</header`).
fn find_end_tag(hay: &str, name: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), name.as_bytes());
    (0..h.len()).find(|&i| {
        h[i..].starts_with(b"</")
            && h.len() >= i + 2 + n.len()
            && h[i + 2..i + 2 + n.len()].eq_ignore_ascii_case(n)
            && !h
                .get(i + 2 + n.len())
                .is_some_and(u8::is_ascii_alphanumeric)
    })
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
/// The rule: the text's words appear in the HTML's visible words as one
/// unbroken run, in the same order, and the HTML adds words only before it
/// (a heading) and after it (a footer) — at most 12, or a fifth of its words
/// when it has more than 60. Words are compared exactly (case, punctuation
/// and script count); white space, line breaks and markup do not. So the
/// usual pair — the same paragraphs, the HTML with a "Merry Christmas!"
/// heading above and the shop's name below — folds, while a text part with a
/// word the HTML lacks (a P.S., an unsubscribe line, a name spelled
/// otherwise), one that leaves out a sentence, or an HTML part with
/// something in the middle the text lacks (a button, a paragraph) is shown
/// open: the reviewer must read both. An empty text part is never folded.
pub fn text_says_what_html_says(text: &str, html: &str) -> bool {
    let text = text_words(text);
    let html = visible_words(html);
    if text.is_empty() || text.len() > html.len() {
        return false;
    }
    let extra = html.len() - text.len();
    extra <= (html.len() / 5).max(12) && html.windows(text.len()).any(|run| run == text)
}

/// An id for the list of customers skipped for this reason: `skipped-opted-out`.
fn skipped_id(status: Status) -> String {
    format!("skipped-{}", status.code().replace('_', "-"))
}

/// A description with its first letter in upper case, for a heading.
fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
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
/// IntersectionObserver gets every frame at once, as before. The sticky
/// header's height is kept as the scroll padding, so that a summary link's
/// list is not hidden under it.
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
function pad(){document.documentElement.style.scrollPaddingTop=\
document.querySelector('header').offsetHeight+8+'px';}pad();\
var timer;window.addEventListener('resize',function(){clearTimeout(timer);\
timer=setTimeout(function(){pad();document.querySelectorAll('iframe.body').forEach(size);},150);});\
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(name: &str, lang: &str, text: &str, html: Option<&str>) -> Entry {
        Entry {
            name: name.into(),
            to: "m@b.gr".into(),
            lang: lang.into(),
            subject: format!("Merry Christmas, {name}!"),
            text: text.into(),
            html: html.map(Into::into),
            file: None,
        }
    }

    fn review(entries: Vec<Entry>, skipped: Vec<Skipped>, problems: Vec<String>) -> Review {
        Review {
            occasion: "christmas".into(),
            date: "2026-12-20".into(),
            from: "Shop <a@b.gr>".into(),
            entries,
            skipped,
            problems,
        }
    }

    fn page(review: &Review) -> String {
        let mut out = Vec::new();
        review.write(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// What the browser makes of escaped text (the references `escape` writes).
    fn unescape(s: &str) -> String {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&")
    }

    /// The text inside each `<template>`, as the browser reads it.
    fn templates(page: &str) -> Vec<String> {
        page.split("<template>")
            .skip(1)
            .map(|rest| unescape(&rest[..rest.find("</template>").unwrap()]))
            .collect()
    }

    /// Markup that would break out of every place customer text goes.
    const HOSTILE: &[&str] = &[
        "<b>Mary</b> & Co",
        "</template><script>alert(1)</script>",
        "</script><script>alert(2)</script>",
        "\"><img src=x onerror=alert(3)>",
        "' onmouseover='alert(4)",
        "<!-- <script>",
        "</textarea></pre></details></article>",
        "&lt;already escaped&gt;",
        "<template><script>x</script></template>",
    ];

    #[test]
    fn customer_text_is_escaped_everywhere_including_inside_the_inert_body() {
        for bad in HOSTILE {
            let mut r = review(
                vec![Entry {
                    name: bad.to_string(),
                    to: format!("{bad}@b.gr"),
                    lang: bad.to_string(),
                    subject: bad.to_string(),
                    text: bad.to_string(),
                    html: Some(format!("<p onclick=\"x\">{bad}</p>")),
                    file: Some(bad.to_string()),
                }],
                vec![Skipped {
                    name: bad.to_string(),
                    to: bad.to_string(),
                    status: Status::OptedOut,
                }],
                vec![format!("customers.csv:3:2: {bad}")],
            );
            r.from = bad.to_string();
            r.occasion = bad.to_string();
            let page = page(&r);
            // Only our own markup: one script, one template, one article.
            assert_eq!(page.matches("<script").count(), 1, "{bad}");
            assert_eq!(page.matches("</script").count(), 1, "{bad}");
            assert_eq!(page.matches("<template").count(), 1, "{bad}");
            assert_eq!(page.matches("</template").count(), 1, "{bad}");
            assert_eq!(page.matches("<article").count(), 1, "{bad}");
            assert_eq!(page.matches("<img").count(), 0, "{bad}");
            assert_eq!(page.matches("<b>").count(), 0, "{bad}");
            assert_eq!(page.matches("<!--").count(), 0, "{bad}");
            // ... and the body comes out of its template exactly as it went in.
            assert_eq!(
                templates(&page),
                [format!("<p onclick=\"x\">{bad}</p>")],
                "{bad}"
            );
            assert!(page.contains(&escape(bad)), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_body_stays_inside_its_template_and_comes_back_whole(
            bodies in prop::collection::vec(".*", 1..5),
            name in ".*",
        ) {
            let entries = bodies
                .iter()
                .map(|b| entry(&name, "el", "text", Some(b)))
                .collect();
            let page = page(&review(entries, vec![], vec![]));
            prop_assert_eq!(page.matches("<script").count(), 1);
            prop_assert_eq!(page.matches("</template").count(), bodies.len());
            prop_assert_eq!(page.matches("<article").count(), bodies.len());
            prop_assert_eq!(templates(&page), bodies);
        }
    }

    #[test]
    fn greetings_and_problems_are_counted_in_the_singular_for_one() {
        for (n, title) in [
            (0, "0 greetings for christmas on 2026-12-20"),
            (1, "1 greeting for christmas on 2026-12-20"),
            (2, "2 greetings for christmas on 2026-12-20"),
            (21, "21 greetings for christmas on 2026-12-20"),
        ] {
            let entries = (0..n).map(|_| entry("Mary", "en", "Hi", None)).collect();
            let problems = (0..n).map(|i| format!("c.csv:{i}:1: bad")).collect();
            let page = page(&review(entries, vec![], problems));
            assert!(page.contains(&format!("<title>{title}</title>")), "{n}");
            assert!(
                page.contains(&format!("<h1 id=\"title\">{title}</h1>")),
                "{n}"
            );
            let problems = match n {
                0 => None,
                1 => Some("1 problem in the list".to_string()),
                n => Some(format!("{n} problems in the list")),
            };
            if let Some(problems) = problems {
                assert!(page.contains(&format!(">{problems}</a>")), "{n}");
            } else {
                assert!(!page.contains("id=\"problems\""), "{n}");
            }
        }
    }

    #[test]
    fn the_summary_names_each_language_and_shows_an_unknown_code_as_it_is() {
        let entries = ["el", "he", "hy", "en", "el", "xx"]
            .iter()
            .map(|l| entry("A", l, "Hi", None))
            .collect();
        let page = page(&review(entries, vec![], vec![]));
        for span in [
            "<span data-lang=\"el\">Greek (el): 2</span>",
            "<span data-lang=\"he\">Hebrew (he): 1</span>",
            "<span data-lang=\"hy\">Armenian (hy): 1</span>",
            "<span data-lang=\"en\">English (en): 1</span>",
            "<span data-lang=\"xx\">xx: 1</span>",
            "<dt>Language</dt><dd>Hebrew (he)</dd>",
        ] {
            assert!(page.contains(span), "no {span}");
        }
    }

    #[test]
    fn every_link_on_the_page_goes_to_an_element_of_the_page() {
        let skipped = [
            Status::OptedOut,
            Status::AlreadySent,
            Status::OptedOut,
            Status::Invalid,
        ]
        .into_iter()
        .enumerate()
        .map(|(i, status)| Skipped {
            name: format!("N{i}"),
            to: format!("n{i}@b.gr"),
            status,
        })
        .collect();
        let page = page(&review(
            vec![entry("A", "el", "Hi", None)],
            skipped,
            vec!["c.csv:2:1: bad".into()],
        ));
        let links: Vec<&str> = page
            .split("href=\"#")
            .skip(1)
            .map(|rest| &rest[..rest.find('"').unwrap()])
            .collect();
        assert_eq!(
            links,
            [
                "skipped-opted-out",
                "skipped-already-sent",
                "skipped-invalid",
                "problems"
            ]
        );
        for id in links {
            assert_eq!(page.matches(&format!(" id=\"{id}\"")).count(), 1, "{id}");
        }
        assert!(page.contains(">not greeted, opted out: 2</a>"));
        assert!(page.contains("<h3 id=\"skipped-opted-out\">Opted out (2)</h3>"));
    }

    #[test]
    fn visible_words_are_what_a_reader_sees() {
        for (html, words) in [
            (
                "<p>Dear Mary,</p><p>Merry Christmas!</p>",
                "Dear Mary, Merry Christmas!",
            ),
            ("<p>Dear <b>Ma</b>ria,</p>", "Dear Maria,"),
            ("Dear<br>Mary", "Dear Mary"),
            ("<td>a</td><td>b</td>", "a b"),
            (
                "<html><head><title>Hi</title><style>p{x:1}</style></head><body>seen</body></html>",
                "seen",
            ),
            ("a<!-- hidden <p>x</p> -->b", "ab"),
            ("<script>var x = '<p>';</script>after", "after"),
            ("<SCRIPT>no</SCRIPT >yes", "yes"),
            ("<head><meta name=\"header\"></header></head>body", "body"),
            ("<a title=\"a > b\" href=\"#\">link</a>", "link"),
            (
                "Tom &amp; Jerry&nbsp;&#233;t&#xE9; &lt;3 &quot;q&quot;",
                "Tom & Jerry été <3 \"q\"",
            ),
            ("&unknown; & alone", "&unknown; & alone"),
            ("co&shy;operate", "cooperate"),
            ("1 < 2", "1 < 2"),
            ("  \n\t ", ""),
            ("<p>unclosed", "unclosed"),
            ("x <a¡", "x"),
            ("<style>never closed", ""),
            ("שלום <b>שרה</b>,", "שלום שרה,"),
        ] {
            assert_eq!(visible_words(html).join(" "), words, "{html}");
        }
    }

    /// A greeting as the shipped templates make it: heading, paragraphs,
    /// signature and a footer with the shop's name.
    fn layout(heading: &str, paragraphs: &[&str], footer: &str) -> String {
        let mut html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><title>{heading}</title></head><body>\
             <table><tr><td>&nbsp;</td></tr><tr><td>\n<h1 style=\"margin:0\">{heading}</h1>\n"
        );
        for p in paragraphs {
            html.push_str(&format!("<p style=\"margin:0 0 14px;\">{p}</p>\n"));
        }
        html.push_str(&format!(
            "</td></tr><tr><td>\n{footer}\n</td></tr></table></body></html>"
        ));
        html
    }

    #[test]
    fn the_text_part_folds_only_when_it_says_what_the_html_says() {
        let paragraphs = [
            "Dear Mary,",
            "The bakery smells of cinnamon again, and we think of you.",
            "We wish you a Merry Christmas.",
            "Warmly,<br>Marina and everyone at the bakery",
        ];
        let html = layout("Merry Christmas!", &paragraphs, "Marina's Bakery");
        let same = "Dear Mary,\nThe bakery smells of cinnamon again, and we think of you.\n\
                    We wish you a Merry Christmas.\n\nWarmly,\nMarina and everyone at the bakery\nMarina's Bakery\n";
        for (text, folds, why) in [
            (same, true, "the same words, the HTML adding its heading"),
            (
                &same.replace('\n', "  \r\n "),
                true,
                "white space and line breaks do not count",
            ),
            (
                &same.replace("Marina's Bakery\n", ""),
                true,
                "the footer only in the HTML",
            ),
            (
                &format!("{same}P.S. We are closed on the 25th.\n"),
                false,
                "a P.S. only in the text",
            ),
            (
                &same.replace("We wish you a Merry Christmas.\n", ""),
                false,
                "a short sentence left out of the text",
            ),
            (
                &same.replace(
                    "The bakery smells of cinnamon again, and we think of you.\n",
                    "",
                ),
                false,
                "a paragraph left out of the text",
            ),
            (
                &same.replace("Mary", "Maria"),
                false,
                "a name spelled otherwise",
            ),
            (&same.replace("Dear", "dear"), false, "case counts"),
            (
                "Warmly,\nDear Mary,\nThe bakery smells of cinnamon again, and we think of you.\nWe wish you a Merry Christmas.\nMarina and everyone at the bakery\n",
                false,
                "the same words in another order",
            ),
            ("", false, "an empty text part"),
            (
                &same.replace("Dear Mary,\n", "Merry Christmas!\nDear Mary,\n"),
                true,
                "the heading in the text too",
            ),
            (
                "Dear Mary,",
                false,
                "a text part that is a fraction of the HTML",
            ),
        ] {
            assert_eq!(text_says_what_html_says(text, &html), folds, "{why}");
        }
        // Something in the middle of the HTML that the text lacks.
        let mut more = paragraphs.to_vec();
        more.insert(2, "<a href=\"#\">Visit us</a>");
        let html = layout("Merry Christmas!", &more, "Marina's Bakery");
        assert!(
            !text_says_what_html_says(same, &html),
            "a button only in the HTML"
        );
    }

    proptest! {
        #[test]
        fn escaped_text_read_as_html_has_the_words_of_the_text(text in ".*") {
            prop_assert_eq!(visible_words(&escape(&text)), text_words(&text));
        }

        #[test]
        fn any_words_laid_out_as_html_fold_with_the_same_words_as_text(
            paras in prop::collection::vec(prop::collection::vec("[\\p{L}\\p{N}.,!?'’-]{1,12}", 1..20), 1..8),
            extra in "[\\p{L}]{1,12}",
        ) {
            let text: String = paras.iter().map(|p| p.join(" ") + "\n").collect();
            let joined: Vec<String> = paras.iter().map(|p| escape(&p.join("\n  "))).collect();
            let refs: Vec<&str> = joined.iter().map(String::as_str).collect();
            let html = layout("Hello!", &refs, "Shop");
            prop_assert!(text_says_what_html_says(&text, &html));
            // A word the HTML does not have never folds.
            let more = format!("{text}{extra}{extra}\n");
            let html_words = visible_words(&html);
            prop_assume!(!html_words.contains(&format!("{extra}{extra}")));
            prop_assert!(!text_says_what_html_says(&more, &html));
        }
    }
}
