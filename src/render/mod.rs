//! Stage 4: Tera, loaded once per run → [`Rendered`] greetings.
//!
//! Template files: `<template>.<lang>.txt` (header lines, a blank line, the
//! plain-text body) and optionally `<template>.<lang>.html` (the HTML
//! alternative, autoescaped). Files whose name starts with `_` are layouts and
//! partials for `{% extends %}` / `{% include %}`. Headers are rendered one by
//! one from the template's own lines, and their values are cleaned of line
//! breaks afterwards, so no customer value can ever add a header.
mod filters;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use tera::{Context, ErrorKind, Tera};

use crate::config::Config;
use crate::problem::Problem;

/// Header lines a text template may set.
const HEADERS: &[&str] = &["Subject"];

/// Where a registered Tera template came from, to turn Tera's positions
/// into `file:line:column` of the user's file.
#[derive(Debug, Clone)]
struct Origin {
    file: PathBuf,
    line_offset: u64,
    column_offset: i64,
    /// The text registered with Tera, to quote the part an error points at.
    source: String,
}

#[derive(Debug, Clone)]
struct TemplateSet {
    subject: String,
    body: String,
    html: Option<String>,
}

/// One greeting, rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

pub struct Renderer {
    tera: Tera,
    origins: HashMap<String, Origin>,
    /// template → lang → the Tera names to render.
    sets: HashMap<String, HashMap<String, TemplateSet>>,
    default_language: String,
    config_file: PathBuf,
    /// occasion → the Tera name of its segment expression.
    segments: HashMap<String, String>,
}

fn segment_name(occasion: &str) -> String {
    format!("greet.toml segment of {occasion}")
}

