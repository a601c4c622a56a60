//! `greet schedule`: the cron line and the systemd units it prints, run as
//! the scheduler would run them.
use std::process::Command;

use crate::support::{Run, Shop};

fn schedule(shop: &Shop, args: &[&str]) -> String {
    let mut all = vec!["schedule"];
    all.extend_from_slice(args);
    shop.run(&all).expect(0).stdout()
}

/// Run a command line with `sh -c`, in the shop's scrubbed environment, on 14 March.
fn run_as_scheduler(shop: &Shop, line: &str) -> Run {
    let env = shop.command(&[]);
    Run(Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir("/")
        .env_clear()
        .envs(env.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .env("GREET_NOW", "2026-03-14T09:00:00+02:00")
        .output()
        .unwrap())
}

fn outbox(shop: &Shop) -> usize {
    std::fs::read_dir(shop.path("outbox")).map_or(0, |d| d.count())
}

#[test]
fn the_cron_line_runs_every_dated_occasion_daily_at_the_time_in_the_business_zone() {
    let shop = Shop::samples();
    let text = schedule(&shop, &["--print", "cron", "--at", "07:45"]);
    assert!(text.lines().any(|l| l == "CRON_TZ=Europe/Athens"), "{text}");
    let job = text
        .lines()
        .find(|l| !l.starts_with('#') && !l.starts_with("CRON_TZ") && !l.is_empty())
        .unwrap();
    let fields: Vec<&str> = job.splitn(6, ' ').collect();
    assert_eq!(&fields[..5], ["45", "7", "*", "*", "*"], "{job}");
    let command = fields[5];
    assert!(
        command.contains("send --due --yes --catch-up 3"),
        "{command}"
    );
    // Run it as cron would (from /, with sh): today's four greetings, once.
    let first = run_as_scheduler(&shop, command).expect(0);
    assert!(first.stderr().contains("sent 4"), "{}", first.stderr());
    assert_eq!(outbox(&shop), 4);
    let again = run_as_scheduler(&shop, command).expect(0);
    assert!(
        again.stderr().contains("sent 0 · already greeted 4"),
        "{}",
        again.stderr()
    );
    assert_eq!(outbox(&shop), 4);
}

/// `[Section]` → key → value, from a unit file.
fn unit(text: &str) -> std::collections::BTreeMap<(String, String), String> {
    let mut section = String::new();
    let mut map = std::collections::BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_string();
        } else if let Some((k, v)) = line.split_once('=') {
            map.insert((section.clone(), k.to_string()), v.to_string());
        }
    }
    map
}

#[test]
fn the_systemd_units_run_daily_persistently_in_the_business_zone() {
    let shop = Shop::samples();
    schedule(&shop, &["--print", "systemd", "--out", "units"]);
    let service = unit(&shop.read("units/greet.service"));
    let timer = unit(&shop.read("units/greet.timer"));
    let get = |m: &std::collections::BTreeMap<(String, String), String>, s: &str, k: &str| {
        m.get(&(s.to_string(), k.to_string()))
            .cloned()
            .unwrap_or_else(|| panic!("[{s}] {k} missing"))
    };
    assert_eq!(
        get(&timer, "Timer", "OnCalendar"),
        "*-*-* 09:00:00 Europe/Athens"
    );
    assert_eq!(get(&timer, "Timer", "Persistent"), "true");
    assert_eq!(get(&timer, "Install", "WantedBy"), "timers.target");
    assert_eq!(get(&service, "Service", "Type"), "oneshot");
    let exec = get(&service, "Service", "ExecStart");
    assert!(exec.ends_with("send --due --yes --catch-up 3"), "{exec}");

    // The service's command does what it says.
    run_as_scheduler(&shop, &exec).expect(0);
    assert_eq!(outbox(&shop), 4);

    // Where systemd is installed, it checks the units and the calendar itself.
    let Ok(verify) = Command::new("systemd-analyze")
        .arg("verify")
        .arg(shop.path("units/greet.service"))
        .arg(shop.path("units/greet.timer"))
        .output()
    else {
        eprintln!("systemd-analyze not installed: the parse checks above stand alone");
        return;
    };
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    let cal = Command::new("systemd-analyze")
        .args(["calendar", "*-*-* 09:00:00 Europe/Athens"])
        .output()
        .unwrap();
    assert!(cal.status.success());
    assert!(String::from_utf8_lossy(&cal.stdout).contains("Next elapse"));
}
