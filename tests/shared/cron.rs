//! How cron reads a crontab command field — shared by the unit tests of
//! `src/cmd/schedule.rs` and the integration tests, so both test the
//! quoting against one emulation.

/// What cron does to a command field: `\%` → `%`; a bare `%` ends the
/// command (the rest goes to its input); any other backslash stays but
/// escapes the character after it. Returns the command and the input.
pub fn cron_reads(field: &str) -> (String, Option<String>) {
    let mut command = String::new();
    let mut escaped = false;
    for (i, c) in field.char_indices() {
        if escaped {
            if c == '%' {
                command.pop();
            }
            command.push(c);
            escaped = false;
        } else if c == '%' {
            return (command, Some(field[i + 1..].to_string()));
        } else {
            escaped = c == '\\';
            command.push(c);
        }
    }
    (command, None)
}