impl Renderer {
    /// Load every template in the configured folder, and each campaign's
    /// segment expression, once. All problems are returned together.
    pub fn load(config: &Config) -> Result<Renderer, Vec<Problem>> {
        let dir = &config.templates;
        let shown = dir.display().to_string();
        let entries = std::fs::read_dir(dir).map_err(|e| {
            vec![Problem::error(
                &shown,
                format!("cannot read the templates folder: {e}"),
            )]
        })?;
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        files.sort();

        let mut sources: Vec<(String, String)> = Vec::new();
        let mut origins = HashMap::new();
        let mut sets: HashMap<(String, String), TemplateSet> = HashMap::new();
        let mut problems = Vec::new();
        let mut htmls = Vec::new();
        for path in files {
            let Some(file_name) = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            let is_txt = file_name.ends_with(".txt");
            let is_html = file_name.ends_with(".html");
            if !path.is_file() || !(is_txt || is_html) {
                continue;
            }
            let shown_file = path.display().to_string();
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    problems.push(Problem::error(
                        &shown_file,
                        format!("cannot read the template: {e}"),
                    ));
                    continue;
                }
            };
            let origin = Origin {
                file: path.clone(),
                line_offset: 0,
                column_offset: 0,
                source: String::new(),
            };
            if file_name.starts_with('_') {
                origins.insert(file_name.clone(), origin);
                sources.push((file_name, text));
                continue;
            }
            let parts: Vec<&str> = file_name.rsplitn(3, '.').collect();
            let [_ext, lang, template] = parts.as_slice() else {
                problems.push(Problem::warning(
                    &shown_file,
                    "ignored: template files are named <occasion>.<language>.txt or .html, partials start with _",
                ));
                continue;
            };
            let key = (template.to_string(), lang.to_string());
            if is_html {
                htmls.push((key, file_name.clone()));
                origins.insert(file_name.clone(), origin);
                sources.push((file_name, text));
                continue;
            }
            match split_headers(&text, &path) {
                Ok((headers, body_start)) => {
                    let body_offset = text[..body_start].matches('\n').count() as u64;
                    let mut subject = None;
                    for (line_no, name, value, col) in headers {
                        let tname = format!("{file_name}#{name}");
                        origins.insert(
                            tname.clone(),
                            Origin {
                                file: path.clone(),
                                line_offset: line_no - 1,
                                column_offset: col as i64,
                                source: String::new(),
                            },
                        );
                        sources.push((tname.clone(), value));
                        subject = Some(tname);
                    }
                    let Some(subject) = subject else {
                        problems.push(
                            Problem::error(&shown_file, "no Subject: line before the blank line")
                                .at(1, Some(1)),
                        );
                        continue;
                    };
                    origins.insert(
                        file_name.clone(),
                        Origin {
                            file: path.clone(),
                            line_offset: body_offset,
                            column_offset: 0,
                            source: String::new(),
                        },
                    );
                    sources.push((file_name.clone(), text[body_start..].to_string()));
                    sets.insert(
                        key,
                        TemplateSet {
                            subject,
                            body: file_name,
                            html: None,
                        },
                    );
                }
                Err(p) => problems.push(p),
            }
        }
        for (key, name) in htmls {
            match sets.get_mut(&key) {
                Some(set) => set.html = Some(name),
                None => problems.push(Problem::error(
                    origins[&name].file.display().to_string(),
                    format!("an HTML template needs its text twin {}.{}.txt (the plain-text part is required)", key.0, key.1),
                )),
            }
        }
        for occ in config.occasions.values() {
            if let Some(seg) = &occ.segment {
                let name = segment_name(&occ.name);
                // SPEC writes segments as "{{ expr }}"; the bare expression works too.
                let trimmed = seg.trim();
                let (expr, lead) = match trimmed
                    .strip_prefix("{{")
                    .and_then(|s| s.strip_suffix("}}"))
                {
                    Some(inner) => (inner, seg.find("{{").unwrap_or(0) + 2),
                    None => (trimmed, seg.len() - seg.trim_start().len()),
                };
                origins.insert(
                    name.clone(),
                    Origin {
                        file: config.path.clone(),
                        line_offset: occ.segment_at.0 - 1,
                        // segment_at is the opening quote's column; `lead` characters of the
                        // value come before the expression, and "{% if " adds 6 in front of it.
                        column_offset: occ.segment_at.1 as i64 + seg[..lead].chars().count() as i64
                            - 6,
                        source: String::new(),
                    },
                );
                sources.push((name, format!("{{% if {expr} %}}1{{% endif %}}")));
            }
        }

        for (name, src) in &sources {
            if let Some(o) = origins.get_mut(name) {
                o.source = src.clone();
            }
        }
        let mut tera = Tera::new();
        tera.autoescape_on([".html"]);
        filters::register(&mut tera, &config.vocative);
        if let Err(e) =
            tera.add_raw_templates(sources.iter().map(|(n, s)| (n.as_str(), s.as_str())))
        {
            // Tera stops at the first broken file: look at each file alone to report them all.
            let mut found = Vec::new();
            for (name, src) in &sources {
                let mut one = Tera::new();
                filters::register(&mut one, &config.vocative);
                if let Err(e) = one.add_raw_template(name, src)
                    && matches!(e.kind(), ErrorKind::SyntaxError(_))
                {
                    found.push(locate(&e, &origins));
                }
            }
            for p in locate_all(&e, &origins) {
                if !found.contains(&p) {
                    found.push(p);
                }
            }
            if found.is_empty() {
                found.push(Problem::error(&shown, e.to_string()));
            }
            problems.extend(found);
        }
        if problems.iter().any(Problem::is_error) {
            return Err(problems);
        }
        let mut by_template: HashMap<String, HashMap<String, TemplateSet>> = HashMap::new();
        for ((template, lang), set) in sets {
            by_template.entry(template).or_default().insert(lang, set);
        }
        Ok(Renderer {
            tera,
            origins,
            sets: by_template,
            segments: config
                .occasions
                .values()
                .filter(|o| o.segment.is_some())
                .map(|o| (o.name.clone(), segment_name(&o.name)))
                .collect(),
            default_language: config.default_language.clone(),
            config_file: config.path.clone(),
        })
    }

    /// The global context: values shared by every greeting of a run.
    pub fn set_globals(&mut self, globals: Context) {
        self.tera.global_context().extend(globals);
    }

    /// The languages a template exists in.
    pub fn languages(&self, template: &str) -> BTreeSet<&str> {
        self.sets
            .get(template)
            .map(|langs| langs.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The language to render in: the customer's, else the config default, else en.
    /// The flag is true when it fell back.
    pub fn language_for<'a>(
        &'a self,
        template: &str,
        wanted: Option<&'a str>,
    ) -> Option<(&'a str, bool)> {
        let wanted_lang = wanted.unwrap_or(&self.default_language);
        let langs = self.sets.get(template)?;
        let has = |l: &str| langs.contains_key(l);
        if has(wanted_lang) {
            return Some((wanted_lang, false));
        }
        [self.default_language.as_str(), "en"]
            .into_iter()
            .find(|l| has(l))
            .map(|l| (l, true))
    }

    /// Does this campaign's segment expression select the customer?
    pub fn in_segment(&self, occasion: &str, ctx: &Context) -> Result<bool, Problem> {
        let Some(name) = self.segments.get(occasion) else {
            return Ok(true);
        };
        let out = self
            .tera
            .render(name, ctx)
            .map_err(|e| locate(&e, &self.origins))?;
        Ok(out == "1")
    }

    /// Render one greeting in `lang` (from [`Renderer::language_for`]).
    pub fn render(&self, template: &str, lang: &str, ctx: &Context) -> Result<Rendered, Problem> {
        let set = self
            .sets
            .get(template)
            .and_then(|langs| langs.get(lang))
            .ok_or_else(|| {
                Problem::error(
                    self.config_file.display().to_string(),
                    format!("no template {template}.{lang}.txt"),
                )
            })?;
        let r = |name: &str| {
            self.tera
                .render(name, ctx)
                .map_err(|e| locate(&e, &self.origins))
        };
        Ok(Rendered {
            subject: header_value(&r(&set.subject)?),
            text: r(&set.body)?,
            html: set.html.as_deref().map(r).transpose()?,
        })
    }
}

