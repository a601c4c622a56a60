//! `greet schedule`: the cron line and the systemd units it prints, read by
//! the scheduler's own rules and run as the scheduler would run them — for
//! shops in folders whose names have broken schedules before.
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cron::cron_reads;
use crate::smtp_server::SmtpServer;
use crate::support::{Run, Shop};

/// Folder names with spaces, `%` (a cron line break, a systemd specifier),
/// `$`, quotes, backslashes, shell syntax, a leading dash, a trailing space
/// or backslash, and Greek, Hebrew, Armenian letters and emoji.
const FOLDERS: &[&str] = &[
    "my shop %d $HOME 'x' Μαρίνα",
    "שרה & Նարեկ; #1 *? |>",
    r#"-dash "dq" `id` $(id) 100%\%%"#,
    "🎂 ends in a backslash\\",
    "trailing space ",
];

/// The sample shop moved into `tmp/<folder>` inside its temp dir; returns
/// the folder (canonical, as `schedule` prints it).
fn shop_in(folder: &str) -> (Shop, PathBuf) {
    let shop = Shop::samples();
    let dir = shop.path("tmp").join(folder);
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["greet.toml", "customers.csv", "templates"] {
        std::fs::rename(shop.path(f), dir.join(f)).unwrap();
    }
    let dir = std::fs::canonicalize(dir).unwrap();
    (shop, dir)
}

/// `greet --config <dir>/greet.toml args…`, from the shop's temp dir.
fn greet_in(shop: &Shop, dir: &Path, args: &[&str]) -> Run {
    let config = dir.join("greet.toml");
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    shop.run(&all)
}

fn outbox(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("outbox")).map_or(0, |d| d.count())
}

/// The scheduled run sent 14 March's four greetings into the shop in `dir`.
fn sent_the_days_four(run: &Run, dir: &Path, what: &str) {
    assert_eq!(run.sent(), 4, "{what}: {}", run.stderr());
    assert_eq!(outbox(dir), 4, "{what}");
}

/// The shop's scrubbed environment, on 14 March (four greetings due).
fn scheduler_env(shop: &Shop) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    let env = shop.command(&[]);
    let mut vars: Vec<_> = env
        .get_envs()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned())))
        .collect();
    vars.retain(|(k, _)| k != "GREET_NOW");
    vars.push(("GREET_NOW".into(), "2026-03-14T09:00:00+02:00".into()));
    vars
}

/// The crontab's job: its five time fields and its command field.
fn cron_job(text: &str) -> (Vec<String>, String) {
    let job = text
        .lines()
        .find(|l| !l.starts_with('#') && !l.starts_with("CRON_TZ") && !l.is_empty())
        .unwrap_or_else(|| panic!("no job line in\n{text}"));
    let fields: Vec<&str> = job.splitn(6, ' ').collect();
    (
        fields[..5].iter().map(|f| f.to_string()).collect(),
        fields[5].to_string(),
    )
}

/// Run a cron command field as cron does: its `%` processing, then `sh -c`
/// from `/` with a scrubbed environment.
fn run_as_cron(shop: &Shop, field: &str) -> Run {
    let (command, input) = cron_reads(field);
    assert_eq!(input, None, "cron would cut the command at a %: {field}");
    Run(Command::new("sh")
        .arg("-c")
        .arg(&command)
        .current_dir("/")
        .env_clear()
        .envs(scheduler_env(shop))
        .output()
        .unwrap())
}

