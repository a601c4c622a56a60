//! A real browser looks at the HTML greetings: `tests/browser/check_html.py`
//! loads the Hebrew, Greek and Armenian birthday greetings of the sample shop
//! in headless Chromium (with no network), screenshots them, and measures that
//! the Hebrew salutation sits on the right of its cell and the others on the
//! left. `tests/browser/check_review.py` does the same for the review page of
//! the sample shop's Christmas: every due greeting and skipped customer is on
//! it, Hebrew lays out right to left, the search box finds one customer, the
//! summary adds up and nothing is fetched.
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use crate::support::{REPO, Shop};

const CHROMIUM: &str = "/usr/bin/chromium";
const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Whether the browser checks can run here; off CI they skip without
/// chromium, on CI its absence is a failure.
fn chromium_installed() -> bool {
    if Path::new(CHROMIUM).is_file() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the browser check: .ci/run installs chromium"
    );
    eprintln!("skipped: chromium is not installed");
    false
}

/// `python3 tests/browser/<script> GREET SHOP --out OUT_DIR`, with greet run
/// in the shop with the environment every other test gives it; its stdout
/// once it has passed.
fn run_check(script: &str, shop: &Shop, out_dir: &Path) -> String {
    let mut check = Command::new("python3");
    check
        .arg(Path::new(REPO).join("tests/browser").join(script))
        .arg(env!("CARGO_BIN_EXE_greet"))
        .arg(shop.dir.path())
        .arg("--out")
        .arg(out_dir)
        .arg("--chromium")
        .arg(CHROMIUM)
        .current_dir(shop.dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LANG", "C.UTF-8");
    for (key, value) in shop.command(&[]).get_envs() {
        if let Some(value) = value {
            let mut pair = OsString::from(key);
            pair.push("=");
            pair.push(value);
            check.arg("--env").arg(pair);
        }
    }
    let out = check.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script}: {}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    println!("{stdout}");
    stdout
}

/// Panics unless `png` is a PNG of more than `min_bytes`.
fn assert_screenshot(png: &Path, min_bytes: usize, stdout: &str) {
    let data = std::fs::read(png)
        .unwrap_or_else(|e| panic!("{}: {e}\n--- stdout\n{stdout}", png.display()));
    assert!(
        data.starts_with(PNG_SIGNATURE) && data.len() > min_bytes,
        "{} is not a screenshot ({} bytes)",
        png.display(),
        data.len()
    );
}

#[test]
fn hebrew_greek_and_armenian_html_lay_out_in_a_browser() {
    if !chromium_installed() {
        return;
    }
    let shop = Shop::samples();
    let out_dir = shop.path("browser");
    let stdout = run_check("check_html.py", &shop, &out_dir);
    for lang in ["el", "he", "hy"] {
        assert!(
            stdout.contains(&format!("{lang}: ok ")),
            "no result for {lang}:\n{stdout}"
        );
        assert_screenshot(&out_dir.join(format!("{lang}.png")), 4096, &stdout);
    }
}

#[test]
fn the_review_page_shows_every_due_greeting_right_to_left_where_needed_and_offline() {
    if !chromium_installed() {
        return;
    }
    let shop = Shop::samples();
    let out_dir = shop.path("review-browser");
    let stdout = run_check("check_review.py", &shop, &out_dir);
    // The checks themselves are the script's; these say it made them all.
    for line in [
        "offline: 0 remote references",
        "greetings: ",
        "direction: ",
        "search 'sarah.cohen@example.co.il': 1 articles visible",
        "summary: ",
        "csp violations: 0",
        "review: ok ",
    ] {
        assert!(stdout.contains(line), "no {line:?} in:\n{stdout}");
    }
    assert!(
        shop.path("review.html").is_file(),
        "greet wrote no review.html"
    );
    for png in ["review.png", "review-rtl.png"] {
        assert_screenshot(&out_dir.join(png), 10 * 1024, &stdout);
    }
}
