//! The review page: one self-contained HTML file a person opens in a browser
//! to read every greeting before it is sent — a summary, then each greeting
//! as its recipient would see it (subject, From/To, the HTML body in a
//! sandboxed frame, the text part), then who will not be greeted and why.
//!
//! No external resources: the page's Content-Security-Policy allows nothing
//! to be fetched, the bodies are `srcdoc` frames without scripts, and the
//! search box is a few lines of inline script.
use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::i18n;
use crate::pipeline::Status;

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

/// Escape text for HTML content and attribute values.
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

const STYLE: &str = "body{margin:0;font-family:system-ui,'DejaVu Sans',sans-serif;background:#f5f1ea;color:#2b2118}\
header{position:sticky;top:0;background:#fffaf3;border-bottom:1px solid #e0cfb8;padding:12px 20px;z-index:1}\
h1{font-size:20px;margin:0 0 6px}\
.summary{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:14px;margin:6px 0}\
.summary span{white-space:nowrap}\
#search{width:100%;max-width:420px;padding:6px 8px;font-size:15px;border:1px solid #c9b59a;border-radius:6px}\
main{padding:12px 20px}\
article{background:#fff;border:1px solid #e0cfb8;border-radius:10px;margin:14px 0;padding:12px 16px}\
article dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 10px;margin:0 0 10px;font-size:14px}\
article dt{color:#7a6650}\
article dd{margin:0}\
iframe{width:100%;height:760px;resize:vertical;border:1px solid #eee;border-radius:6px;background:#fff}\
pre{white-space:pre-wrap;font-family:inherit;font-size:14px;background:#faf7f2;padding:10px;border-radius:6px}\
.skipped li,.problems li{font-size:14px;margin:2px 0}\
.hidden{display:none}";

const SCRIPT: &str = "var q=document.getElementById('search');\
q.addEventListener('input',function(){var v=q.value.trim().toLowerCase();\
document.querySelectorAll('[data-search]').forEach(function(e){\
e.classList.toggle('hidden',v!==''&&e.getAttribute('data-search').indexOf(v)<0);});});";

impl Review {
    pub fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        let title = format!(
            "{} greetings for {} on {}",
            self.entries.len(),
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

        // The summary.
        writeln!(out, "<header>\n<h1 id=\"title\">{}</h1>", escape(&title))?;
        let mut by_lang: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &self.entries {
            *by_lang.entry(e.lang.as_str()).or_default() += 1;
        }
        let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &self.skipped {
            *by_reason.entry(s.status.describe()).or_default() += 1;
        }
        write!(out, "<div class=\"summary\" id=\"summary\">")?;
        write!(out, "<span>from {}</span>", escape(&self.from))?;
        for (lang, n) in &by_lang {
            write!(
                out,
                "<span data-lang=\"{}\">{}: {n}</span>",
                escape(lang),
                escape(lang)
            )?;
        }
        for (why, n) in &by_reason {
            write!(out, "<span>not greeted, {}: {n}</span>", escape(why))?;
        }
        if !self.problems.is_empty() {
            write!(
                out,
                "<span>problems in the list: {}</span>",
                self.problems.len()
            )?;
        }
        writeln!(out, "</div>")?;
        writeln!(
            out,
            "<input id=\"search\" type=\"search\" placeholder=\"search by name or email\" aria-label=\"search by name or email\">\n</header>\n<main>"
        )?;

        // Each greeting, as its recipient would see it.
        for (i, e) in self.entries.iter().enumerate() {
            let dir = i18n::direction(&e.lang);
            let search = format!("{} {}", e.name, e.to).to_lowercase();
            writeln!(
                out,
                "<article class=\"greeting\" id=\"g{}\" lang=\"{}\" dir=\"{dir}\" data-search=\"{}\">",
                i + 1,
                escape(&e.lang),
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
            writeln!(out, "<dt>Language</dt><dd>{}</dd>", escape(&e.lang))?;
            if let Some(file) = &e.file {
                writeln!(out, "<dt>File</dt><dd>{}</dd>", escape(file))?;
            }
            writeln!(out, "</dl>")?;
            if let Some(html) = &e.html {
                writeln!(
                    out,
                    "<iframe class=\"body\" sandbox title=\"HTML part\" srcdoc=\"{}\"></iframe>",
                    escape(html)
                )?;
            }
            writeln!(
                out,
                "<pre class=\"text\" dir=\"{dir}\" lang=\"{}\">{}</pre>\n</article>",
                escape(&e.lang),
                escape(&e.text)
            )?;
        }

        // Who is not greeted, and why; problems in the list.
        writeln!(
            out,
            "<section class=\"skipped\" id=\"skipped\">\n<h2>Not greeted ({})</h2>\n<ul>",
            self.skipped.len()
        )?;
        for s in &self.skipped {
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
        writeln!(out, "</ul>\n</section>")?;
        if !self.problems.is_empty() {
            writeln!(
                out,
                "<section class=\"problems\" id=\"problems\">\n<h2>Problems in the list</h2>\n<ul>"
            )?;
            for p in &self.problems {
                writeln!(out, "<li>{}</li>", escape(p))?;
            }
            writeln!(out, "</ul>\n</section>")?;
        }
        writeln!(out, "</main>\n<script>{SCRIPT}</script>\n</body>\n</html>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_text_is_escaped_everywhere() {
        let review = Review {
            occasion: "christmas".into(),
            date: "2026-12-20".into(),
            from: "Shop <a@b.gr>".into(),
            entries: vec![Entry {
                name: "<b>Mary</b> & Co".into(),
                to: "m@b.gr".into(),
                lang: "he".into(),
                subject: "\"hi\"".into(),
                text: "<script>x</script>".into(),
                html: Some("<p onclick=\"x\">&amp;</p>".into()),
                file: None,
            }],
            skipped: vec![],
            problems: vec!["customers.csv:3:2: <bad>".into()],
        };
        let mut out = Vec::new();
        review.write(&mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(!page.contains("<b>Mary"));
        assert!(page.contains("&lt;b&gt;Mary&lt;/b&gt; &amp; Co"));
        assert!(!page.contains("<script>x"));
        assert!(page.contains("srcdoc=\"&lt;p onclick=&quot;x&quot;&gt;&amp;amp;&lt;/p&gt;\""));
        assert!(page.contains("dir=\"rtl\""));
        assert!(page.contains("customers.csv:3:2: &lt;bad&gt;"));
        assert_eq!(page.matches("<article").count(), 1);
    }
}
