//! Problem lists and summaries, as people read them.
use std::io::Write;

use crate::problem::Problem;

/// The first few row problems and a count — what `preview` and `send` show
/// above their output. `greet check` lists them all.
pub fn list_head(
    problems: &[Problem],
    file: &str,
    shown: usize,
    err: &mut dyn Write,
) -> std::io::Result<()> {
    let errors = problems.iter().filter(|p| p.is_error()).count();
    let warnings = problems.len() - errors;
    if problems.is_empty() {
        return Ok(());
    }
    let mut parts = Vec::new();
    if errors > 0 {
        parts.push(format!(
            "{errors} row{} not greeted",
            if errors == 1 { "" } else { "s" }
        ));
    }
    if warnings > 0 {
        parts.push(format!(
            "{warnings} warning{}",
            if warnings == 1 { "" } else { "s" }
        ));
    }
    writeln!(err, "{file}: {}:", parts.join(", "))?;
    for p in problems.iter().take(shown) {
        writeln!(err, "  {p}")?;
    }
    if problems.len() > shown {
        writeln!(
            err,
            "  … and {} more; `greet check` lists them all",
            problems.len() - shown
        )?;
    }
    Ok(())
}

/// "3 greetings", "1 greeting".
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Greetings that went out in another language than the customer's, because
/// the template for it is missing: (template, wanted, used) → how many.
#[derive(Debug, Default)]
pub struct Fallbacks(std::collections::BTreeMap<(String, String, String), usize>);

impl Fallbacks {
    pub fn add(&mut self, template: &str, wanted: &str, used: &str) {
        *self
            .0
            .entry((template.to_string(), wanted.to_string(), used.to_string()))
            .or_default() += 1;
    }

    /// "3 greetings in el instead of he: no christmas.he.txt", one line each.
    pub fn lines(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|((template, wanted, used), n)| {
                format!(
                    "{} in {used} instead of {wanted}: no {template}.{wanted}.txt",
                    count(*n, "greeting", "greetings")
                )
            })
            .collect()
    }
}
