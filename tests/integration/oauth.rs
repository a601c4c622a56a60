//! `auth = "oauth2"` end to end, as the owner uses it: `greet login` against a
//! real OAuth 2.0 authorization server (oidc-provider, on 127.0.0.1), then
//! `greet send` to an SMTP server that takes only `AUTH XOAUTH2` and checks
//! each token with that authorization server. See `oauth_servers.rs`.
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;

use crate::oauth_servers::{
    ACCOUNT, CLIENT, GOOGLE_LIKE_CLIENT, GOOGLE_LIKE_SECRET, OAuthServer, SCOPES, XoauthSmtp,
};
use crate::support::{Run, Shop};

const TOKEN_FILE: &str = "secrets/token.json";

/// The test authorization server with these knobs, and the folder of its log.
fn auth_server(env: &[(&str, &str)]) -> (tempfile::TempDir, OAuthServer) {
    let logs = tempfile::tempdir().unwrap();
    let server = OAuthServer::start(logs.path(), env);
    (logs, server)
}

/// How `greet login` signs in, in the shop's config.
#[derive(Clone, Copy)]
pub(crate) enum Flow {
    /// The device code, as the public client (Microsoft's way).
    Device,
    /// The browser back to a loopback port, as the client with a secret (Google's way).
    Browser,
}

/// The sample shop sending as [`ACCOUNT`] over STARTTLS, signing in at
/// `server`; its SMTP server is on port 9 (nobody) until [`with_smtp`].
pub(crate) fn oauth_shop(server: &OAuthServer, flow: Flow) -> Shop {
    let shop = Shop::samples();
    let port = 9;
    let scopes = SCOPES
        .split(' ')
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let sign_in = match flow {
        Flow::Device => format!(
            "client_id = \"{CLIENT}\"\noauth_device_url = \"{}\"",
            server.device_url()
        ),
        Flow::Browser => format!(
            "client_id = \"{GOOGLE_LIKE_CLIENT}\"\nclient_secret = \"{GOOGLE_LIKE_SECRET}\"\noauth_authorize_url = \"{}\"",
            server.authorize_url()
        ),
    };
    shop.edit(
        "greet.toml",
        "kind = \"file\"\ndir = \"outbox\"",
        &format!(
            "kind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\nsecurity = \"starttls\"\nca_file = \"smtp/ca.pem\"\ntimeout = 10\nusername = \"{ACCOUNT}\"\nauth = \"oauth2\"\ntoken_file = \"{TOKEN_FILE}\"\n{sign_in}\noauth_token_url = \"{}\"\noauth_scopes = [{scopes}]",
            server.token_url()
        ),
    );
    shop.edit(
        "greet.toml",
        "rate = \"30/minute\"",
        "rate = \"1000/second\"",
    );
    shop
}

/// The XOAUTH2 SMTP server the shop sends to (its certificates and records
/// in the shop's folder `smtp`), checking tokens at `server`.
fn with_smtp(shop: &Shop, server: &OAuthServer, env: &[(&str, &str)]) -> XoauthSmtp {
    let dir = shop.path("smtp");
    std::fs::create_dir_all(&dir).unwrap();
    let smtp = XoauthSmtp::start_with(&dir, &server.introspection_url(), env);
    shop.edit(
        "greet.toml",
        "port = 9\n",
        &format!("port = {}\n", smtp.port),
    );
    smtp
}

/// `greet login`, with `owner` doing what the owner does with what greet
/// shows (the device code, or the address to open). Returns the run.
fn login(shop: &Shop, owner: impl FnOnce(&str)) -> Run {
    let mut child = shop
        .command(&["login"])
        .env("GREET_TEST_OAUTH_POLL_MS", "50")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut shown = String::new();
    let what = loop {
        let mut line = String::new();
        if err.read_line(&mut line).unwrap() == 0 {
            let out = child.wait_with_output().unwrap();
            panic!(
                "greet login ended without a code or an address ({:?}): {shown}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout)
            );
        }
        shown.push_str(&line);
        if let Some(v) = line.strip_prefix("    ") {
            break v.trim().to_string();
        }
    };
    owner(&what);
    err.read_to_string(&mut shown).unwrap();
    let mut out = child.wait_with_output().unwrap();
    out.stderr = shown.into_bytes();
    Run(out)
}

