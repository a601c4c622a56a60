//! `greet schedule --print cron|systemd`: the daily run of every dated
//! occasion (`send --due --yes --quiet --catch-up N`), at a time of day in
//! the business's time zone, with absolute paths so it runs from anywhere.
//!
//! Two runs cannot overlap whatever the scheduler does: `send` takes the
//! ledger's lock, and a second run exits 4 ("try later") at once.
//!
//! **Quoting.** Each scheduler reads its line its own way, so each gets its
//! own quoting, tested over awkward paths (spaces, `%`, `$`, quotes,
//! backslashes, Greek, Hebrew and Armenian letters, emoji):
//! - systemd `WorkingDirectory=` and `EnvironmentFile=` take the path as it
//!   stands, unquoted; only `%` (a specifier) is doubled, and a path ending
//!   in a space or a backslash (which systemd would strip, or read as a line
//!   continuation) gets a trailing `/`, which systemd drops again.
//! - systemd `ExecStart=` words are double-quoted when they need it, with
//!   `\\`, `\"` and C escapes for control characters; `%` is doubled (a
//!   specifier) and `$` too (an environment variable).
//! - cron hands the command to `sh`, so each word is single-quoted for the
//!   shell; then every `%` becomes `\%`, because cron turns a bare `%` into
//!   a line break and feeds the rest to the command's input.
//!
//! A path holding a line break fits neither (both read one line per entry):
//! it is refused, exit 2.
//!
//! **The SMTP password.** A scheduled run does not see the owner's shell, so
//! with `password_env = "VAR"` both schedules read `VAR` from `greet.env`
//! beside greet.toml (mode 0600): systemd with `EnvironmentFile=`, cron by
//! sourcing it (`set -a && . FILE && set +a`). One file serves both, and
//! greet itself reads the password exactly as it does from a terminal.
//! (systemd's `LoadCredential=` keeps a secret out of the environment, but
//! cron has nothing like it and greet would need a second way to read the
//! password; `password_file` is the way to keep it out of the environment,
//! and needs nothing here.)
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::Timelike;

use super::load_config;
use crate::cli::{Cli, ScheduleArgs, Scheduler};
use crate::config::{Config, PasswordSource, TransportKind};
use crate::exit::{Exit, Halt};
use crate::problem::{Problem, line_col};

/// The file beside greet.toml holding `VAR=…` for the scheduled run.
pub const ENV_FILE: &str = "greet.env";

/// Where the scheduled run gets the SMTP password from, if it needs one.
enum Secret<'a> {
    /// No SMTP login (or no password named: the config check says so).
    None,
    /// `password_file`: a 0600 file the run reads itself.
    File(&'a Path),
    /// `password_env = "VAR"`: the scheduler must put VAR in the environment.
    Env(&'a str),
    /// `auth = "oauth2"`: the sign-in `greet login` keeps in a 0600 file.
    Token(&'a Path),
}

fn secret(config: &Config) -> Secret<'_> {
    let TransportKind::Smtp(smtp) = &config.transport.kind else {
        return Secret::None;
    };
    if let Some(oauth) = &smtp.oauth {
        return Secret::Token(&oauth.token_file);
    }
    // As `transport::password` reads it (the config names one source).
    match &smtp.password {
        PasswordSource::Env(var) => Secret::Env(var),
        PasswordSource::File(file) => Secret::File(file),
        PasswordSource::None => Secret::None,
    }
}

/// The path as UTF-8 text on one line, or why it cannot be scheduled.
fn schedulable(path: &Path) -> anyhow::Result<&str> {
    let text = path.to_str().ok_or_else(|| {
        Halt::invalid(format!(
            "{}: the path is not valid UTF-8, so it cannot be written into a schedule; rename the folder",
            path.display()
        ))
    })?;
    if text.contains(['\n', '\r']) {
        return Err(Halt::invalid(format!(
            "{text:?}: the path holds a line break, and cron and systemd read one line per entry; rename the folder to schedule it"
        )));
    }
    Ok(text)
}

/// An absolute path for systemd's `WorkingDirectory=` or `EnvironmentFile=`,
/// which take it unquoted and unescaped: only specifiers (`%`) are expanded.
/// systemd strips trailing blanks and reads a trailing backslash as a line
/// continuation, so such a path ends in a `/` (which systemd drops again).
fn systemd_path(path: &str) -> String {
    debug_assert!(path.starts_with('/') && !path.contains(['\n', '\r']));
    let mut value = path.replace('%', "%%");
    if value.ends_with(|c: char| c.is_whitespace() || c == '\\') {
        value.push('/');
    }
    value
}

/// One word of systemd's `ExecStart=`: double-quoted when it needs it, with
/// `\\`, `\"` and C escapes for control characters; `%` (specifiers) and `$`
/// (environment variables) are doubled, quoted or not.
fn systemd_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c));
    if plain {
        return word.to_string();
    }
    let mut out = String::from("\"");
    for c in word.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One word for a POSIX shell: single-quoted unless it is plainly safe.