#[test]
fn the_cron_line_runs_every_dated_occasion_daily_at_the_time_in_the_business_zone() {
    let shop = Shop::samples();
    let text = shop
        .run(&["schedule", "--print", "cron", "--at", "07:45"])
        .expect(0)
        .stdout();
    assert!(text.lines().any(|l| l == "CRON_TZ=Europe/Athens"), "{text}");
    let (time, command) = cron_job(&text);
    assert_eq!(time, ["45", "7", "*", "*", "*"], "{text}");
    assert!(
        command.ends_with("send --due --yes --catch-up 3"),
        "{command}"
    );
    // Run it as cron would (from /, with sh): today's four greetings, once.
    let dir = std::fs::canonicalize(shop.dir.path()).unwrap();
    let first = run_as_cron(&shop, &command).expect(0);
    sent_the_days_four(&first, &dir, "cron");
    let again = run_as_cron(&shop, &command).expect(0);
    assert_eq!(again.summary(), "sent 0 · already greeted 4");
    assert_eq!(outbox(&dir), 4);
}

#[test]
fn the_cron_line_sends_from_a_folder_whatever_its_name_holds() {
    for folder in FOLDERS {
        let (shop, dir) = shop_in(folder);
        let text = greet_in(&shop, &dir, &["schedule", "--print", "cron"])
            .expect(0)
            .stdout();
        let (_, command) = cron_job(&text);
        let run = run_as_cron(&shop, &command).expect(0);
        sent_the_days_four(&run, &dir, &format!("{folder}: {command}"));
    }
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

/// A service unit as systemd itself read it.
#[derive(Debug)]
struct ServiceAsRead {
    working_directory: String,
    environment_files: Vec<String>,
    /// ExecStart's words, as the process receives them.
    argv: Vec<String>,
}

/// The systemd manager. Tests that need systemd are
/// `#[cfg_attr(greet_no_systemd, ignore = …)]`: ignored where the build found
/// no systemd-analyze or manager (see build.rs), except under CI, which
/// installs them — there their absence fails the test here.
fn systemd() -> PathBuf {
    let manager = ["/usr/lib/systemd/systemd", "/lib/systemd/systemd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    let analyze = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    match manager {
        Some(m) if analyze => m,
        _ => panic!("systemd (systemd-analyze) is missing: .ci/run installs the systemd package"),
    }
}

/// `systemd-analyze verify` on the printed units: systemd's own check.
fn verify(units: &[PathBuf]) {
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(units)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One word of the `Command Line:` systemd dumps: double-quoted when it
/// needs it, `\` before `"`, `\`, `` ` `` and `$`, C escapes for control characters.
fn dumped_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    while chars.peek().is_some() {
        let mut word = String::new();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match c {
                '"' => quoted = !quoted,
                ' ' if !quoted => break,
                '\\' => match chars.next().unwrap() {
                    't' => word.push('\t'),
                    'n' => word.push('\n'),
                    d @ '0'..='7' => {
                        let octal: String = [d, chars.next().unwrap(), chars.next().unwrap()]
                            .into_iter()
                            .collect();
                        word.push(char::from(u8::from_str_radix(&octal, 8).unwrap()));
                    }
                    e => word.push(e),
                },
                c => word.push(c),
            }
        }
        words.push(word);
    }
    words
}