/// Split a text template into its header lines and the byte offset of the body.
/// Returns (line number, header name, value source, column where the value starts).
#[allow(clippy::type_complexity)]
fn split_headers(
    text: &str,
    path: &Path,
) -> Result<(Vec<(u64, String, String, u64)>, usize), Problem> {
    let shown = path.display().to_string();
    let mut headers = Vec::new();
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let line_no = i as u64 + 1;
        offset += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        if content.trim().is_empty() {
            return Ok((headers, offset));
        }
        let Some((name, value)) = content.split_once(':') else {
            return Err(Problem::error(
                &shown,
                "expected a header line such as \"Subject: ...\", then a blank line, then the body",
            )
            .at(line_no, Some(1)));
        };
        let Some(known) = HEADERS.iter().find(|h| h.eq_ignore_ascii_case(name.trim())) else {
            return Err(Problem::error(
                &shown,
                format!(
                    "unknown header \"{}\"; a template may set: {}",
                    name.trim(),
                    HEADERS.join(", ")
                ),
            )
            .at(line_no, Some(1)));
        };
        let lead = value.len() - value.trim_start().len();
        let col = (name.chars().count() + 1 + value[..lead].chars().count()) as u64;
        headers.push((line_no, known.to_string(), value.trim().to_string(), col));
    }
    Err(Problem::error(
        &shown,
        "no blank line after the header lines, so there is no body",
    )
    .at(1, Some(1)))
}

/// Clean a rendered header value: it is one line of text, whatever the data held.
/// Line breaks and tabs become spaces; NUL and the other controls are dropped,
/// and so is every invisible or formatting character
/// ([`crate::customer::invisible`]: zero-width spaces and joiners, BOMs, bidi
/// embeddings, overrides and isolates, variation selectors, tags); `=?` is
/// broken so no encoded-word can be smuggled in.
pub fn header_value(raw: &str) -> String {
    use crate::customer::invisible::is_invisible;
    // Most values are already one clean line: keep them as they are.
    let clean = !raw.contains("=?")
        && !raw.starts_with(' ')
        && !raw.ends_with(' ')
        && !raw.contains("  ")
        && raw
            .chars()
            .all(|c| (c == ' ' || !c.is_whitespace()) && !c.is_control() && !is_invisible(c));
    if clean {
        return raw.to_string();
    }
    let cleaned: String = raw
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !c.is_control() && !is_invisible(*c))
        .collect();
    cleaned
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("=?", "= ?")
}

/// Turn a Tera error into `file:line:column: message`, using the innermost
/// located report (so the user sees the template, line and variable).
fn locate(err: &tera::Error, origins: &HashMap<String, Origin>) -> Problem {
    locate_all(err, origins)
        .into_iter()
        .next()
        .unwrap_or_else(|| Problem::error("templates", err.to_string()))
}

/// Map a position in a registered Tera template back to the user's file.
/// `col` is 1-based.
fn place(name: &str, line: u64, col: u64, origins: &HashMap<String, Origin>) -> (String, u64, u64) {
    match origins.get(name) {
        Some(o) => {
            let extra = if line == 1 { o.column_offset } else { 0 };
            (
                o.file.display().to_string(),
                line + o.line_offset,
                (col as i64 + extra).max(1) as u64,
            )
        }
        None => (name.to_string(), line, col),
    }
}

