//! The real servers greet's OAuth 2.0 tests run against, started and stopped
//! by the tests, on 127.0.0.1 only:
//! - [`OAuthServer`]: a test authorization server (panva's oidc-provider,
//!   `tests/oauth/server.mjs`, on the Node 22 that `npm ci` installs in
//!   tests/oauth) with the device-code and authorization-code + PKCE flows,
//!   refresh-token rotation (`ROTATION=strict|lenient`), introspection,
//!   revocation, and test-only doors: approve/deny a device code, the owner's
//!   browser ([`OAuthServer::browse`]), revoke every grant.
//!   Knobs (environment, given to [`OAuthServer::start`]): `ACCESS_TTL`,
//!   `REFRESH_TTL`, `DEVICE_TTL` (seconds), `ROTATION`, `DEVICE_INTERVAL`
//!   (announced interval; faster polls get `slow_down`), `ACCOUNT`.
//! - [`XoauthSmtp`]: an SMTP server (aiosmtpd, `tests/interop/xoauth2_server.py`)
//!   with STARTTLS required and `AUTH XOAUTH2` only, which checks the bearer
//!   token by introspection at the test server; knobs `MAX_PER_CONNECTION`
//!   (environment) and [`XoauthSmtp::set_reject_auth`].
//!
//! HTTP from here goes through `tests/oauth/client.py` (the interop python's
//! standard library): the tests have no HTTP client of their own. Both
//! servers are killed and waited for on drop. Where the build found no
//! `npm ci` in tests/oauth (or no interop python/openssl) the tests using
//! them are ignored with the reason (build.rs: `greet_no_oauth`).
#![allow(dead_code)] // the lead's tests use the rest

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::interop::make_certs;
use crate::support::REPO;
pub use crate::support::python;

/// The public client (no secret), as greet registers with Microsoft.
pub const CLIENT: &str = "greet-cli";
/// The client that must send [`GOOGLE_LIKE_SECRET`] (client_secret_post),
/// as Google's "installed app" does.
pub const GOOGLE_LIKE_CLIENT: &str = "greet-google-like";
pub const GOOGLE_LIKE_SECRET: &str = "installed-app-secret";
/// Every scope the test server knows.
pub const SCOPES: &str = "openid offline_access SMTP.Send";
/// The account the owner signs in as (the server's `ACCOUNT` default).
pub const ACCOUNT: &str = "shop@example.test";
/// The grant type of the device flow (RFC 8628).
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The Node 22 `npm ci` installs in tests/oauth.
fn node() -> PathBuf {
    let node = Path::new(REPO).join("tests/oauth/node_modules/.bin/node");
    assert!(
        node.is_file(),
        "no {}: run .ci/run once, or `npm ci` in tests/oauth (needs npm)",
        node.display()
    );
    node
}