/// `greet login` through the device code, approved by the owner.
pub(crate) fn device_login(shop: &Shop, server: &OAuthServer) -> Run {
    login(shop, |code| server.approve_device(code))
}

/// A list of `n` customers, all born on 14 March.
fn many_birthdays(shop: &Shop, n: usize) {
    let mut csv = String::from("id,email,first_name,last_name,gender,language,birthday\n");
    for i in 0..n {
        csv.push_str(&format!("R{i:03},r{i}@example.gr,Ρένα,Α,f,el,1990-03-14\n"));
    }
    shop.write("customers.csv", &csv);
}

fn send(shop: &Shop) -> Run {
    Run(shop
        .command(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .env("GREET_RETRY_DELAY_MS", "10")
        .output()
        .unwrap())
}

/// The stored sign-in (the token file's JSON).
fn stored(shop: &Shop) -> serde_json::Value {
    serde_json::from_str(&shop.read(TOKEN_FILE)).unwrap()
}

/// Every token the file has held (access and refresh), for the "never shown" checks.
fn tokens_of(v: &serde_json::Value) -> Vec<String> {
    ["access_token", "refresh_token"]
        .iter()
        .filter_map(|k| v[k].as_str().map(String::from))
        .collect()
}

fn mode(path: &std::path::Path) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(path).unwrap().permissions()) & 0o777
}

/// The names in the token file's folder.
fn secrets(shop: &Shop) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(shop.path("secrets"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Recipients as the SMTP server received them, each once or more.
fn recipients(smtp: &XoauthSmtp) -> Vec<String> {
    smtp.received()
        .iter()
        .flat_map(|m| m["rcpt"].as_array().unwrap().clone())
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs the test OAuth server: run .ci/run once (npm ci in tests/oauth) and the interop python"
)]
fn login_with_a_device_code_keeps_the_sign_in_owner_only_and_check_renews_it() {
    let (_logs, server) = auth_server(&[]);
    let shop = oauth_shop(&server, Flow::Device);
    let _smtp = with_smtp(&shop, &server, &[]);
    // Before the first sign-in, check says what to do.
    let before = shop.run(&["check"]).expect(2).stdout();
    assert!(
        before.contains("token_file: there is no sign-in yet")
            && before.contains("run `greet login`"),
        "{before}"
    );
    let out = device_login(&shop, &server).expect(0);
    assert!(
        out.stderr().contains(&format!(
            "To sign in to {ACCOUNT}, open {}/device",
            server.issuer
        )),
        "{}",
        out.stderr()
    );
    assert!(
        out.stdout().contains(&format!("signed in to {ACCOUNT}")),
        "{}",
        out.stdout()
    );
    assert_eq!(mode(&shop.path(TOKEN_FILE)), 0o600);
    assert_eq!(secrets(&shop), vec!["token.json"]);
    let first = stored(&shop);
    assert_eq!(first["account"], ACCOUNT);
    let refresh = first["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        server.introspect(first["access_token"].as_str().unwrap())["active"],
        true
    );
    for t in tokens_of(&first) {
        assert!(!out.stdout().contains(&t) && !out.stderr().contains(&t));
    }
    // check renews the sign-in and saves the rotated refresh token.
    let check = shop.run(&["check"]).expect(0).stdout();
    assert!(check.contains("  signed in: "), "{check}");
    assert!(
        check.contains("  sign-in renewed just now: the stored token can be refreshed (new access token good until "),
        "{check}"
    );
    let second = stored(&shop);
    assert_ne!(
        second["refresh_token"].as_str().unwrap(),
        refresh,
        "rotated"
    );
    assert_eq!(
        server.refresh(&refresh).error(),
        "invalid_grant",
        "the old one is spent"
    );
    for t in tokens_of(&first).into_iter().chain(tokens_of(&second)) {
        assert!(!check.contains(&t));
    }
    assert_eq!(mode(&shop.path(TOKEN_FILE)), 0o600);
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs the test OAuth server: run .ci/run once (npm ci in tests/oauth) and the interop python"
)]
fn login_in_a_browser_comes_back_to_greet_on_a_loopback_port_with_pkce_and_the_client_secret() {
    let (_logs, server) = auth_server(&[]);
    let shop = oauth_shop(&server, Flow::Browser);
    let mut page = String::new();
    let out = login(&shop, |address| {
        assert!(address.starts_with(&server.authorize_url()), "{address}");
        let url = url_params(address);
        assert_eq!(url("code_challenge_method"), "S256");
        assert_eq!(url("client_id"), GOOGLE_LIKE_CLIENT);
        assert_eq!(url("scope"), SCOPES);
        assert!(
            url("redirect_uri").starts_with("http://127.0.0.1:"),
            "{address}"
        );
        assert!(
            !address.contains(GOOGLE_LIKE_SECRET),
            "the secret is not in the address"
        );
        page = server.browse(address);
    })
    .expect(0);
    assert!(page.contains("Signed in."), "{page}");
    assert!(
        out.stdout().contains(&format!("signed in to {ACCOUNT}")),
        "{}",
        out.stdout()
    );
    let s = stored(&shop);
    assert_eq!(s["client_id"], GOOGLE_LIKE_CLIENT);
    assert_eq!(
        server.introspect(s["access_token"].as_str().unwrap())["active"],
        true
    );
    assert_eq!(mode(&shop.path(TOKEN_FILE)), 0o600);
}

