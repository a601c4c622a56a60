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
//!
//! The page is an embedded Tera template, `review/page.html.tera`, parsed
//! once per run and rendered with autoescape on: every value that reaches
//! it — names, addresses, subjects, text parts, HTML bodies, file names,
//! problems — is escaped by the engine, none by hand, and none is marked
//! `safe`. Customer text is a value in the context, never template source.
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::LazyLock;

use serde::Serialize;
use tera::{Context, Tera};

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
    /// More than the status says, when there is more: for a spaced-out
    /// greeting, the one it gave way to ("birthday on 2026-05-23, to come").
    pub why: Option<String>,
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
/// A link the text spells out and the HTML carries as a link (`href`), such
/// as `{{ unsubscribe }}` under its words, is said by both.
pub fn text_says_what_html_says(text: &str, html: &str) -> bool {
    let links = linked(html);
    let mut text = text_words(text);
    text.retain(|w| !links.contains(w));
    let html = visible_words(html);
    if text.is_empty() || text.len() > html.len() {
        return false;
    }
    let extra = html.len() - text.len();
    extra <= (html.len() / 5).max(12) && html.windows(text.len()).any(|run| run == text)
}

/// The addresses the HTML links to (`href="…"`), references decoded.
fn linked(html: &str) -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    for (i, _) in html.match_indices("href=") {
        let rest = &html[i + 5..];
        let Some(quote) = rest.chars().next().filter(|c| matches!(c, '"' | '\'')) else {
            continue;
        };
        let Some(end) = rest[1..].find(quote) else {
            continue;
        };
        let raw = &rest[1..=end];
        let mut url = String::with_capacity(raw.len());
        let mut r = raw;
        while let Some(amp) = r.find('&') {
            url.push_str(&r[..amp]);
            let (decoded, used) = decode_reference(&r[amp..]);
            url.push_str(&decoded);
            r = &r[amp + used..];
        }
        url.push_str(r);
        out.insert(url);
    }
    out
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

/// The page's template, parsed once per run (the first time a page is
/// written), with autoescape on: it is named `review.html`, and Tera escapes
/// every value it puts into an `.html` template. See the template's own
/// comment for what that keeps safe; it marks nothing `safe`.
static PAGE: LazyLock<Tera> = LazyLock::new(|| {
    let mut tera = Tera::new();
    tera.autoescape_on([".html"]);
    tera.add_raw_template(PAGE_NAME, PAGE_SOURCE)
        .expect("the review page's template parses (a unit test renders it)");
    tera
});

const PAGE_NAME: &str = "review.html";
const PAGE_SOURCE: &str = include_str!("review/page.html.tera");

/// What the template is given: plain values, every string among them
/// escaped by Tera where the template puts it.
#[derive(Serialize)]
struct Page<'a> {
    title: String,
    sender: &'a str,
    /// Greetings in each language, by language code.
    languages: Vec<Language<'a>>,
    entries: Vec<EntryView<'a>>,
    /// The customers not greeted, one list per reason.
    reasons: Vec<Reason<'a>>,
    skipped_count: usize,
    problems: &'a [String],
    /// "1 problem", "2 problems".
    problems_counted: String,
}

#[derive(Serialize)]
struct Language<'a> {
    code: &'a str,
    label: String,
    count: usize,
}

#[derive(Serialize)]
struct EntryView<'a> {
    lang: &'a str,
    dir: &'static str,
    language: String,
    /// What the search box matches: name and address, in lower case.
    search: String,
    subject: &'a str,
    name: &'a str,
    to: &'a str,
    file: Option<&'a str>,
    /// The HTML body as it is (the template escapes it into its `<template>`).
    html: Option<&'a str>,
    text: &'a str,
    /// The text part says what the HTML part says: folded away.
    folded: bool,
}

#[derive(Serialize)]
struct Reason<'a> {
    id: String,
    describe: &'static str,
    heading: String,
    people: Vec<Person<'a>>,
}

#[derive(Serialize)]
struct Person<'a> {
    search: String,
    name: &'a str,
    to: &'a str,
    /// Why this one is not greeted, in words.
    why: String,
}

