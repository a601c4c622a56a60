//! A real browser looks at the HTML greetings: `tests/browser/check_html.py`
//! loads the Hebrew, Greek and Armenian birthday greetings of the sample shop
//! in headless Chromium (with no network), screenshots them, and measures that
//! the Hebrew salutation sits on the right of its cell and the others on the
//! left.
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use crate::support::{REPO, Shop};

const CHROMIUM: &str = "/usr/bin/chromium";
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

#[test]
fn hebrew_greek_and_armenian_html_lay_out_in_a_browser() {
    if !Path::new(CHROMIUM).is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser check: .ci/run installs chromium"
        );
        eprintln!("skipped: chromium is not installed");
        return;
    }
    let shop = Shop::samples();
    let out_dir = shop.path("browser");
    let mut check = Command::new("python3");
    check
        .arg(Path::new(REPO).join("tests/browser/check_html.py"))
        .arg(env!("CARGO_BIN_EXE_greet"))
        .arg(shop.dir.path())
        .arg("--out")
        .arg(&out_dir)
        .arg("--chromium")
        .arg(CHROMIUM)
        .current_dir(shop.dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LANG", "C.UTF-8");
    // greet runs in the shop with the environment every other test gives it.
    for (key, value) in shop.command(&[]).get_envs() {
        if let Some(value) = value {
            let mut pair = OsString::from(key);
            pair.push("=");
            pair.push(value);
            check.arg("--env").arg(pair);
        }
    }
    let out = check.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "check_html.py: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    println!("{stdout}");
    for lang in ["el", "he", "hy"] {
        assert!(
            stdout.contains(&format!("{lang}: ok ")),
            "no result for {lang}:\n{stdout}"
        );
        let png = out_dir.join(format!("{lang}.png"));
        let data = std::fs::read(&png)
            .unwrap_or_else(|e| panic!("{}: {e}\n--- stdout\n{stdout}", png.display()));
        assert!(
            data.starts_with(PNG_SIGNATURE) && data.len() > 4096,
            "{} is not a screenshot ({} bytes)",
            png.display(),
            data.len()
        );
    }
}