fn sh_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// A shell command line (made of [`sh_word`]s) as cron's command field.
///
/// cron turns every `%` not preceded by a backslash into a line break (the
/// rest of the line becomes the command's input) and removes the backslash
/// of `\%`; any other backslash stays, but escapes the character after it.
/// So `%` is written `\%`, and where the text already has an escaping
/// backslash right before a `%` (a path ending in `\` before a `%`), an
/// empty `''` goes between them. That is always inside a single-quoted word
/// (the only place [`sh_word`] leaves a backslash before anything but a
/// quote), where `''` closes and reopens the quotes and adds nothing.
fn cron_command(shell: &str) -> String {
    let mut out = String::with_capacity(shell.len() + 8);
    let mut escaping = false;
    for c in shell.chars() {
        match c {
            '%' => {
                if escaping {
                    out.push_str("''");
                }
                out.push_str(r"\%");
                escaping = false;
            }
            '\\' => {
                out.push('\\');
                escaping = !escaping;
            }
            c => {
                out.push(c);
                escaping = false;
            }
        }
    }
    out
}

/// Is this binary a cargo build (`…/target/debug/greet`), which the next
/// `cargo clean` or build removes, rather than an installed one?
fn in_cargo_target(exe: &Path) -> bool {
    let dirs: Vec<&str> = exe.parent().map_or_else(Vec::new, |p| {
        p.components()
            .rev()
            .take(3)
            .map(|c| c.as_os_str().to_str().unwrap_or(""))
            .collect()
    });
    // target/<profile>/greet, or target/<triple>/<profile>/greet.
    match dirs[..] {
        [profile, "target", ..] | [profile, _, "target"] => profile != "bin",
        _ => false,
    }
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    std::fs::canonicalize(p).with_context(|| format!("cannot find {}", p.display()))
}

/// Write a file so that it is either complete or absent: a temp sibling, renamed.
fn write_whole(path: &Path, text: &str) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "schedule".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow::Error::new(e).context(format!("cannot write {}", path.display()))
    })
}