/// The text a single-line span covers, if short enough to quote.
fn quote(source: &str, span: &tera::Span) -> Option<String> {
    if span.start_line != span.end_line || span.end_col <= span.start_col {
        return None;
    }
    let line = source.lines().nth(span.start_line.checked_sub(1)?)?;
    let text: String = line
        .chars()
        .skip(span.start_col)
        .take(span.end_col - span.start_col)
        .collect();
    (!text.trim().is_empty() && text.chars().count() <= 60).then(|| text.trim().to_string())
}

/// Every located problem in a Tera error. Syntax and rendering errors carry
/// one span; load-time checks (unknown filter, test or function) come as
/// text reports (`error: …` then ` --> name:line:col`), one per use.
fn locate_all(err: &tera::Error, origins: &HashMap<String, Origin>) -> Vec<Problem> {
    if let ErrorKind::SyntaxError(r) | ErrorKind::RenderingError(r) = err.kind() {
        let span = r.span();
        let (file, line, col) = place(
            r.filename(),
            span.start_line as u64,
            span.start_col as u64 + 1,
            origins,
        );
        let mut msg = r.message().to_string();
        if let Some(quoted) = origins
            .get(r.filename())
            .and_then(|o| quote(&o.source, span))
        {
            msg = format!("{msg} (in `{quoted}`)");
        }
        let mut source = std::error::Error::source(err);
        while let Some(s) = source {
            msg = format!("{msg}: {s}");
            source = s.source();
        }
        return vec![Problem::error(file, msg).at(line, Some(col))];
    }
    let text = err.to_string();
    let mut found = Vec::new();
    let mut message: Option<&str> = None;
    for line in text.lines() {
        if let Some(m) = line.strip_prefix("error: ") {
            message = Some(m.trim());
        } else if let (Some(m), Some(at)) = (message, line.trim_start().strip_prefix("--> ")) {
            let mut parts = at.rsplitn(3, ':');
            let col = parts.next().and_then(|c| c.trim().parse().ok());
            let row = parts.next().and_then(|l| l.trim().parse().ok());
            if let (Some(col), Some(row), Some(name)) = (col, row, parts.next()) {
                let (file, line, col) = place(name.trim(), row, col, origins);
                found.push(Problem::error(file, m).at(line, Some(col)));
            }
            message = None;
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_cannot_carry_line_breaks_or_encoded_words() {
        assert_eq!(header_value("Maria\r\nBcc: x@evil"), "Maria Bcc: x@evil");
        assert!(!header_value("=?utf-8?b?QmNjOg==?=").contains("=?"));
        assert_eq!(header_value("a\u{202e}b\0c"), "abc");
        assert_eq!(
            header_value("Χρόνια πολλά, Σταμάτη!"),
            "Χρόνια πολλά, Σταμάτη!"
        );
        assert_eq!(header_value(" two  spaces "), "two spaces");
    }

    #[test]
    fn header_values_carry_no_invisible_or_formatting_character() {
        use crate::customer::invisible::is_invisible;
        let members: Vec<char> = (0xA0..=0xE0FFFu32)
            .filter_map(char::from_u32)
            .filter(|c| is_invisible(*c))
            .collect();
        assert!(members.len() > 4000);
        for c in members {
            for raw in [
                format!("{c}Χρόνια πολλά, Σταμάτη!"),
                format!("Χρόνια πολλά, Σταμ{c}άτη!"),
                format!("Χρόνια πολλά, Σταμάτη!{c}"),
                format!("Happy birthday 👩{c}👧 {c} Anna"),
            ] {
                let v = header_value(&raw);
                assert!(!v.chars().any(is_invisible), "U+{:04X}: {v:?}", c as u32);
                assert!(
                    !v.starts_with(' ') && !v.ends_with(' ') && !v.contains("  "),
                    "{v:?}"
                );
            }
            assert_eq!(
                header_value(&format!("Χρόνια πολλά, Σταμ{c}άτη!")),
                "Χρόνια πολλά, Σταμάτη!"
            );
        }
    }

    #[test]
    fn headers_are_split_from_the_body() {
        let text = "Subject: Hi {{ name }}\n\nDear {{ name }},\n";
        let (headers, start) = split_headers(text, Path::new("t.en.txt")).unwrap();
        assert_eq!(
            headers,
            vec![(1, "Subject".to_string(), "Hi {{ name }}".to_string(), 9)]
        );
        assert_eq!(&text[start..], "Dear {{ name }},\n");
    }

    #[test]
    fn a_template_without_a_blank_line_is_refused() {
        let err = split_headers("Subject: x\nbody", Path::new("t.en.txt")).unwrap_err();
        assert!(err.message.contains("expected a header line"), "{err}");
    }
}