/// Name and address in lower case, what the search box looks in.
fn search_key(name: &str, to: &str) -> String {
    format!("{name} {to}").to_lowercase()
}

/// The writer the page is rendered into, keeping the first error it gives:
/// Tera keeps only an I/O error's kind, and the caller is owed the error
/// itself ("File too large (os error 27)", a closed pipe).
struct Keeping<'a> {
    out: &'a mut dyn Write,
    error: Option<io::Error>,
}

impl Keeping<'_> {
    fn keep(&mut self, e: io::Error) -> io::Error {
        let kind = e.kind();
        if kind != io::ErrorKind::Interrupted {
            self.error.get_or_insert(e);
        }
        kind.into()
    }
}

impl Write for Keeping<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf).map_err(|e| self.keep(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush().map_err(|e| self.keep(e))
    }
}

impl Review {
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let context = Context::from_serialize(&self.page())
            .map_err(|e| io::Error::other(format!("the review page: {e}")))?;
        let mut out = Keeping { out, error: None };
        let rendered = PAGE.render_to(PAGE_NAME, &context, &mut out);
        match (out.error, rendered) {
            (Some(e), _) => Err(e),
            (None, Ok(())) => Ok(()),
            (None, Err(e)) => Err(io::Error::other(format!("the review page: {e}"))),
        }
    }

    /// The values of the page: who sends, how many greetings in each
    /// language, each greeting, and who is not greeted and why.
    fn page(&self) -> Page<'_> {
        let mut by_lang: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &self.entries {
            *by_lang.entry(e.lang.as_str()).or_default() += 1;
        }
        Page {
            title: format!(
                "{} for {} on {}",
                count(self.entries.len(), "greeting", "greetings"),
                self.occasion,
                self.date
            ),
            sender: &self.from,
            languages: by_lang
                .into_iter()
                .map(|(code, count)| Language {
                    code,
                    label: i18n::language_label(code),
                    count,
                })
                .collect(),
            entries: self
                .entries
                .iter()
                .map(|e| EntryView {
                    lang: &e.lang,
                    dir: i18n::direction(&e.lang),
                    language: i18n::language_label(&e.lang),
                    search: search_key(&e.name, &e.to),
                    subject: &e.subject,
                    name: &e.name,
                    to: &e.to,
                    file: e.file.as_deref(),
                    html: e.html.as_deref(),
                    text: &e.text,
                    folded: e
                        .html
                        .as_deref()
                        .is_some_and(|html| text_says_what_html_says(&e.text, html)),
                })
                .collect(),
            reasons: self
                .skipped_by_reason()
                .into_iter()
                .map(|(status, list)| Reason {
                    id: skipped_id(status),
                    describe: status.describe(),
                    heading: capitalized(status.describe()),
                    people: list
                        .into_iter()
                        .map(|s| Person {
                            search: search_key(&s.name, &s.to),
                            name: &s.name,
                            to: &s.to,
                            why: match &s.why {
                                Some(why) => format!("{}: {why}", status.describe()),
                                None => status.describe().to_string(),
                            },
                        })
                        .collect(),
                })
                .collect(),
            skipped_count: self.skipped.len(),
            problems: &self.problems,
            problems_counted: count(self.problems.len(), "problem", "problems"),
        }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// HTML escaping as Tera's autoescape does it (`& < > " '`), for the
    /// expectations of these tests.
    fn escape(s: &str) -> String {
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
                    why: None,
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

    /// The page as a browser's tokenizer sees it, near enough to judge
    /// escaping: each tag as its name and attribute names (`<!--` for a
    /// comment), and every piece of text and attribute value, decoded.
    /// `<script>` and `<style>` hold raw text to their end tag.
    struct Tokens {
        tags: Vec<String>,
        texts: Vec<String>,
    }

    fn tokens(page: &str) -> Tokens {
        let (mut tags, mut texts) = (Vec::new(), Vec::new());
        let mut rest = page;
        while let Some(i) = rest.find('<') {
            texts.push(unescape(&rest[..i]));
            rest = &rest[i..];
            if let Some(after) = rest.strip_prefix("<!--") {
                tags.push("<!--".to_string());
                rest = after.find("-->").map_or("", |j| &after[j + 3..]);
                continue;
            }
            let gt = tag_close(rest).expect("every tag on the page is closed");
            let tag = &rest[1..gt];
            rest = &rest[gt + 1..];
            let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
            let name = tag[..name_end].to_ascii_lowercase();
            let mut sig = name.clone();
            let mut attrs = tag[name_end..].trim_start();
            while !attrs.is_empty() {
                let end = attrs
                    .find(|c: char| c == '=' || c.is_whitespace())
                    .unwrap_or(attrs.len());
                sig.push(' ');
                sig.push_str(&attrs[..end].to_ascii_lowercase());
                attrs = &attrs[end..];
                if let Some(value) = attrs.strip_prefix('=') {
                    let (text, after) = match value.chars().next() {
                        Some(q @ ('"' | '\'')) => {
                            let close = value[1..].find(q).expect("a quoted value ends") + 1;
                            (&value[1..close], &value[close + 1..])
                        }
                        _ => {
                            let end = value.find(char::is_whitespace).unwrap_or(value.len());
                            sig.push_str("=unquoted");
                            (&value[..end], &value[end..])
                        }
                    };
                    texts.push(unescape(text));
                    attrs = after;
                }
                attrs = attrs.trim_start();
            }
            tags.push(sig);
            if name == "script" || name == "style" {
                let end = find_end_tag(rest, &name).expect("a script or style ends");
                texts.push(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
        texts.push(unescape(rest));
        Tokens { tags, texts }
    }

    /// Customer text no one should be able to turn into markup, script or
    /// template code: one of each way out of each place text goes.
    const ADVERSARIAL: &[&str] = &[
        "</template><script>alert(1)</script>",
        "<script>alert(1)</script>",
        "<SCRIPT SRC=//x.example/a.js></SCRIPT>",
        "\"><img src=x onerror=alert(1)>",
        "'><img src=x onerror=alert(1)>",
        "' onmouseover='alert(1)",
        "\" autofocus onfocus=\"alert(1)",
        "<svg onload=alert(1)>",
        "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "</pre></details></article></main><script>alert(1)</script>",
        "</textarea></title></style></noscript><script>alert(1)</script>",
        "</bdi></dd></dl>",
        "{{ 7 * 7 }}",
        "{% if true %}yes{% endif %}",
        "{# a comment #}",
        "{% raw %}{{ x }}{% endraw %}",
        "{{ __tera_context }}",
        "{%- set x = 1 -%}{{ x }}",
        "]]>",
        "<![CDATA[<script>alert(1)</script>]]>",
        "<!--",
        "-->",
        "<!-- <script>alert(1)</script> -->",
        "<?xml version=\"1.0\"?>",
        "<!DOCTYPE html>",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&#60;script&#62;alert(1)&#60;/script&#62;",
        "&amp;&quot;&#39;",
        "\u{202e}Bidi\u{202c} \u{2066}isolate\u{2069} \u{200f}rlm\u{200e}lrm",
        "\u{1}\u{8}\u{b}\u{c}\u{1b}[31m\u{7f}\u{85}\u{9b}",
        "line\rbreaks\r\nand\u{2028}separators\u{2029}",
        "שלום <b>שרה</b>",
    ];

    /// Each place customer text (or the shop's) reaches the page, by name.
    type Setter = fn(&mut Review, &str);
    const FIELDS: &[(&str, Setter)] = &[
        ("name", |r, v| r.entries[0].name = v.into()),
        ("to", |r, v| r.entries[0].to = v.into()),
        ("lang", |r, v| r.entries[0].lang = v.into()),
        ("subject", |r, v| r.entries[0].subject = v.into()),
        ("text", |r, v| r.entries[0].text = v.into()),
        ("html", |r, v| r.entries[0].html = Some(v.into())),
        ("file", |r, v| r.entries[0].file = Some(v.into())),
        ("skipped name", |r, v| r.skipped[0].name = v.into()),
        ("skipped to", |r, v| r.skipped[0].to = v.into()),
        ("problem", |r, v| r.problems[0] = v.into()),
        ("from", |r, v| r.from = v.into()),
        ("occasion", |r, v| r.occasion = v.into()),
        ("date", |r, v| r.date = v.into()),
    ];

    /// One greeting (with an HTML part whose words its text part lacks, so
    /// the text part is open), one customer skipped, one problem.
    fn benign() -> Review {
        review(
            vec![Entry {
                file: Some("0001-christmas-m@b.gr.eml".into()),
                ..entry("Mary", "en", "Hi", Some("<p>Hello</p>"))
            }],
            vec![Skipped {
                name: "Ann".into(),
                to: "ann@b.gr".into(),
                status: Status::OptedOut,
                why: None,
            }],
            vec!["customers.csv:3:2: bad".into()],
        )
    }

    /// Panics unless the page with `value` in `field` has exactly the
    /// markup of the benign page (the same tags with the same attributes,
    /// one script: ours) and shows `value` as it is, as text.
    fn assert_inert_and_literal(field: &str, set: Setter, value: &str) {
        let want = tokens(&page(&benign())).tags;
        let mut r = benign();
        set(&mut r, value);
        let page = page(&r);
        let got = tokens(&page);
        assert_eq!(got.tags, want, "{field} = {value:?}");
        assert!(
            got.texts.iter().any(|t| t.contains(value)),
            "{field} = {value:?} is not on the page as text"
        );
        if field == "html" {
            assert_eq!(templates(&page), [value], "{field} = {value:?}");
        }
    }

    #[test]
    fn hostile_text_in_every_field_is_shown_literally_and_adds_no_markup_and_no_script() {
        let long = "W".repeat(2000);
        let bad = ADVERSARIAL.iter().copied().chain([long.as_str()]);
        for value in bad.chain(HOSTILE.iter().copied()) {
            for (field, set) in FIELDS {
                assert_inert_and_literal(field, *set, value);
            }
        }
    }

    /// A writer that takes `room` bytes, then fails as a full disk does.
    struct Full {
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    "the disk is full",
                ));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_that_fails_anywhere_in_the_page_gives_the_writers_own_error() {
        let r = review(
            (0..20)
                .map(|_| entry("Mary", "en", "Hi", Some("<p>Hello</p>")))
                .collect(),
            vec![],
            vec![],
        );
        let whole = page(&r).len();
        for room in [0, 1, 100, 4096, whole / 2, whole - 1] {
            let e = r.write(&mut Full { room }).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::StorageFull, "{room}");
            assert_eq!(e.to_string(), "the disk is full", "{room}");
        }
        assert!(r.write(&mut Full { room: whole }).is_ok());
    }

    #[test]
    fn the_review_template_marks_nothing_safe_and_escapes_html() {
        let source: String = PAGE_SOURCE.split_whitespace().collect();
        assert!(!source.contains("|safe"), "a value is marked safe");
        let mut r = benign();
        r.entries[0].name = "<&>\"'".into();
        assert!(page(&r).contains("<bdi>&lt;&amp;&gt;&quot;&#39;</bdi>"));
    }

    proptest! {
        #[test]
        fn any_text_in_any_field_is_shown_literally_and_adds_no_markup(
            field in 0..FIELDS.len(),
            value in ".*",
        ) {
            let (name, set) = FIELDS[field];
            assert_inert_and_literal(name, set, &value);
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
            why: None,
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
        // A link the text spells out and the HTML carries under words.
        let html_linked = layout(
            "Merry Christmas!",
            &paragraphs,
            "Marina's Bakery\n<p>Rather not hear from us? <a href=\"https://shop.gr/u?a=1&amp;token=x.y\">Unsubscribe</a></p>",
        );
        let text_linked =
            format!("{same}Rather not hear from us? https://shop.gr/u?a=1&token=x.y\n");
        assert!(text_says_what_html_says(&text_linked, &html_linked));
        assert!(
            !text_says_what_html_says(&text_linked.replace("x.y", "x.z"), &html_linked),
            "a link the HTML does not carry"
        );
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