/// The first line `child` prints, or a panic with its log.
fn first_line(out: &mut BufReader<ChildStdout>, what: &str, log: &Path) -> String {
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(
        !line.is_empty(),
        "{what} did not start:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
    line.trim().to_string()
}

/// An HTTP answer: its status and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

impl Answer {
    /// The body as JSON (panics, showing it, when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// The OAuth `error` code of a 4xx answer ("" when there is none).
    pub fn error(&self) -> String {
        serde_json::from_str::<Value>(&self.body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// POST an `application/x-www-form-urlencoded` form to `url`, with HTTP
/// Basic `user:pass` when given; any status is returned.
pub fn post_form(url: &str, form: &[(&str, &str)], basic: Option<&str>) -> Answer {
    let mut cmd = Command::new(python());
    cmd.arg(Path::new(REPO).join("tests/oauth/client.py"))
        .args(["post", url]);
    if let Some(basic) = basic {
        cmd.args(["--basic", basic]);
    }
    cmd.args(form.iter().map(|(k, v)| format!("{k}={v}")));
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "POST {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    Answer {
        status: v["status"].as_u64().unwrap() as u16,
        body: v["body"].as_str().unwrap().to_string(),
    }
}

/// The test authorization server (see the module doc). Killed on drop.
pub struct OAuthServer {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:PORT`
    pub issuer: String,
    /// Its log (stderr): grant errors and the like.
    pub log: PathBuf,
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OAuthServer {
    /// Start it on an ephemeral port with these knobs, e.g.
    /// `&[("ACCESS_TTL", "5"), ("ROTATION", "lenient")]`; its log goes to
    /// `dir/oauth_server.log`. Returns once it listens.
    pub fn start(dir: &Path, env: &[(&str, &str)]) -> OAuthServer {
        let log = dir.join("oauth_server.log");
        let mut child = Command::new(node())
            .arg(Path::new(REPO).join("tests/oauth/server.mjs"))
            .current_dir(Path::new(REPO).join("tests/oauth"))
            .env("PORT", "0")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let line = first_line(&mut stdout, "the test OAuth server", &log);
        let port: u16 = line
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from the OAuth server: {line}"));
        OAuthServer {
            child,
            _stdout: stdout,
            issuer: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    pub fn authorize_url(&self) -> String {
        format!("{}/auth", self.issuer)
    }
    pub fn token_url(&self) -> String {
        format!("{}/token", self.issuer)
    }
    pub fn device_url(&self) -> String {
        format!("{}/device/auth", self.issuer)
    }
    pub fn revocation_url(&self) -> String {
        format!("{}/token/revocation", self.issuer)
    }
    pub fn introspection_url(&self) -> String {
        format!("{}/token/introspection", self.issuer)
    }

    /// POST a form to `path` (e.g. "/token") on this server.
    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Answer {
        post_form(&format!("{}{path}", self.issuer), form, None)
    }

    fn test_door(&self, path: &str, form: &[(&str, &str)]) {
        let a = self.post(path, form);
        assert_eq!(a.status, 200, "{path} {form:?}: {}", a.body);
    }

    /// The owner approves `user_code` (dashes and case as shown, or not) on
    /// the verification page, signed in as [`ACCOUNT`].
    pub fn approve_device(&self, user_code: &str) {
        self.test_door("/test/device/approve", &[("user_code", user_code)]);
    }

    /// The owner refuses `user_code`: the next poll gets `access_denied`.
    pub fn deny_device(&self, user_code: &str) {
        self.test_door(
            "/test/device/approve",
            &[("user_code", user_code), ("deny", "1")],
        );
    }

    /// The owner removes the app's access: every grant of [`ACCOUNT`] and all
    /// its tokens are revoked (refresh: `invalid_grant`; introspection: inactive).
    pub fn revoke_all(&self) {
        self.test_door("/test/revoke-all", &[]);
    }

    /// RFC 7662 introspection, as the SMTP server does it.
    pub fn introspect(&self, token: &str) -> Value {
        let a = post_form(
            &self.introspection_url(),
            &[("token", token)],
            Some("smtp-server:smtp-secret"),
        );
        assert_eq!(a.status, 200, "introspection: {}", a.body);
        a.json()
    }

    /// The owner's browser: follows the redirects from `authorize_url`
    /// through the auto-approving sign-in and consent pages (with cookies)
    /// until the redirect to `http://127.0.0.1:<port>/callback?…`, GETs that
    /// (the app's own listener, e.g. `greet login`'s) and returns its body.
    /// Panics when the chain ends anywhere else.
    pub fn browse(&self, authorize_url: &str) -> String {
        let out = Command::new(python())
            .arg(Path::new(REPO).join("tests/oauth/client.py"))
            .args(["browse", authorize_url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "browse {authorize_url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A device authorization for `client` (with `secret` when it needs one)
    /// and [`SCOPES`]: the JSON answer (device_code, user_code, …).
    pub fn device_authorization(&self, client: &str, secret: Option<&str>) -> Value {
        let mut form = vec![("client_id", client), ("scope", SCOPES)];
        if let Some(s) = secret {
            form.push(("client_secret", s));
        }
        let a = self.post("/device/auth", &form);
        assert_eq!(a.status, 200, "device authorization: {}", a.body);
        a.json()
    }

    /// One poll of the token endpoint for `device_code`, as `client`.
    pub fn poll_device(&self, client: &str, secret: Option<&str>, device_code: &str) -> Answer {
        let mut form = vec![
            ("client_id", client),
            ("grant_type", DEVICE_GRANT),
            ("device_code", device_code),
        ];
        if let Some(s) = secret {
            form.push(("client_secret", s));
        }
        self.post("/token", &form)
    }

    /// A refresh at the token endpoint, as the public client.
    pub fn refresh(&self, refresh_token: &str) -> Answer {
        self.post(
            "/token",
            &[
                ("client_id", CLIENT),
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
    }

    /// Tokens for [`ACCOUNT`] through the device flow, as the public client:
    /// the token endpoint's JSON (access_token, refresh_token, expires_in, …).
    pub fn sign_in(&self) -> Value {
        let dev = self.device_authorization(CLIENT, None);
        self.approve_device(dev["user_code"].as_str().unwrap());
        let a = self.poll_device(CLIENT, None, dev["device_code"].as_str().unwrap());
        assert_eq!(a.status, 200, "device token: {}", a.body);
        a.json()
    }
}

/// The XOAUTH2 SMTP server (see the module doc). Killed on drop.
pub struct XoauthSmtp {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    pub port: u16,
    dir: PathBuf,
}

impl Drop for XoauthSmtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl XoauthSmtp {
    /// Start it with STARTTLS (certificate for 127.0.0.1 from a test CA made
    /// in `dir` unless `dir/server.pem` is there already: trust `dir/ca.pem`),
    /// checking tokens at `introspection_url`. Its files go to `dir`.
    pub fn start(dir: &Path, introspection_url: &str) -> XoauthSmtp {
        XoauthSmtp::start_with(dir, introspection_url, &[])
    }

    /// [`XoauthSmtp::start`] with knobs, e.g. `&[("MAX_PER_CONNECTION", "2")]`.
    pub fn start_with(dir: &Path, introspection_url: &str, env: &[(&str, &str)]) -> XoauthSmtp {
        if !dir.join("server.pem").is_file() {
            make_certs(dir);
        }
        // aiosmtpd needs a concrete port: take a free one from the OS.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.join("xoauth2_server.log");
        let mut child = Command::new(python())
            .arg(Path::new(REPO).join("tests/interop/xoauth2_server.py"))
            .arg(port.to_string())
            .arg(dir.join("server.pem"))
            .arg(dir.join("server.key"))
            .arg(dir)
            .arg(introspection_url)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let line = first_line(&mut stdout, "the XOAUTH2 SMTP server", &log);
        assert_eq!(line, "ready");
        XoauthSmtp {
            child,
            _stdout: stdout,
            port,
            dir: dir.to_path_buf(),
        }
    }

    /// The test CA to trust (`ca_file` in greet's config).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn lines(&self, file: &str) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join(file))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Every accepted message: `{"rcpt": [...], "data": "...", "auth": "<user>"}`.
    pub fn received(&self) -> Vec<Value> {
        self.lines("received.jsonl")
    }

    /// Every AUTH attempt: `{"user": ..., "ok": bool, "token_sha256": ...}`.
    pub fn auth_attempts(&self) -> Vec<Value> {
        self.lines("auth.jsonl")
    }

    /// Refuse the next `k` AUTH attempts as an invalid token, even good ones.
    pub fn set_reject_auth(&self, k: u32) {
        let tmp = self.dir.join("reject_auth.tmp");
        std::fs::write(&tmp, format!("{k}\n")).unwrap();
        std::fs::rename(tmp, self.dir.join("reject_auth")).unwrap();
    }
}

/// SHA-256 of a token as [`XoauthSmtp::auth_attempts`] records it (hex).
pub fn token_sha256(token: &str) -> String {
    let out = Command::new(python())
        .args([
            "-c",
            "import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest())",
            token,
        ])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

// ---------------------------------------------------------------------------
// The servers' own tests.

/// An SMTP session by python's smtplib (tests/interop/xoauth2_client.py):
/// STARTTLS trusting the test CA, `AUTH XOAUTH2` as `user` with `token`,
/// then up to `messages` messages; its JSON transcript.
fn smtp_session(smtp: &XoauthSmtp, user: &str, token: &str, messages: u32) -> Value {
    let out = Command::new(python())
        .arg(Path::new(REPO).join("tests/interop/xoauth2_client.py"))
        .arg(smtp.port.to_string())
        .arg(smtp.ca_file())
        .args([user, token, &messages.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn code(step: &Value) -> i64 {
    step[0].as_i64().unwrap()
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs `npm ci` in tests/oauth (run .ci/run once), the interop python with aiosmtpd and openssl"
)]
fn the_device_flow_gives_tokens_that_introspect_as_active_for_both_kinds_of_client() {
    let dir = tempfile::tempdir().unwrap();
    let server = OAuthServer::start(dir.path(), &[]);
    for (client, secret) in [
        (CLIENT, None),
        (GOOGLE_LIKE_CLIENT, Some(GOOGLE_LIKE_SECRET)),
    ] {
        let dev = server.device_authorization(client, secret);
        let device_code = dev["device_code"].as_str().unwrap();
        let user_code = dev["user_code"].as_str().unwrap();
        assert!(
            dev["verification_uri"]
                .as_str()
                .unwrap()
                .starts_with(&server.issuer)
        );
        assert!(dev["expires_in"].as_u64().unwrap() > 0);
        let pending = server.poll_device(client, secret, device_code);
        assert_eq!(
            (pending.status, pending.error()),
            (400, "authorization_pending".into())
        );
        server.approve_device(user_code);
        let tokens = server.poll_device(client, secret, device_code);
        assert_eq!(tokens.status, 200, "{client}: {}", tokens.body);
        let tokens = tokens.json();
        assert_eq!(tokens["token_type"], "Bearer");
        assert_eq!(tokens["scope"], SCOPES);
        assert!(
            tokens["refresh_token"].is_string(),
            "offline_access gives a refresh token"
        );
        let info = server.introspect(tokens["access_token"].as_str().unwrap());
        assert_eq!(info["active"], true, "{info}");
        assert_eq!(info["sub"], ACCOUNT);
        assert_eq!(info["client_id"], client);
        assert!(
            info["scope"]
                .as_str()
                .unwrap()
                .split(' ')
                .any(|s| s == "SMTP.Send")
        );
        // A device code is good for one set of tokens.
        let again = server.poll_device(client, secret, device_code);
        assert_eq!(again.error(), "invalid_grant", "{client}: {}", again.body);
    }
    // The Google-like client must send its secret.
    let a = server.post(
        "/device/auth",
        &[("client_id", GOOGLE_LIKE_CLIENT), ("scope", SCOPES)],
    );
    assert_eq!(
        (a.status, a.error()),
        (401, "invalid_client".into()),
        "{}",
        a.body
    );
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs `npm ci` in tests/oauth (run .ci/run once), the interop python with aiosmtpd and openssl"
)]
fn a_denied_device_code_answers_access_denied_and_an_unapproved_one_expires() {
    let dir = tempfile::tempdir().unwrap();
    let server = OAuthServer::start(dir.path(), &[("DEVICE_TTL", "2")]);
    let denied = server.device_authorization(CLIENT, None);
    let waiting = server.device_authorization(CLIENT, None);
    server.deny_device(denied["user_code"].as_str().unwrap());
    let a = server.poll_device(CLIENT, None, denied["device_code"].as_str().unwrap());
    assert_eq!(
        (a.status, a.error()),
        (400, "access_denied".into()),
        "{}",
        a.body
    );
    std::thread::sleep(Duration::from_millis(2100));
    let a = server.poll_device(CLIENT, None, waiting["device_code"].as_str().unwrap());
    assert_eq!(
        (a.status, a.error()),
        (400, "expired_token".into()),
        "{}",
        a.body
    );
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs `npm ci` in tests/oauth (run .ci/run once), the interop python with aiosmtpd and openssl"
)]
fn polling_a_device_code_faster_than_the_announced_interval_answers_slow_down() {
    let dir = tempfile::tempdir().unwrap();
    let server = OAuthServer::start(dir.path(), &[("DEVICE_INTERVAL", "1")]);
    let dev = server.device_authorization(CLIENT, None);
    assert_eq!(dev["interval"], 1);
    let code = dev["device_code"].as_str().unwrap();
    let poll = || server.poll_device(CLIENT, None, code).error();
    assert_eq!(poll(), "authorization_pending");
    assert_eq!(poll(), "slow_down");
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(poll(), "authorization_pending");
}

/// A one-request loopback listener playing `greet login`'s part: answers
/// `page` and hands back the request's path and query.
fn callback_listener(page: &'static str) -> (u16, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "the browser closed before a request");
            request.extend_from_slice(&buf[..n]);
        }
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
            page.len()
        )
        .unwrap();
        let line = String::from_utf8_lossy(&request)
            .lines()
            .next()
            .unwrap()
            .to_string();
        line.split(' ').nth(1).unwrap().to_string()
    });
    (port, handle)
}

/// The value of `name` in the query of `target` (no percent-decoding needed
/// for the test server's codes and states).
fn query_value(target: &str, name: &str) -> Option<String> {
    target
        .split_once('?')?
        .1
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_string))
}

/// A PKCE verifier and its S256 challenge (computed by python's hashlib).
fn pkce_pair(seed: &str) -> (String, String) {
    let verifier = format!("{seed}-verifier-{}", "x".repeat(43));
    let out = Command::new(python())
        .args([
            "-c",
            "import base64,hashlib,sys; print(base64.urlsafe_b64encode(hashlib.sha256(sys.argv[1].encode()).digest()).rstrip(b'=').decode())",
            &verifier,
        ])
        .output()
        .unwrap();
    (
        verifier,
        String::from_utf8(out.stdout).unwrap().trim().to_string(),
    )
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs `npm ci` in tests/oauth (run .ci/run once), the interop python with aiosmtpd and openssl"
)]
fn the_owner_s_browser_brings_an_authorization_code_to_the_loopback_listener_and_only_the_pkce_verifier_redeems_it()
 {
    let dir = tempfile::tempdir().unwrap();
    let server = OAuthServer::start(dir.path(), &[]);
    for (n, (client, secret)) in [
        (CLIENT, None),
        (GOOGLE_LIKE_CLIENT, Some(GOOGLE_LIKE_SECRET)),
    ]
    .into_iter()
    .enumerate()
    {
        let (port, listener) = callback_listener("signed in: you may close this tab");
        let redirect = format!("http://127.0.0.1:{port}/callback");
        let (verifier, challenge) = pkce_pair(&format!("run{n}"));
        let state = format!("state{n}");
        let url = format!(
            "{}?client_id={client}&response_type=code&redirect_uri={redirect}&scope=openid%20offline_access%20SMTP.Send&state={state}&code_challenge={challenge}&code_challenge_method=S256",
            server.authorize_url()
        );
        let page = server.browse(&url);
        assert_eq!(page, "signed in: you may close this tab");
        let target = listener.join().unwrap();
        assert!(target.starts_with("/callback?"), "{target}");
        assert_eq!(
            query_value(&target, "state").as_deref(),
            Some(state.as_str())
        );
        let code = query_value(&target, "code").unwrap_or_else(|| panic!("no code: {target}"));
        let redeem = |verifier: &str| {
            let mut form = vec![
                ("client_id", client),
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", redirect.as_str()),
                ("code_verifier", verifier),
            ];
            if let Some(s) = secret {
                form.push(("client_secret", s));
            }
            server.post("/token", &form)
        };
        let wrong = redeem(&format!("{verifier}-not"));
        assert_eq!(
            (wrong.status, wrong.error()),
            (400, "invalid_grant".into()),
            "{}",
            wrong.body
        );
        let tokens = redeem(&verifier);
        assert_eq!(tokens.status, 200, "{client}: {}", tokens.body);
        let tokens = tokens.json();
        assert!(
            tokens["refresh_token"].is_string(),
            "offline_access alone gives a refresh token: {tokens}"
        );
        let info = server.introspect(tokens["access_token"].as_str().unwrap());
        assert_eq!(
            (info["active"].clone(), info["sub"].clone()),
            (Value::Bool(true), Value::from(ACCOUNT))
        );
    }
    // Without PKCE the browser comes back with an error, not a code.
    let (port, listener) = callback_listener("error page");
    let url = format!(
        "{}?client_id={CLIENT}&response_type=code&redirect_uri=http://127.0.0.1:{port}/callback&scope=openid&state=s",
        server.authorize_url()
    );
    server.browse(&url);
    let target = listener.join().unwrap();
    assert_eq!(
        query_value(&target, "error").as_deref(),
        Some("invalid_request"),
        "{target}"
    );
    assert_eq!(query_value(&target, "code"), None);
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs `npm ci` in tests/oauth (run .ci/run once), the interop python with aiosmtpd and openssl"
)]
fn strict_rotation_revokes_the_grant_when_an_old_refresh_token_is_reused_and_lenient_keeps_it_valid()
 {
    let dir = tempfile::tempdir().unwrap();
    for rotation in ["strict", "lenient"] {
        let server = OAuthServer::start(dir.path(), &[("ROTATION", rotation)]);
        let first = server.sign_in();
        let old = first["refresh_token"].as_str().unwrap();
        let second = server.refresh(old);
        assert_eq!(second.status, 200, "{rotation}: {}", second.body);
        let second = second.json();
        let new = second["refresh_token"].as_str().unwrap();
        assert_ne!(
            new, old,
            "{rotation}: every refresh rotates the refresh token"
        );
        let reuse = server.refresh(old);
        let new_access = second["access_token"].as_str().unwrap();
        match rotation {
            "strict" => {
                assert_eq!(
                    (reuse.status, reuse.error()),
                    (400, "invalid_grant".into()),
                    "{}",
                    reuse.body
                );
                // ...and the whole grant is gone with it.
                assert_eq!(server.refresh(new).error(), "invalid_grant");
                assert_eq!(server.introspect(new_access)["active"], false);
            }
            _ => {
                assert_eq!(reuse.status, 200, "lenient: {}", reuse.body);
                assert_eq!(server.refresh(new).status, 200);
                assert_eq!(server.introspect(new_access)["active"], true);
            }
        }
    }
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs `npm ci` in tests/oauth (run .ci/run once), the interop python with aiosmtpd and openssl"
)]
fn revoking_all_grants_makes_every_refresh_fail_and_every_token_inactive() {
    let dir = tempfile::tempdir().unwrap();
    let server = OAuthServer::start(dir.path(), &[("ROTATION", "lenient")]);
    let sessions: Vec<Value> = (0..3).map(|_| server.sign_in()).collect();
    server.revoke_all();
    for tokens in &sessions {
        let a = server.refresh(tokens["refresh_token"].as_str().unwrap());
        assert_eq!(
            (a.status, a.error()),
            (400, "invalid_grant".into()),
            "{}",
            a.body
        );
        assert_eq!(
            server.introspect(tokens["access_token"].as_str().unwrap())["active"],
            false
        );
    }
    // Signing in again works.
    let fresh = server.sign_in();
    assert_eq!(
        server.introspect(fresh["access_token"].as_str().unwrap())["active"],
        true
    );
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs `npm ci` in tests/oauth (run .ci/run once), the interop python with aiosmtpd and openssl"
)]
fn tokens_stop_working_once_their_lifetime_has_passed() {
    let dir = tempfile::tempdir().unwrap();
    let server = OAuthServer::start(dir.path(), &[("ACCESS_TTL", "2"), ("REFRESH_TTL", "2")]);
    let tokens = server.sign_in();
    assert_eq!(tokens["expires_in"], 2);
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(server.introspect(access)["active"], true);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(server.introspect(access)["active"], false);
    let a = server.refresh(tokens["refresh_token"].as_str().unwrap());
    assert_eq!(
        (a.status, a.error()),
        (400, "invalid_grant".into()),
        "{}",
        a.body
    );
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs `npm ci` in tests/oauth (run .ci/run once), the interop python with aiosmtpd and openssl"
)]
fn xoauth2_over_starttls_takes_a_good_token_and_refuses_bad_ones_like_gmail_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let server = OAuthServer::start(dir.path(), &[]);
    let smtp = XoauthSmtp::start(dir.path(), &server.introspection_url());
    let good = server.sign_in()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let s = smtp_session(&smtp, ACCOUNT, &good, 1);
    assert_eq!(s["mechanisms"], "XOAUTH2", "only XOAUTH2 is offered: {s}");
    assert_eq!(code(&s["auth"]), 235, "{s}");
    assert_eq!(code(&s["sent"][0]), 250, "{s}");
    let got = smtp.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["auth"], ACCOUNT);
    assert_eq!(got[0]["rcpt"][0], "customer0@example.test");

    let revoked = server.sign_in()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let a = server.post(
        "/token/revocation",
        &[("client_id", CLIENT), ("token", &revoked)],
    );
    assert_eq!(a.status, 200, "revocation: {}", a.body);
    let bad = [
        (ACCOUNT, "not-a-token".to_string()),
        ("someone-else@example.test", good.clone()),
        (ACCOUNT, revoked),
    ];
    for (user, token) in &bad {
        let started = Instant::now();
        let s = smtp_session(&smtp, user, token, 1);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(code(&s["challenge"]), 334, "{s}");
        assert_eq!(s["challenge_json"]["status"], "401", "{s}");
        assert_eq!(code(&s["auth"]), 535, "{s}");
        assert!(s["auth"][1].as_str().unwrap().starts_with("5.7.8"), "{s}");
        assert_eq!(s["sent"], serde_json::json!([]), "{s}");
    }
    assert_eq!(smtp.received().len(), 1);
    let attempts = smtp.auth_attempts();
    let oks: Vec<bool> = attempts
        .iter()
        .map(|a| a["ok"].as_bool().unwrap())
        .collect();
    assert_eq!(oks, [true, false, false, false]);
    assert_eq!(attempts[0]["token_sha256"], token_sha256(&good));
    assert_eq!(attempts[2]["user"], "someone-else@example.test");
    let log = std::fs::read_to_string(dir.path().join("auth.jsonl")).unwrap();
    assert!(!log.contains(&good), "the token itself is never written");
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs `npm ci` in tests/oauth (run .ci/run once), the interop python with aiosmtpd and openssl"
)]
fn the_reject_auth_knob_refuses_exactly_the_next_k_good_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let server = OAuthServer::start(dir.path(), &[]);
    let smtp = XoauthSmtp::start(dir.path(), &server.introspection_url());
    let good = server.sign_in()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    for k in [1u32, 2] {
        smtp.set_reject_auth(k);
        let codes: Vec<i64> = (0..=k)
            .map(|_| code(&smtp_session(&smtp, ACCOUNT, &good, 0)["auth"]))
            .collect();
        let mut expected = vec![535; k as usize];
        expected.push(235);
        assert_eq!(codes, expected, "reject_auth = {k}");
    }
}

#[test]
#[cfg_attr(
    greet_no_oauth,
    ignore = "needs `npm ci` in tests/oauth (run .ci/run once), the interop python with aiosmtpd and openssl"
)]
fn after_max_per_connection_messages_the_next_mail_gets_421_and_the_connection_closes() {
    let dir = tempfile::tempdir().unwrap();
    let server = OAuthServer::start(dir.path(), &[]);
    let good = server.sign_in()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    for max in [1u32, 3] {
        let smtp = XoauthSmtp::start_with(
            dir.path(),
            &server.introspection_url(),
            &[("MAX_PER_CONNECTION", &max.to_string())],
        );
        let before = smtp.received().len();
        let s = smtp_session(&smtp, ACCOUNT, &good, max + 2);
        let codes: Vec<i64> = s["sent"].as_array().unwrap().iter().map(code).collect();
        let mut expected = vec![250; max as usize];
        expected.push(421);
        assert_eq!(codes, expected, "{s}");
        assert_eq!(s["closed"], true, "{s}");
        assert_eq!(smtp.received().len() - before, max as usize);
    }
}
