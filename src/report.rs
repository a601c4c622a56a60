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
