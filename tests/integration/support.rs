//! A temporary shop: the repository's samples and templates copied into a
//! temp dir, and the built binary run there with a controlled environment
//! (host TZ deliberately far from Athens, the clock pinned by GREET_NOW).
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// `greet` as `cmd` would run it (its arguments, folder and environment),
/// run by `program` with `program_args` in front: `faketime -f … greet …`.
pub fn under(
    program: impl AsRef<std::ffi::OsStr>,
    program_args: impl IntoIterator<Item = impl AsRef<std::ffi::OsStr>>,
    cmd: &Command,
) -> Command {
    let mut real = Command::new(program);
    real.args(program_args)
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear()
        .envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
    if let Some(dir) = cmd.get_current_dir() {
        real.current_dir(dir);
    }
    real
}

/// A program on PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

pub struct Shop {
    pub dir: tempfile::TempDir,
    pub now: String,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

impl Shop {
    /// The sample shop from `samples/`, with the shipped templates.
    pub fn samples() -> Shop {
        let dir = tempfile::tempdir().unwrap();
        for f in ["greet.toml", "customers.csv"] {
            std::fs::copy(Path::new(REPO).join("samples").join(f), dir.path().join(f)).unwrap();
        }
        copy_dir(
            &Path::new(REPO).join("templates"),
            &dir.path().join("templates"),
        );
        Shop {
            dir,
            now: "2026-12-20T09:00:00+02:00".into(),
        }
    }

    /// The sample config and templates with this customer list.
    pub fn with_customers(csv: &str) -> Shop {
        let shop = Shop::samples();
        shop.write("customers.csv", csv);
        shop
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, content: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Replace text in a file of the shop (e.g. a config value).
    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        assert!(text.contains(from), "{rel} does not contain {from:?}");
        self.write(rel, &text.replacen(from, to, 1));
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_greet"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("TZ", "America/Los_Angeles")
            .env("LANG", "C.UTF-8")
            .env("NO_COLOR", "1")
            .env("GREET_NOW", &self.now);
        cmd
    }

    /// `greet args` under libfaketime, its clock starting at `start` (UTC)
    /// and running `speed` times faster. A test using it is
    /// `#[cfg_attr(greet_no_faketime, ignore = …)]`: ignored where the build
    /// found no faketime on PATH (see build.rs), except under CI, which
    /// installs it — there its absence fails the test here.
    pub fn faketime_command(&self, start: &str, speed: u32, args: &[&str]) -> Command {
        let faketime = on_path("faketime")
            .expect("no faketime on PATH: .ci/run installs it (apt install faketime)");
        let mut greet = self.command(args);
        greet
            .env_remove("GREET_NOW")
            .env("TZ", "UTC")
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
            .env("FAKETIME_NO_CACHE", "1");
        under(
            faketime,
            ["-f".into(), format!("@{start} x{speed}")],
            &greet,
        )
    }

    /// `greet args` on a pseudo-terminal; `answer` is typed at its first
    /// `[y/N]` prompt. Returns the exit code and everything the terminal showed.
    pub fn on_terminal(&self, args: &[&str], answer: &str) -> (i32, String) {
        self.on_terminal_after(args, "", answer)
    }

    /// [`Shop::on_terminal`], running the shell command `before` (in the
    /// shop's folder) once the prompt shows and before answering.
    pub fn on_terminal_after(&self, args: &[&str], before: &str, answer: &str) -> (i32, String) {
        let mut greet = self.command(args);
        if !before.is_empty() {
            greet.env("PTY_BEFORE_ANSWER", before);
        }
        let pty = Path::new(REPO).join("tests/integration/pty.py");
        let out = under("python3", [pty.as_os_str(), answer.as_ref()], &greet)
            .env("TERM", "xterm-256color")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pty.py: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            v["code"].as_i64().unwrap() as i32,
            v["screen"].as_str().unwrap().to_string(),
        )
    }