pub fn run(cli: &Cli, args: &ScheduleArgs) -> anyhow::Result<Exit> {
    let config = load_config(&cli.config)?;
    let exe = absolute(&std::env::current_exe()?)?;
    let config_path = absolute(&cli.config)?;
    let dir = config_path
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let env_file = dir.join(ENV_FILE);
    let (exe_text, config_text, dir_text) = (
        schedulable(&exe)?,
        schedulable(&config_path)?,
        schedulable(&dir)?,
    );
    let env_text = schedulable(&env_file)?;
    let secret = secret(&config);
    let tz = config.time_zone;
    let (h, m) = (args.at.hour(), args.at.minute());
    let dated: Vec<&str> = config
        .occasions
        .values()
        .filter(|o| o.kind.is_dated())
        .map(|o| o.name.as_str())
        .collect();
    let what = if dated.is_empty() {
        "(no dated occasion in the config yet)".to_string()
    } else {
        dated.join(", ")
    };
    let catch_up = args.catch_up.to_string();
    let argv = [
        exe_text,
        "--config",
        config_text,
        "--quiet",
        "send",
        "--due",
        "--yes",
        "--catch-up",
        &catch_up,
    ];
    let secret_note = match secret {
        Secret::Env(var) => format!(
            "# {var} (the SMTP password) is read from {env_text}: create it with mode 0600\n\
             # holding the line {var}='…' (`greet check` checks it).\n"
        ),
        Secret::File(file) => format!(
            "# The SMTP password is read from {} (mode 0600): nothing else to set up.\n",
            absolute(file)
                .unwrap_or_else(|_| file.to_path_buf())
                .display()
                .to_string()
                .replace(['\n', '\r'], "?")
        ),
        Secret::Token(file) => format!(
            "# The mailbox sign-in is read from {} (mode 0600, kept by `greet login`): nothing else to set up.\n",
            absolute(file)
                .unwrap_or_else(|_| file.to_path_buf())
                .display()
                .to_string()
                .replace(['\n', '\r'], "?")
        ),
        Secret::None => String::new(),
    };

    let files: Vec<(&str, String)> = match args.print {
        Scheduler::Cron => {
            let mut shell = format!("cd {} && ", sh_word(dir_text));
            if let Secret::Env(_) = secret {
                shell.push_str(&format!("set -a && . {} && set +a && ", sh_word(env_text)));
            }
            let words: Vec<String> = argv.iter().map(|a| sh_word(a)).collect();
            shell.push_str("exec ");
            shell.push_str(&words.join(" "));
            vec![(
                "crontab",
                format!(
                    "# greet: the daily greetings ({what}) at {h:02}:{m:02} {tz}.\n\
                     # Install: `crontab -e` and paste these lines. cron mails the output: the summary,\n\
                     # and why a run stopped. Exit 0 all sent; 3 some failed, deferred or uncertain;\n\
                     # 4 nothing sent for now (server down, throttled, another run): the next run catches up.\n\
                     # CRON_TZ makes cronie read the time in {tz}; Debian's and Ubuntu's cron ignore it\n\
                     # and read the machine's zone (set it to {tz}, or use the systemd timer).\n\
                     {secret_note}\
                     CRON_TZ={tz}\n\
                     {m} {h} * * * {}\n",
                    cron_command(&shell)
                ),
            )]
        }
        Scheduler::Systemd => {
            let exec: Vec<String> = argv.iter().map(|a| systemd_word(a)).collect();
            let env_line = match secret {
                Secret::Env(_) => format!("EnvironmentFile={}\n", systemd_path(env_text)),
                _ => String::new(),
            };
            vec![
                (
                    "greet.service",
                    format!(
                        "# greet.service: send today's greetings ({what}) once.\n\
                         # Exit 0 all sent; 3 some failed, deferred or uncertain; 4 nothing sent for now.\n\
                         # Both 3 and 4 show as failed in `systemctl --user status greet`;\n\
                         # `journalctl --user -u greet` has the summary.\n\
                         {secret_note}\
                         [Unit]\n\
                         Description=greet: today's greetings ({what})\n\
                         Wants=network-online.target\n\
                         After=network-online.target\n\
                         \n\
                         [Service]\n\
                         Type=oneshot\n\
                         WorkingDirectory={}\n\
                         {env_line}\
                         ExecStart={}\n\
                         # SIGTERM lets the message in hand finish and be recorded.\n\
                         KillSignal=SIGTERM\n\
                         TimeoutStopSec=90\n",
                        systemd_path(dir_text),
                        exec.join(" ")
                    ),
                ),
                (
                    "greet.timer",
                    format!(
                        "# greet.timer: every day at {h:02}:{m:02} in {tz}. Persistent=true runs a missed\n\
                         # day's run at boot; --catch-up {} sends up to {} missed days as belated.\n\
                         [Unit]\n\
                         Description=greet: daily greetings at {h:02}:{m:02} {tz}\n\
                         \n\
                         [Timer]\n\
                         OnCalendar=*-*-* {h:02}:{m:02}:00 {tz}\n\
                         Persistent=true\n\
                         Unit=greet.service\n\
                         \n\
                         [Install]\n\
                         WantedBy=timers.target\n",
                        args.catch_up, args.catch_up
                    ),
                ),
            ]
        }
    };

    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        for (name, text) in &files {
            write_whole(&out.join(name), text)?;
        }
    }
    let many = files.len() > 1;
    for (name, text) in &files {
        if many {
            println!("# ==> {name} <==");
        }
        print!("{text}");
        if many {
            println!();
        }
    }
    if !cli.quiet {
        if in_cargo_target(&exe) {
            eprintln!(
                "warning: the schedule runs {exe_text}, a cargo build that `cargo clean` removes; install greet (`cargo install --locked --path .`) and print the schedule with the installed greet"
            );
        }
        match secret {
            Secret::Env(var) => {
                let problems = env_file_problems(&env_file, var);
                if problems.is_empty() {
                    eprintln!("the scheduled run reads {var} from {env_text} (mode 0600): ready");
                } else {
                    for p in &problems {
                        eprintln!("warning: {p}");
                    }
                    eprintln!(
                        "cron and systemd do not see your shell's environment: create {env_text}, readable by you only, holding the line\n  {var}='your SMTP password'\nfor example: install -m 600 /dev/null {} and edit it; `greet check` checks it",
                        sh_word(env_text)
                    );
                }
            }
            Secret::File(file) => eprintln!(
                "the scheduled run reads the SMTP password from {} (mode 0600), as every run does: nothing else to set up",
                absolute(file)
                    .unwrap_or_else(|_| file.to_path_buf())
                    .display()
            ),
            Secret::Token(file) => eprintln!(
                "the scheduled run signs in with {} (mode 0600, kept by `greet login`), as every run does: nothing else to set up",
                absolute(file)
                    .unwrap_or_else(|_| file.to_path_buf())
                    .display()
            ),
            Secret::None => {}
        }
    }
    Ok(Exit::Ok)
}