/// Load the service with the systemd manager in test mode (`systemd --test
/// --user`, which loads units, dumps them as parsed and exits, running
/// nothing) and read back its working directory, environment files and
/// command. The manager refuses test mode as root, so as root it runs as
/// nobody (setpriv, from util-linux), on a world-readable copy of the unit.
fn systemd_reads(manager: &Path, service: &Path) -> ServiceAsRead {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let units = tempfile::tempdir().unwrap();
    let runtime = tempfile::tempdir().unwrap();
    let copy = units.path().join("greet.service");
    std::fs::copy(service, &copy).unwrap();
    for (p, mode) in [(units.path(), 0o755), (copy.as_path(), 0o644)] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let root = std::fs::metadata(&copy).unwrap().uid() == 0;
    let mut cmd = if root {
        std::os::unix::fs::chown(runtime.path(), Some(65534), Some(65534)).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(manager);
        c
    } else {
        Command::new(manager)
    };
    let out = cmd
        .args(["--test", "--user", "--unit=greet.service", "--no-pager"])
        .current_dir("/")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/")
        .env("XDG_RUNTIME_DIR", runtime.path())
        .env("SYSTEMD_UNIT_PATH", format!("{}:", units.path().display()))
        .output()
        .unwrap();
    let dump = String::from_utf8_lossy(&out.stdout);
    let section: Vec<&str> = dump
        .lines()
        .skip_while(|l| l.trim() != "-> Unit greet.service:")
        .skip(1)
        .take_while(|l| !l.trim_start().starts_with("-> Unit "))
        .collect();
    assert!(
        !section.is_empty(),
        "systemd --test did not load greet.service: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        dump
    );
    let value = |key: &str| -> Vec<String> {
        section
            .iter()
            .filter_map(|l| l.trim_start().strip_prefix(key))
            .map(str::to_string)
            .collect()
    };
    let [working_directory] = &value("WorkingDirectory: ")[..] else {
        panic!("no WorkingDirectory in {section:#?}")
    };
    let [command] = &value("Command Line: ")[..] else {
        panic!("not one command in {section:#?}")
    };
    ServiceAsRead {
        working_directory: working_directory.clone(),
        environment_files: value("EnvironmentFile: "),
        // systemd turns `$$` into `$` when it starts the process.
        argv: dumped_words(command)
            .iter()
            .map(|w| w.replace("$$", "$"))
            .collect(),
    }
}

/// Start the service's command as systemd would: in its working directory,
/// with the environment files' variables (`VAR=value` or `VAR='value'`).
fn run_as_systemd(shop: &Shop, read: &ServiceAsRead) -> Run {
    let mut env = scheduler_env(shop);
    for file in &read.environment_files {
        let text = std::fs::read_to_string(file).unwrap();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            if let Some((k, v)) = line.split_once('=') {
                env.push((k.into(), v.trim_matches('\'').into()));
            }
        }
    }
    Run(Command::new(&read.argv[0])
        .args(&read.argv[1..])
        .current_dir(&read.working_directory)
        .env_clear()
        .envs(env)
        .output()
        .unwrap())
}

fn exe() -> String {
    std::fs::canonicalize(env!("CARGO_BIN_EXE_greet"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn the_systemd_units_run_daily_persistently_in_the_business_zone() {
    let shop = Shop::samples();
    shop.run(&["schedule", "--print", "systemd", "--out", "units"])
        .expect(0);
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
}

#[test]
#[cfg_attr(
    greet_no_systemd,
    ignore = "needs systemd (systemd-analyze and /usr/lib/systemd/systemd; apt install systemd)"
)]
fn systemd_itself_accepts_the_printed_units_and_their_service_sends_the_days_greetings() {
    let shop = Shop::samples();
    shop.run(&["schedule", "--print", "systemd", "--out", "units"])
        .expect(0);
    let manager = systemd();
    verify(&[
        shop.path("units/greet.service"),
        shop.path("units/greet.timer"),
    ]);
    let cal = Command::new("systemd-analyze")
        .args(["calendar", "*-*-* 09:00:00 Europe/Athens"])
        .output()
        .unwrap();
    assert!(cal.status.success());
    assert!(String::from_utf8_lossy(&cal.stdout).contains("Next elapse"));
    // The service's command, as systemd reads it, does what it says.
    let read = systemd_reads(&manager, &shop.path("units/greet.service"));
    run_as_systemd(&shop, &read).expect(0);
    assert_eq!(outbox(shop.dir.path()), 4);
}

#[test]
#[cfg_attr(
    greet_no_systemd,
    ignore = "needs systemd (systemd-analyze and /usr/lib/systemd/systemd; apt install systemd)"
)]
fn the_systemd_service_runs_in_a_folder_whatever_its_name_holds() {
    let manager = systemd();
    for folder in FOLDERS {
        let (shop, dir) = shop_in(folder);
        greet_in(
            &shop,
            &dir,
            &["schedule", "--print", "systemd", "--out", "units"],
        )
        .expect(0);
        let service = shop.path("units/greet.service");
        verify(&[service.clone(), shop.path("units/greet.timer")]);
        let read = systemd_reads(&manager, &service);
        let config = dir.join("greet.toml").display().to_string();
        assert_eq!(
            read.working_directory,
            dir.display().to_string(),
            "{folder}"
        );
        assert_eq!(
            read.argv,
            [
                exe().as_str(),
                "--config",
                &config,
                "--quiet",
                "send",
                "--due",
                "--yes",
                "--catch-up",
                "3"
            ],
            "{folder}"
        );
        assert!(read.environment_files.is_empty(), "{folder}");
        let run = run_as_systemd(&shop, &read).expect(0);
        sent_the_days_four(&run, &dir, folder);
    }
}