/// A query parameter of `address`, decoded.
fn url_params(address: &str) -> impl Fn(&str) -> String {
    let url = url::Url::parse(address).unwrap();
    move |name| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    }
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs the test OAuth server: run .ci/run once (npm ci in tests/oauth) and the interop python"
)]
fn a_declined_or_expired_sign_in_saves_nothing() {
    let (_logs, server) = auth_server(&[]);
    let shop = oauth_shop(&server, Flow::Device);
    let out = login(&shop, |code| server.deny_device(code)).expect(1);
    assert!(
        out.stderr()
            .contains("the sign-in was declined; nothing was saved"),
        "{}",
        out.stderr()
    );
    assert!(secrets(&shop).is_empty(), "{:?}", secrets(&shop));
    // A code nobody enters before it expires.
    let (_logs, server) = auth_server(&[("DEVICE_TTL", "1")]);
    let shop = oauth_shop(&server, Flow::Device);
    let out = login(&shop, |_| ()).expect(1);
    assert!(
        out.stderr()
            .contains("the code expired before the sign-in was finished; run `greet login` again"),
        "{}",
        out.stderr()
    );
    assert!(secrets(&shop).is_empty(), "{:?}", secrets(&shop));
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs the test OAuth server: run .ci/run once (npm ci in tests/oauth) and the interop python"
)]
fn hundreds_of_greetings_go_out_once_while_the_token_expires_and_is_refreshed_mid_run() {
    // Access tokens live 2 s; the server takes 40 messages per connection,
    // so greet signs in again every 40 greetings, each time with a token
    // that is still good (refreshed before it expires, or once more when
    // the server refuses it). Strict rotation: a refresh token used twice
    // would revoke the sign-in, so every rotated one must have been saved.
    let (_logs, server) = auth_server(&[("ACCESS_TTL", "2"), ("ROTATION", "strict")]);
    let shop = oauth_shop(&server, Flow::Device);
    let smtp = with_smtp(&shop, &server, &[("MAX_PER_CONNECTION", "40")]);
    let n = 300;
    many_birthdays(&shop, n);
    shop.edit(
        "greet.toml",
        "rate = \"1000/second\"",
        "rate = \"60/second\"",
    );
    device_login(&shop, &server).expect(0);
    let signed_in = stored(&shop);
    let mut greet = shop
        .command(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // While it runs: no token on its command line.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", greet.id())).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline).into_owned();
    assert!(cmdline.contains("send"), "{cmdline}");
    let mut seen = tokens_of(&signed_in);
    seen.extend(tokens_of(&stored(&shop)));
    for t in &seen {
        assert!(!cmdline.contains(t.as_str()));
    }
    let mut err = String::new();
    greet
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = greet.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains(&format!("sent {n}")), "{err}");
    let mut got = recipients(&smtp);
    got.sort();
    let mut want: Vec<String> = (0..n).map(|i| format!("r{i}@example.gr")).collect();
    want.sort();
    assert_eq!(got, want, "every greeting once");
    let auths = smtp.auth_attempts();
    assert!(auths.len() >= n / 40, "{} sign-ins", auths.len());
    let tokens: std::collections::BTreeSet<_> = auths
        .iter()
        .filter(|a| a["ok"] == true)
        .map(|a| a["token_sha256"].as_str().unwrap().to_string())
        .collect();
    assert!(
        tokens.len() >= 2,
        "the token was refreshed during the run: {auths:?}"
    );
    assert!(auths.iter().all(|a| a["user"] == ACCOUNT));
    // Nothing secret reached the output or the ledger.
    seen.extend(tokens_of(&stored(&shop)));
    let ledger = std::fs::read(shop.path("greet-ledger.sqlite")).unwrap_or_default();
    let ledger = String::from_utf8_lossy(&ledger);
    assert!(!ledger.is_empty());
    for t in &seen {
        assert!(!err.contains(t.as_str()) && !ledger.contains(t.as_str()));
    }
    // The sign-in is still good: the latest refresh token was saved.
    assert_eq!(
        server
            .refresh(stored(&shop)["refresh_token"].as_str().unwrap())
            .status,
        200
    );
}

