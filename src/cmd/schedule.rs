//! `greet schedule --print cron|systemd`: the daily run of every dated
//! occasion (`send --due --yes --quiet --catch-up N`), at a time of day in
//! the business's time zone, with absolute paths so it runs from anywhere.
//!
//! Two runs cannot overlap whatever the scheduler does: `send` takes the
//! ledger's lock, and a second run exits 4 ("try later") at once.
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::Timelike;

use super::load_config;
use crate::cli::{Cli, ScheduleArgs, Scheduler};
use crate::exit::Exit;

/// Quote a path for a POSIX shell (cron) only when it needs it.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Quote an argument for systemd's ExecStart= only when it needs it.
fn systemd_quote(s: &str) -> String {
    if !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || "\"'\\;$%".contains(c))
    {
        s.to_string()
    } else {
        format!(
            "\"{}\"",
            s.replace('\\', r"\\")
                .replace('"', "\\\"")
                .replace('%', "%%")
                .replace('$', "$$")
        )
    }
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    std::fs::canonicalize(p).with_context(|| format!("cannot find {}", p.display()))
}

pub fn run(cli: &Cli, args: &ScheduleArgs) -> anyhow::Result<Exit> {
    let config = load_config(&cli.config)?;
    let exe = absolute(&std::env::current_exe()?)?;
    let config_path = absolute(&cli.config)?;
    let dir = config_path
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let tz = config.time_zone;
    let (h, m) = (args.at.hour(), args.at.minute());
    let dated: Vec<&str> = config
        .occasions
        .values()
        .filter(|o| {
            use crate::config::OccasionKind::*;
            matches!(o.kind, Birthday | Anniversary | Nameday)
        })
        .map(|o| o.name.as_str())
        .collect();
    let what = if dated.is_empty() {
        "(no dated occasion in the config yet)".to_string()
    } else {
        dated.join(", ")
    };
    let argv = [
        exe.display().to_string(),
        "--config".into(),
        config_path.display().to_string(),
        "--quiet".into(),
        "send".into(),
        "--due".into(),
        "--yes".into(),
        "--catch-up".into(),
        args.catch_up.to_string(),
    ];

    let files: Vec<(&str, String)> = match args.print {
        Scheduler::Cron => {
            let command: Vec<String> = argv.iter().map(|a| sh_quote(a)).collect();
            vec![(
                "crontab",
                format!(
                    "# greet: the daily greetings ({what}) at {h:02}:{m:02} {tz}.\n\
                     # Install: `crontab -e` and paste these lines. cron mails the output: the summary,\n\
                     # and why a run stopped. Exit 0 all sent; 3 some failed, deferred or uncertain;\n\
                     # 4 nothing sent for now (server down, throttled, another run): the next run catches up.\n\
                     # CRON_TZ makes cronie read the time in {tz}; without it, the time is the machine's.\n\
                     CRON_TZ={tz}\n\
                     {m} {h} * * * cd {} && {}\n",
                    sh_quote(&dir.display().to_string()),
                    command.join(" ")
                ),
            )]
        }
        Scheduler::Systemd => {
            let exec: Vec<String> = argv.iter().map(|a| systemd_quote(a)).collect();
            vec![
                (
                    "greet.service",
                    format!(
                        "# greet.service: send today's greetings ({what}) once.\n\
                         # Exit 0 all sent; 3 some failed, deferred or uncertain; 4 nothing sent for now.\n\
                         # Both 3 and 4 show as failed in `systemctl status`; `journalctl -u greet` has the summary.\n\
                         [Unit]\n\
                         Description=greet: today's greetings ({what})\n\
                         Wants=network-online.target\n\
                         After=network-online.target\n\
                         \n\
                         [Service]\n\
                         Type=oneshot\n\
                         WorkingDirectory={}\n\
                         ExecStart={}\n\
                         # SIGTERM lets the message in hand finish and be recorded.\n\
                         KillSignal=SIGTERM\n\
                         TimeoutStopSec=90\n",
                        systemd_quote(&dir.display().to_string()),
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
            let path = out.join(name);
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
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
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_quoted_only_when_needed() {
        assert_eq!(sh_quote("/usr/bin/greet"), "/usr/bin/greet");
        assert_eq!(sh_quote("/home/μαρίνα/my shop"), "'/home/μαρίνα/my shop'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(systemd_quote("/srv/greet"), "/srv/greet");
        assert_eq!(systemd_quote("/srv/my shop"), "\"/srv/my shop\"");
        assert_eq!(systemd_quote("100%"), "\"100%%\"");
    }
}