#[test]
fn a_folder_whose_path_holds_a_line_break_is_refused() {
    let (shop, dir) = shop_in("two\nlines");
    for print in ["cron", "systemd"] {
        let out = greet_in(
            &shop,
            &dir,
            &["schedule", "--print", print, "--out", "units"],
        )
        .expect(2);
        assert!(out.stderr().contains("line break"), "{}", out.stderr());
        assert_eq!(out.stdout(), "");
    }
    assert!(!shop.path("units").join("greet.service").exists());
}

const PASSWORD_VAR: &str = "GREET_TEST_SMTP_PASSWORD";
const SECRET: &str = "s3cret-Μαρίνα";

/// A shop in an awkward folder that logs in to an SMTP server with
/// `password_env`. The test server offers no STARTTLS, so a run that got
/// the password connects and then stops (exit 4); one without it stops
/// before connecting.
fn smtp_shop(folder: &str) -> (Shop, PathBuf, SmtpServer) {
    let (shop, dir) = shop_in(folder);
    let server = SmtpServer::start();
    let config = dir.join("greet.toml");
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "kind = \"file\"\ndir = \"outbox\"",
        &format!(
            "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {}\nusername = \"greet\"\npassword_env = \"{PASSWORD_VAR}\"\ntimeout = 5",
            server.port
        ),
        1,
    );
    std::fs::write(&config, text).unwrap();
    (shop, dir, server)
}

/// The run had the password (greet reads it before it connects), reached
/// the server, and stopped there because the server offers no STARTTLS.
fn got_past_the_password(run: &Run, server: &SmtpServer) {
    assert_eq!(server.connections(), 1, "{}", run.stderr());
    assert_ne!(run.code(), 0);
    assert!(
        run.stderr().contains("does not offer STARTTLS") && !run.stderr().contains(PASSWORD_VAR),
        "{}",
        run.stderr()
    );
}