/// The ledger through `greet history`.
fn history(shop: &Shop) -> String {
    shop.run(&["history"]).expect(0).stdout()
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs the test OAuth server: run .ci/run once (npm ci in tests/oauth) and the interop python"
)]
fn a_revoked_sign_in_stops_the_run_before_anything_is_marked_and_a_new_login_sends_every_greeting_once()
 {
    let (_logs, server) = auth_server(&[]);
    let shop = oauth_shop(&server, Flow::Device);
    let smtp = with_smtp(&shop, &server, &[]);
    device_login(&shop, &server).expect(0);
    server.revoke_all();
    let out = send(&shop).expect(4);
    let said = out.stderr();
    assert!(
        said.contains("refuses the stored sign-in (invalid_grant"),
        "{said}"
    );
    assert!(said.contains("run `greet login` to sign in"), "{said}");
    assert!(smtp.received().is_empty());
    // The stored access token (revoked too) may be offered once; the
    // refresh that follows is refused, and no token is taken.
    let auths = smtp.auth_attempts();
    assert!(
        auths.len() <= 1 && auths.iter().all(|a| a["ok"] == false),
        "{auths:?}"
    );
    let h = history(&shop);
    assert!(!h.contains("failed") && !h.contains("sent"), "{h}");
    // check says the same, with where the token file is named.
    let check = shop.run(&["check"]).expect(4).stdout();
    assert!(
        check.contains("token_file: the stored sign-in cannot be renewed: ")
            && check.contains("run `greet login`"),
        "{check}"
    );
    // Signed in again: every greeting goes out once.
    device_login(&shop, &server).expect(0);
    let out = send(&shop).expect(0);
    assert!(out.stderr().contains("sent 3"), "{}", out.stderr());
    let mut got = recipients(&smtp);
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 3);
    assert_eq!(smtp.received().len(), 3);
    send(&shop).expect(0);
    assert_eq!(smtp.received().len(), 3, "a rerun sends nothing");
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs the test OAuth server: run .ci/run once (npm ci in tests/oauth) and the interop python"
)]
fn a_token_file_others_can_read_is_refused_before_anything_is_touched() {
    let (_logs, server) = auth_server(&[]);
    let shop = oauth_shop(&server, Flow::Device);
    let smtp = with_smtp(&shop, &server, &[]);
    device_login(&shop, &server).expect(0);
    let before = shop.read(TOKEN_FILE);
    for m in [0o644, 0o640, 0o604, 0o660] {
        std::fs::set_permissions(
            shop.path(TOKEN_FILE),
            std::os::unix::fs::PermissionsExt::from_mode(m),
        )
        .unwrap();
        let out = send(&shop).expect(2);
        let text = shop.read("greet.toml");
        let line = text
            .lines()
            .position(|l| l.starts_with("token_file ="))
            .unwrap()
            + 1;
        assert!(
            out.stderr()
                .contains(&format!("greet.toml:{line}:14: [transport] token_file: ")),
            "{m:o}: {}",
            out.stderr()
        );
        assert!(out.stderr().contains("chmod 600"), "{}", out.stderr());
        assert!(
            !shop.path("greet-ledger.sqlite").exists(),
            "{m:o}: no ledger"
        );
        shop.run(&["check"]).expect(2);
    }
    assert!(smtp.auth_attempts().is_empty() && smtp.received().is_empty());
    assert_eq!(shop.read(TOKEN_FILE), before, "nothing refreshed either");
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs the test OAuth server: run .ci/run once (npm ci in tests/oauth) and the interop python"
)]
#[cfg_attr(
    all(not(greet_no_oauth), not(feature = "test-hooks")),
    ignore = "needs --features test-hooks (the README's test command)"
)]
fn a_crash_while_saving_a_rotated_token_keeps_the_old_sign_in_whole_and_usable() {
    // Microsoft's way (lenient rotation): each refresh brings a new refresh
    // token and the old one stays good. greet dies after writing the new
    // one to its temporary file, before the rename: the token file is the
    // old one, byte for byte, and the next run signs in with it.
    let (_logs, server) = auth_server(&[("ACCESS_TTL", "1"), ("ROTATION", "lenient")]);
    let shop = oauth_shop(&server, Flow::Device);
    let smtp = with_smtp(&shop, &server, &[]);
    device_login(&shop, &server).expect(0);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let before = shop.read(TOKEN_FILE);
    let crashed = shop
        .command(&["send", "birthday", "--date", "2026-03-14", "--yes"])
        .env("GREET_TEST_CRASH_SAVING_TOKEN", "1")
        .output()
        .unwrap();
    assert_eq!(
        crashed.status.code(),
        None,
        "killed by the abort: {crashed:?}"
    );
    assert_eq!(shop.read(TOKEN_FILE), before, "the old sign-in, whole");
    assert!(smtp.received().is_empty());
    let out = send(&shop).expect(0);
    assert!(out.stderr().contains("sent 3"), "{}", out.stderr());
    assert_eq!(smtp.received().len(), 3);
    assert_ne!(
        shop.read(TOKEN_FILE),
        before,
        "the rotated one is saved now"
    );
    assert_eq!(
        secrets(&shop),
        vec!["token.json"],
        "the half-saved file is gone"
    );
    assert_eq!(mode(&shop.path(TOKEN_FILE)), 0o600);
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs the test OAuth server: run .ci/run once (npm ci in tests/oauth) and the interop python"
)]
fn a_token_the_server_refuses_is_refreshed_once_and_refused_twice_stops_the_run() {
    let (_logs, server) = auth_server(&[]);
    let shop = oauth_shop(&server, Flow::Device);
    let smtp = with_smtp(&shop, &server, &[]);
    device_login(&shop, &server).expect(0);
    // Refused once (the server thinks it expired): a fresh token, and on.
    smtp.set_reject_auth(1);
    let out = send(&shop).expect(0);
    assert!(out.stderr().contains("sent 3"), "{}", out.stderr());
    let auths = smtp.auth_attempts();
    assert_eq!(auths.len(), 2, "{auths:?}");
    assert_eq!(
        (auths[0]["ok"].as_bool(), auths[1]["ok"].as_bool()),
        (Some(false), Some(true))
    );
    assert_ne!(
        auths[0]["token_sha256"], auths[1]["token_sha256"],
        "a new token the second time"
    );
    // Refused twice: stop before anything is marked, try later.
    shop.write("customers.csv", "id,email,first_name,last_name,gender,language,birthday\nX1,x1@example.gr,Ρένα,Α,f,el,1990-03-14\n");
    smtp.set_reject_auth(2);
    let out = send(&shop).expect(4);
    assert!(
        out.stderr()
            .contains("the server refuses the signed-in account's token, fresh or not")
            && out.stderr().contains("run `greet login`"),
        "{}",
        out.stderr()
    );
    assert_eq!(smtp.received().len(), 3);
    assert!(
        !history(&shop).contains("x1@example.gr"),
        "{}",
        history(&shop)
    );
    send(&shop).expect(0);
    assert_eq!(
        recipients(&smtp)
            .iter()
            .filter(|r| *r == "x1@example.gr")
            .count(),
        1
    );
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs the test OAuth server: run .ci/run once (npm ci in tests/oauth) and the interop python"
)]
#[cfg_attr(
    all(not(greet_no_oauth), greet_no_faketime),
    ignore = "needs faketime on PATH (apt install faketime)"
)]
fn a_daily_limit_reached_mid_run_continues_the_next_day_with_the_same_sign_in() {
    let (_logs, server) = auth_server(&[("ACCESS_TTL", "600")]);
    let shop = oauth_shop(&server, Flow::Device);
    let smtp = with_smtp(&shop, &server, &[]);
    many_birthdays(&shop, 7);
    shop.edit(
        "greet.toml",
        "rate = \"1000/second\"",
        "rate = \"1000/second\"\ndaily_limit = 4",
    );
    device_login(&shop, &server).expect(0);
    let first = send(&shop).expect(4);
    assert!(
        first.stderr().contains("daily limit of the account reached (4 in 24 hours; 0 before this run); the next run continues: 3 greetings still due"),
        "{}",
        first.stderr()
    );
    assert_eq!(smtp.received().len(), 4);
    // 25 hours later greet's clock says the stored access token has long
    // expired: it refreshes it and sends the rest.
    let tomorrow = (chrono::Utc::now() + chrono::Duration::hours(25))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let refreshed_before = stored(&shop)["refresh_token"].clone();
    let args = ["send", "birthday", "--date", "2026-03-14", "--yes"];
    let out = Run(shop.faketime_command(&tomorrow, 1, &args).output().unwrap()).expect(0);
    assert!(out.stderr().contains("sent 3"), "{}", out.stderr());
    assert_ne!(
        stored(&shop)["refresh_token"],
        refreshed_before,
        "refreshed"
    );
    let mut got = recipients(&smtp);
    got.sort();
    let mut want: Vec<String> = (0..7).map(|i| format!("r{i}@example.gr")).collect();
    want.sort();
    assert_eq!(got, want, "every greeting once");
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs the test OAuth server: run .ci/run once (npm ci in tests/oauth) and the interop python"
)]
fn the_scheduled_run_needs_nothing_but_the_token_file() {
    let (_logs, server) = auth_server(&[]);
    let shop = oauth_shop(&server, Flow::Device);
    let password = Shop::samples();
    password.edit(
        "greet.toml",
        "kind = \"file\"\ndir = \"outbox\"",
        "kind = \"smtp\"\nhost = \"127.0.0.1\"\nusername = \"shop@example.test\"\npassword_file = \"secrets/pw\"",
    );
    for print in ["cron", "systemd"] {
        let with_oauth = shop.run(&["schedule", "--print", print]).expect(0).stdout();
        let with_file = password
            .run(&["schedule", "--print", print])
            .expect(0)
            .stdout();
        let strip = |s: &str, dir: &std::path::Path| {
            s.replace(&dir.display().to_string(), "DIR")
                .replace(
                    "# The mailbox sign-in is read from secrets/token.json (mode 0600, kept by `greet login`): nothing else to set up.",
                    "# SECRET",
                )
                .replace(
                    "# The SMTP password is read from secrets/pw (mode 0600): nothing else to set up.",
                    "# SECRET",
                )
        };
        let (a, b) = (
            strip(&with_oauth, shop.dir.path()),
            strip(&with_file, password.dir.path()),
        );
        assert!(a.contains("# SECRET"), "{with_oauth}");
        assert_eq!(a, b, "{print}: the same as with a password file");
        assert!(!with_oauth.contains("EnvironmentFile"), "{with_oauth}");
    }
}

#[test]
fn login_is_refused_where_the_config_does_not_sign_in_with_oauth() {
    let shop = Shop::samples();
    let out = shop.run(&["login"]).expect(2);
    assert!(
        out.stderr().contains(
            "`greet login` signs in to an SMTP account, and this transport is kind = \"file\""
        ),
        "{}",
        out.stderr()
    );
    shop.edit(
        "greet.toml",
        "kind = \"file\"\ndir = \"outbox\"",
        "kind = \"smtp\"\nhost = \"127.0.0.1\"\nusername = \"shop@example.test\"\npassword_env = \"GREET_TEST_PW\"",
    );
    let out = shop.run(&["login"]).expect(2);
    assert!(
        out.stderr()
            .contains("`greet login` signs in for auth = \"oauth2\", and this transport logs in with a password"),
        "{}",
        out.stderr()
    );
    let text = shop.read("greet.toml");
    let line = text.lines().position(|l| l == "[transport]").unwrap() + 1;
    assert!(
        out.stderr().contains(&format!("greet.toml:{line}:")),
        "{}",
        out.stderr()
    );
    assert!(!shop.path("secrets").exists());
}