/// Does this env file give `var` a value? Read as both systemd's
/// `EnvironmentFile=` and `sh` read `VAR=value` lines (`sh` allows no blank
/// around the `=`). Never returns the value.
fn env_file_sets(text: &str, var: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("export ").unwrap_or(line);
        line.split_once('=').is_some_and(|(key, value)| {
            let value = value.trim_end();
            let unquoted = ["'", "\""].iter().fold(value, |v, q| {
                v.strip_prefix(q)
                    .and_then(|v| v.strip_suffix(q))
                    .unwrap_or(v)
            });
            key == var && !value.starts_with(char::is_whitespace) && !unquoted.is_empty()
        })
    })
}

/// What keeps the scheduled run from reading `var` in `file`: missing,
/// unreadable, not setting it, or open to other users. Never shows the value.
fn env_file_problems(file: &Path, var: &str) -> Vec<String> {
    let shown = file.display();
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return vec![format!(
                "the scheduled run cannot see {var}: {shown} does not exist; create it with mode 0600 holding the line {var}='…'"
            )];
        }
        Err(e) => {
            return vec![format!(
                "the scheduled run cannot see {var}: cannot read {shown}: {e}"
            )];
        }
    };
    let mut problems = Vec::new();
    if !env_file_sets(&text, var) {
        problems.push(format!(
            "the scheduled run cannot see {var}: {shown} does not set it; add the line {var}='…'"
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(file)
            && meta.permissions().mode() & 0o077 != 0
        {
            problems.push(format!(
                "{shown} holds the SMTP password and other users can open it; run `chmod 600 {}`",
                sh_word(&shown.to_string())
            ));
        }
    }
    problems
}

/// Where `password_env` is set in greet.toml (line, column of the key).
fn password_env_at(config_path: &Path) -> Option<(u64, u64)> {
    #[derive(serde::Deserialize)]
    struct Located {
        transport: Option<LocatedTransport>,
    }
    #[derive(serde::Deserialize)]
    struct LocatedTransport {
        password_env: Option<toml::Spanned<String>>,
    }
    let text = std::fs::read_to_string(config_path).ok()?;
    let located: Located = toml::from_str(&text).ok()?;
    let value = located.transport?.password_env?.span().start;
    let key = text[..value].rfind("password_env").unwrap_or(value);
    Some(line_col(&text, key))
}

/// `greet check`: would a scheduled run (cron or systemd, as `greet
/// schedule` prints them) see the SMTP password? With `password_env`, that
/// needs `greet.env` beside greet.toml, setting the variable, mode 0600.
/// Warnings located at `password_env` in greet.toml; the secret is never shown.
pub fn scheduled_secret_problems(config: &Config) -> Vec<Problem> {
    let Secret::Env(var) = secret(config) else {
        return Vec::new();
    };
    let dir = config.path.parent().unwrap_or(Path::new(""));
    let at = password_env_at(&config.path);
    env_file_problems(&dir.join(ENV_FILE), var)
        .into_iter()
        .map(|message| {
            let p = Problem::warning(config.path.display().to_string(), message);
            match at {
                Some((line, col)) => p.at(line, Some(col)),
                None => p,
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "../../tests/shared/cron.rs"]
mod cron;

#[cfg(test)]
mod tests {
    use super::*;

    /// Folder names that have broken schedules, or could: every one must
    /// come back whole through each scheduler's reading.
    const AWKWARD: &[&str] = &[
        "/srv/greet",
        "/home/marina/my shop",
        "/home/μαρίνα/Φούρνος της Μαρίνας",
        "/home/שרה/מאפייה",
        "/home/նարեկ/Փուռ",
        "/srv/100%",
        "/srv/%d%%%n",
        "/srv/$HOME/${USER}",
        "/srv/it's",
        "/srv/\"quoted\"",
        r"/srv/back\slash",
        r"/srv/ends in backslash\",
        r"/srv/back\%percent",
        r"/srv/\\%\\\%",
        "/srv/trailing space ",
        "/srv/semi;colon/;",
        "/srv/#hash",
        "/srv/star*?[a]",
        "/srv/a&b|c>d<e",
        "/srv/-dash/--config",
        "/srv/🎂 cake",
        "/srv/tab\there",
        "/srv/ctrl\u{1}char",
        "/srv/`id`/$(id)",
        "/srv/~tilde",
        "/srv/ ",
    ];

    /// How systemd reads an unquoted path setting: blanks stripped at the
    /// ends, `%%` → `%`, a trailing `/` dropped.
    fn systemd_reads_path(value: &str) -> String {
        let value = value.trim_matches([' ', '\t']);
        let mut path = value.replace("%%", "%");
        if path.len() > 1 && path.ends_with('/') {
            path.pop();
        }
        path
    }

    /// How systemd splits and unquotes `ExecStart=` (systemd.service(5)):
    /// words split at blanks, double quotes group, C escapes inside them,
    /// then `%%` → `%` and `$$` → `$`.
    fn systemd_reads_words(line: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut chars = line.chars().peekable();
        loop {
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            if chars.peek().is_none() {
                return words;
            }
            let mut word = String::new();
            let mut quoted = false;
            while let Some(c) = chars.next() {
                match c {
                    '"' => quoted = !quoted,
                    ' ' if !quoted => break,
                    '\\' => match chars.next().unwrap() {
                        'x' => {
                            let hex: String = [chars.next().unwrap(), chars.next().unwrap()]
                                .into_iter()
                                .collect();
                            word.push(char::from(u8::from_str_radix(&hex, 16).unwrap()));
                        }
                        e => word.push(e),
                    },
                    c => word.push(c),
                }
            }
            words.push(word.replace("%%", "%").replace("$$", "$"));
        }
    }

    #[test]
    fn systemd_path_settings_read_back_as_the_same_path() {
        for path in AWKWARD {
            let value = systemd_path(path);
            assert_eq!(systemd_reads_path(&value), *path, "{value}");
            assert!(!value.ends_with('\\') && !value.ends_with(' '), "{value}");
            assert_eq!(value.matches('%').count(), 2 * path.matches('%').count());
        }
    }

    #[test]
    fn systemd_exec_words_read_back_as_the_same_words() {
        for path in AWKWARD {
            let words = [*path, "--config", "x", ""];
            let line: Vec<String> = words.iter().map(|w| systemd_word(w)).collect();
            let line = line.join(" ");
            assert_eq!(systemd_reads_words(&line), words, "{line}");
            assert!(!line.chars().any(|c| c.is_ascii_control()), "{line:?}");
        }
    }

    #[test]
    fn plain_words_stay_unquoted_and_special_ones_are_quoted() {
        assert_eq!(systemd_word("/usr/bin/greet"), "/usr/bin/greet");
        assert_eq!(systemd_word("--catch-up"), "--catch-up");
        assert_eq!(systemd_word("/srv/my shop"), "\"/srv/my shop\"");
        assert_eq!(systemd_word("100%"), "\"100%%\"");
        assert_eq!(systemd_word("$HOME"), "\"$$HOME\"");
        assert_eq!(systemd_word(";"), "\";\"");
        assert_eq!(sh_word("/usr/bin/greet"), "/usr/bin/greet");
        assert_eq!(sh_word("/home/μαρίνα/my shop"), "'/home/μαρίνα/my shop'");
        assert_eq!(sh_word("it's"), r"'it'\''s'");
        assert_eq!(systemd_path("/srv/my shop"), "/srv/my shop");
        assert_eq!(systemd_path("/srv/a "), "/srv/a /");
    }

    /// The words `sh` makes of a command line, by running it.
    fn sh_reads(command: &str) -> Vec<String> {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s\\0' {command}"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{command}");
        let mut words: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .split('\0')
            .map(str::to_string)
            .collect();
        words.pop();
        words
    }

    #[test]
    fn cron_lines_reach_the_shell_as_the_same_words() {
        use super::cron::cron_reads;
        for path in AWKWARD {
            let words = [*path, "--config", &format!("{path}/greet.toml"), "%"];
            let shell: Vec<String> = words.iter().map(|w| sh_word(w)).collect();
            let field = cron_command(&shell.join(" "));
            let (command, input) = cron_reads(&field);
            assert_eq!(input, None, "cron would cut {field}");
            assert_eq!(sh_reads(&command), words, "{field}");
        }
    }

    #[test]
    fn cron_escapes_percent_even_after_a_backslash() {
        assert_eq!(cron_command("date +%F"), r"date +\%F");
        assert_eq!(cron_command(r"'a\%'"), r"'a\''\%'");
        assert_eq!(cron_command(r"'a\\%'"), r"'a\\\%'");
    }

    #[test]
    fn paths_with_line_breaks_or_not_utf8_are_refused() {
        for bad in ["/srv/a\nb", "/srv/a\rb", "/srv/\n"] {
            let err = schedulable(Path::new(bad)).unwrap_err();
            assert_eq!(Exit::for_error(&err), Exit::Invalid);
            assert!(err.to_string().contains("line break"), "{err}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let path = Path::new(std::ffi::OsStr::from_bytes(b"/srv/\xff"));
            let err = schedulable(path).unwrap_err();
            assert!(err.to_string().contains("not valid UTF-8"), "{err}");
        }
        for good in AWKWARD {
            assert_eq!(schedulable(Path::new(good)).unwrap(), *good);
        }
    }

    #[test]
    fn a_binary_in_a_cargo_target_folder_is_told_apart_from_an_installed_one() {
        for (exe, built) in [
            ("/home/m/greet/target/debug/greet", true),
            ("/home/m/greet/target/release/greet", true),
            (
                "/home/m/greet/target/x86_64-unknown-linux-gnu/release/greet",
                true,
            ),
            ("/home/m/.cargo/bin/greet", false),
            ("/usr/local/bin/greet", false),
            ("/srv/target/bin/greet", false),
            ("/srv/target/x/bin/greet", false),
            ("/greet", false),
        ] {
            assert_eq!(in_cargo_target(Path::new(exe)), built, "{exe}");
        }
    }

    #[test]
    fn an_env_file_sets_a_variable_only_with_a_value() {
        let var = "GREET_SMTP_PASSWORD";
        for (text, sets) in [
            ("GREET_SMTP_PASSWORD=s3cret\n", true),
            ("GREET_SMTP_PASSWORD='p a s s'\n", true),
            ("export GREET_SMTP_PASSWORD=\"x\"", true),
            ("# c\n\n  GREET_SMTP_PASSWORD=x\n", true),
            ("GREET_SMTP_PASSWORD = x\n", false),
            ("GREET_SMTP_PASSWORD= x\n", false),
            ("GREET_SMTP_PASSWORD=\n", false),
            ("GREET_SMTP_PASSWORD=''\n", false),
            ("# GREET_SMTP_PASSWORD=x\n", false),
            ("OTHER=x\n", false),
            ("GREET_SMTP_PASSWORD_OLD=x\n", false),
            ("", false),
        ] {
            assert_eq!(env_file_sets(text, var), sets, "{text:?}");
        }
    }
}