fn write_env_file(dir: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let file = dir.join("greet.env");
    std::fs::write(&file, text).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn the_cron_line_reads_the_smtp_password_from_the_private_env_file() {
    let (shop, dir, server) = smtp_shop(FOLDERS[0]);
    let env_file = dir.join("greet.env").display().to_string();
    let printed = greet_in(&shop, &dir, &["schedule", "--print", "cron"]).expect(0);
    // Without the file: schedule says what to create (never a password).
    assert!(
        printed.stderr().contains(&format!("create {env_file}"))
            && printed.stderr().contains(&format!("{PASSWORD_VAR}='")),
        "{}",
        printed.stderr()
    );
    let (_, command) = cron_job(&printed.stdout());
    let missing = run_as_cron(&shop, &command);
    assert_ne!(missing.code(), 0);
    assert!(
        missing.stderr().contains("greet.env"),
        "{}",
        missing.stderr()
    );
    assert_eq!(server.connections(), 0, "ran without its password");

    write_env_file(&dir, &format!("{PASSWORD_VAR}='{SECRET}'\n"), 0o600);
    let again = greet_in(&shop, &dir, &["schedule", "--print", "cron"]).expect(0);
    assert!(again.stderr().contains("ready"), "{}", again.stderr());
    let run = run_as_cron(&shop, &command);
    got_past_the_password(&run, &server);
}

#[test]
#[cfg_attr(
    greet_no_systemd,
    ignore = "needs systemd (systemd-analyze and /usr/lib/systemd/systemd; apt install systemd)"
)]
fn the_systemd_service_reads_the_smtp_password_from_the_private_env_file() {
    let manager = systemd();
    let (shop, dir, server) = smtp_shop(FOLDERS[2]);
    write_env_file(&dir, &format!("{PASSWORD_VAR}='{SECRET}'\n"), 0o600);
    greet_in(
        &shop,
        &dir,
        &["schedule", "--print", "systemd", "--out", "units"],
    )
    .expect(0);
    let service = shop.path("units/greet.service");
    verify(std::slice::from_ref(&service));
    let read = systemd_reads(&manager, &service);
    assert_eq!(
        read.environment_files,
        [dir.join("greet.env").display().to_string()]
    );
    let run = run_as_systemd(&shop, &read);
    got_past_the_password(&run, &server);
}

#[test]
fn check_warns_when_a_scheduled_run_could_not_see_the_password_and_never_shows_it() {
    let (shop, dir, _server) = smtp_shop(FOLDERS[1]);
    let config = dir.join("greet.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    let key = text.find("password_env").unwrap();
    let line = text[..key].lines().count() + 1;
    let at = format!("{}:{line}:1: warning: ", config.display());
    let env_file = dir.join("greet.env").display().to_string();
    let check = |env: Option<(&str, u32)>| -> String {
        if let Some((text, mode)) = env {
            write_env_file(&dir, text, mode);
        }
        // The owner's own shell has the password (else check fails: send
        // could not run either); the question is the scheduled run's.
        let config = dir.join("greet.toml");
        let out = Run(shop
            .command(&["--config", config.to_str().unwrap(), "check"])
            .env(PASSWORD_VAR, "typed-in-this-shell")
            .output()
            .unwrap())
        .expect(0)
        .stdout();
        assert!(!out.contains(SECRET), "{out}");
        out
    };
    for (env, says) in [
        (None, format!("{env_file} does not exist")),
        (
            Some(("OTHER=x\n", 0o600)),
            format!("{env_file} does not set it"),
        ),
        (
            Some((&format!("{PASSWORD_VAR} = '{SECRET}'\n") as &str, 0o600)),
            format!("{env_file} does not set it"),
        ),
        (
            Some((&format!("{PASSWORD_VAR}='{SECRET}'\n") as &str, 0o644)),
            "other users can open it; run `chmod 600".to_string(),
        ),
    ] {
        let out = check(env);
        assert!(
            out.lines().any(|l| l.starts_with(&at) && l.contains(&says)),
            "expected {at}…{says} in\n{out}"
        );
    }
    write_env_file(&dir, &format!("{PASSWORD_VAR}='{SECRET}'\n"), 0o600);
    let fine = check(None);
    assert!(!fine.contains("greet.env"), "{fine}");
}

#[test]
fn with_a_password_file_schedule_says_nothing_more_is_needed() {
    let (shop, dir, _server) = smtp_shop(FOLDERS[0]);
    let config = dir.join("greet.toml");
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        &format!("password_env = \"{PASSWORD_VAR}\""),
        "password_file = \"smtp-password\"",
        1,
    );
    std::fs::write(&config, text).unwrap();
    for print in ["cron", "systemd"] {
        let out = greet_in(&shop, &dir, &["schedule", "--print", print]).expect(0);
        assert!(
            out.stderr().contains("nothing else to set up"),
            "{}",
            out.stderr()
        );
        assert!(!out.stdout().contains("greet.env"), "{}", out.stdout());
    }
}