    /// The .eml files in a folder of the shop, sorted by name.
    pub fn eml_files(&self, dir: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.path(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
    }

    /// `preview OCC --date DATE --format json`, whatever its exit code.
    pub fn preview_run(&self, occasion: &str, date: &str) -> Run {
        self.run(&["preview", occasion, "--date", date, "--format", "json"])
    }

    /// `preview OCC --date DATE --format json`, parsed.
    pub fn preview_json(&self, occasion: &str, date: &str) -> Vec<serde_json::Value> {
        self.preview_run(occasion, date).expect(0).json()
    }

    /// `preview OCC --date DATE --format eml --out DIR`: a batch, as the reviewer makes it.
    pub fn preview_batch(&self, occasion: &str, date: &str, dir: &str) -> Run {
        self.run(&[
            "preview", occasion, "--date", date, "--format", "eml", "--out", dir,
        ])
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().unwrap();
        Run(output)
    }
}

/// What a run of the binary printed, and how it exited.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }
    pub fn stdout(&self) -> String {
        String::from_utf8(self.0.stdout.clone()).unwrap()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8(self.0.stderr.clone()).unwrap()
    }
    /// Assert the exit code, showing both streams when it differs.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code(),
            code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
    /// `send`'s summary: its one stderr line `sent N[ · what n]…`.
    pub fn summary(&self) -> String {
        let err = self.stderr();
        let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("sent ")).collect();
        match lines[..] {
            [line] => line.to_string(),
            _ => panic!("not one summary line in\n{err}"),
        }
    }
    /// How many greetings `send`'s summary says it sent.
    pub fn sent(&self) -> usize {
        let summary = self.summary();
        let n = summary["sent ".len()..].split(' ').next().unwrap();
        n.parse().unwrap_or_else(|e| panic!("{e}: {summary:?}"))
    }
    /// JSON lines from stdout.
    pub fn json(&self) -> Vec<serde_json::Value> {
        self.stdout()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

/// The first name of every greeting with status "due" in JSON preview output.
pub fn due_names(lines: &[serde_json::Value]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l["status"] == "due")
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect()
}

/// A customer list read with the csv crate, one map of column → field per
/// row: what a test derives its expected values from.
pub fn customer_rows(csv_text: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            headers
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// (year, month, day) of a birthday written as the sample lists write
/// them: `YYYY-MM-DD`, `DD/MM/YYYY`, or `--MM-DD` (no year); `None` when
/// empty. Any other form fails the test, so no row is silently left out.
pub fn birthday_parts(field: &str) -> Option<(Option<u32>, u32, u32)> {
    let n = |s: &str| {
        s.parse::<u32>()
            .unwrap_or_else(|e| panic!("{field:?}: {e}"))
    };
    if field.is_empty() {
        None
    } else if let Some(md) = field.strip_prefix("--") {
        let (m, d) = md.split_once('-').unwrap();
        Some((None, n(m), n(d)))
    } else if let [y, m, d] = field.split('-').collect::<Vec<_>>()[..] {
        Some((Some(n(y)), n(m), n(d)))
    } else if let [d, m, y] = field.split('/').collect::<Vec<_>>()[..] {
        Some((Some(n(y)), n(m), n(d)))
    } else {
        panic!("a birthday form the tests do not read: {field:?}")
    }
}

/// A minimal customer list header used by tests that write their own rows.
pub const HEADER: &str =
    "id,email,first_name,last_name,gender,language,birthday,customer_since,opt_out,favourite\n";

/// The interop python (aiosmtpd, dkimpy, dnspython, pynacl): `GREET_INTEROP_PYTHON`,
/// or the venv `.ci/run` makes. Where the build found none, the tests that need it
/// are ignored with that reason (see build.rs); under CI, which sets it up, they
/// run and a missing one fails them here.
pub fn python() -> PathBuf {
    let python = std::env::var_os("GREET_INTEROP_PYTHON").map_or_else(
        || Path::new(REPO).join(".ci/venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        python.exists() || python.components().count() == 1,
        "no interop python at {}: run .ci/run once (it makes .ci/venv with aiosmtpd, dkimpy, dnspython and pynacl), or set GREET_INTEROP_PYTHON",
        python.display()
    );
    python
}

/// `openssl ARGS` in `dir`; its standard output. Fails the test if it fails.
pub fn openssl(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stderr(std::process::Stdio::null())
        .output()
        .expect("openssl (apt install openssl)");
    assert!(out.status.success(), "openssl {args:?}");
    out.stdout
}

/// Set a file's permission bits.
pub fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
