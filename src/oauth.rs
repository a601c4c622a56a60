//! OAuth 2.0 sign-in for `auth = "oauth2"` (SASL XOAUTH2): `greet login`
//! signs the owner in once (the device-code flow for Microsoft, a browser
//! back to a loopback port with PKCE for Google), and every run after that
//! takes its access token from the token file, refreshing it before it
//! expires and once more when the server refuses it.
//!
//! The token file is the secret: readable by its owner only (0600, refused
//! otherwise), never written in place (a temporary sibling, flushed, then
//! renamed over it, the folder flushed), and changed only under a lock on
//! its folder, so a `check` during a `send` never loses a rotated refresh
//! token. Tokens never reach argv, logs, errors or the ledger.
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    DeviceAuthorizationUrl, DeviceCodeErrorResponseType, HttpRequest, HttpResponse,
    PkceCodeChallenge, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardDeviceAuthorizationResponse, StandardErrorResponse, SyncHttpClient, TokenResponse,
    TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::config::{LoginFlow, OAuthSettings};

/// How long a sign-in may take before `greet login` gives up (the browser
/// flow; the device flow ends when the server says its code expired).
const BROWSER_WAIT: Duration = Duration::from_secs(600);
/// A token is refreshed when less than this is left of it (or a tenth of
/// its lifetime, for short-lived ones).
const MARGIN: u64 = 300;

/// oauth2's HTTP client, over ureq (blocking, rustls, the system's roots).
/// Error replies (4xx) are handed back as replies: the token endpoint's
/// `authorization_pending` and `invalid_grant` are answers, not failures.
struct Http(ureq::Agent);

impl Http {
    fn new() -> Http {
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::PlatformVerifier)
            .build();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .tls_config(tls)
            .build();
        Http(agent.into())
    }
}

impl SyncHttpClient for Http {
    type Error = oauth2::HttpClientError<ureq::Error>;
    fn call(&self, request: HttpRequest) -> Result<HttpResponse, Self::Error> {
        let response = self.0.run(request).map_err(Box::new)?;
        let (parts, mut body) = response.into_parts();
        let bytes = body.read_to_vec().map_err(Box::new)?;
        Ok(HttpResponse::from_parts(parts, bytes))
    }
}

/// What the token file holds (JSON).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
struct Stored {
    /// The mailbox signed in to (the config's `username`).
    account: String,
    client_id: String,
    /// The token endpoint that issued the tokens.
    token_url: String,
    refresh_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    /// When the access token expires (seconds since 1970, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_expires: Option<u64>,
    /// How long it was issued for, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_lifetime: Option<u64>,
    /// When the owner last signed in with `greet login`.
    signed_in: u64,
    /// When the access token was last refreshed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refreshed: Option<u64>,
}

/// Why no access token could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInError {
    /// The sign-in is gone (revoked, expired, another account or app): only
    /// `greet login` brings it back.
    NeedsLogin(String),
    /// The authorization server could not be asked (network, its own
    /// failure): run again later.
    Unreachable(String),
}

impl std::fmt::Display for SignInError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignInError::NeedsLogin(why) => write!(f, "{why}; run `greet login` to sign in"),
            SignInError::Unreachable(why) => f.write_str(why),
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A time as the owner reads it: "2026-12-03 17:40 UTC".
pub fn when(secs: u64) -> String {
    chrono::DateTime::from_timestamp(secs as i64, 0).map_or_else(
        || secs.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// A server's words, safe to print on one line.
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect::<String>()
        .trim()
        .to_string()
}

/// The folder holding the token file, locked for as long as the value lives.
fn lock(path: &Path) -> Result<std::fs::File, String> {
    let dir = folder(path);
    let f = std::fs::File::open(dir).map_err(|e| format!("cannot open {}: {e}", dir.display()))?;
    f.lock()
        .map_err(|e| format!("cannot lock {}: {e}", dir.display()))?;
    Ok(f)
}

fn folder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The temporary sibling a token file is written under before the rename.
fn temporary(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "token".into(), |n| n.to_string_lossy());
    folder(path).join(format!(".{name}.tmp"))
}

/// Read the token file: owner-only, and greet's.
fn load(path: &Path) -> Result<Stored, SignInError> {
    if !path.exists() {
        return Err(SignInError::NeedsLogin(format!(
            "there is no sign-in yet: {} does not exist",
            path.display()
        )));
    }
    crate::config::secret_file_problem(path).map_err(SignInError::NeedsLogin)?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| SignInError::NeedsLogin(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        SignInError::NeedsLogin(format!(
            "{} is not a sign-in written by `greet login` (line {}, column {})",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}

/// Write the token file whole or not at all: a temporary sibling created
/// 0600, flushed, renamed over the old file, the folder flushed. A crash at
/// any point leaves the old file or the new one, never a mix.
fn save(path: &Path, stored: &Stored) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = temporary(path);
    let mut json = serde_json::to_vec_pretty(stored).map_err(std::io::Error::other)?;
    json.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    // An old temporary file may have been made by someone else's umask.
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    let written = f.write_all(&json).and_then(|()| f.sync_all());
    if let Err(e) = written {
        drop(f);
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    drop(f);
    crash_point("GREET_TEST_CRASH_SAVING_TOKEN");
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::File::open(folder(path))?.sync_all()
}

/// Test hook: die here (as a power cut would) when the variable is set.
#[cfg(feature = "test-hooks")]
fn crash_point(var: &str) {
    if std::env::var_os(var).is_some() {
        std::process::abort();
    }
}

#[cfg(not(feature = "test-hooks"))]
fn crash_point(_: &str) {}

/// The error of a token request, in greet's words (never a token).
fn token_error(
    url: &str,
    e: RequestTokenError<
        oauth2::HttpClientError<ureq::Error>,
        StandardErrorResponse<BasicErrorResponseType>,
    >,
) -> SignInError {
    match e {
        RequestTokenError::ServerResponse(r) => {
            let code = r.error().as_ref().to_string();
            let said = match r.error_description() {
                Some(d) => format!("{code}: {}", clean(d)),
                None => code.clone(),
            };
            match r.error() {
                BasicErrorResponseType::Extension(x)
                    if x == "temporarily_unavailable" || x == "server_error" =>
                {
                    SignInError::Unreachable(format!(
                        "the sign-in server {url} is not answering now ({said})"
                    ))
                }
                _ => SignInError::NeedsLogin(format!(
                    "the sign-in server {url} refuses the stored sign-in ({said})"
                )),
            }
        }
        RequestTokenError::Request(e) => SignInError::Unreachable(format!(
            "cannot reach the sign-in server {url}: {}",
            clean(&e.to_string())
        )),
        RequestTokenError::Parse(e, _) => SignInError::Unreachable(format!(
            "the sign-in server {url} gave an answer greet cannot read ({})",
            clean(&e.to_string())
        )),
        RequestTokenError::Other(what) => SignInError::Unreachable(format!(
            "the sign-in server {url} gave an answer greet cannot read ({})",
            clean(&what)
        )),
    }
}

/// A fresh token from the server.
struct Fresh {
    access: String,
    refresh: Option<String>,
    lifetime: Option<u64>,
}

fn fresh(t: &impl TokenResponse) -> Fresh {
    Fresh {
        access: t.access_token().secret().clone(),
        refresh: t.refresh_token().map(|r| r.secret().clone()),
        lifetime: t.expires_in().map(|d| d.as_secs()),
    }
}

impl Stored {
    fn take(&mut self, f: Fresh, at: u64) {
        self.access_token = Some(f.access);
        self.access_expires = f.lifetime.map(|l| at + l);
        self.access_lifetime = f.lifetime;
        if let Some(r) = f.refresh {
            self.refresh_token = r;
        }
    }

    /// The stored access token, while it has more than its margin left.
    fn usable_access(&self, at: u64) -> Option<&str> {
        let token = self.access_token.as_deref()?;
        let expires = self.access_expires?;
        let margin = self
            .access_lifetime
            .map_or(MARGIN, |l| (l / 10).min(MARGIN));
        (expires > at + margin).then_some(token)
    }
}

/// Gets the access token a connection signs in with (`auth = "oauth2"`).
pub struct Signer {
    settings: OAuthSettings,
    account: String,
    http: Http,
}

impl Signer {
    pub fn new(settings: &OAuthSettings, account: &str) -> Signer {
        Signer {
            settings: settings.clone(),
            account: account.to_string(),
            http: Http::new(),
        }
    }

    /// The access token to sign in with: the stored one while it has more
    /// than its margin left, else a refreshed one (saved, with a rotated
    /// refresh token, before it is used). `rejected`: the token the server
    /// has just refused — refreshed even if it looks good (unless another
    /// greet process has refreshed it meanwhile).
    pub fn access_token(&self, rejected: Option<&str>) -> Result<String, SignInError> {
        self.token(rejected, false).map(|(token, _)| token)
    }

    /// `greet check`: refresh now, whatever is stored, and say until when
    /// the new token is good (`None`: the server did not say).
    pub fn refresh_now(&self) -> Result<Option<u64>, SignInError> {
        self.token(None, true).map(|(_, expires)| expires)
    }

    fn token(
        &self,
        rejected: Option<&str>,
        force: bool,
    ) -> Result<(String, Option<u64>), SignInError> {
        let path = &self.settings.token_file;
        let _lock = lock(path).map_err(SignInError::Unreachable)?;
        let mut stored = load(path)?;
        self.matches(&stored)?;
        let at = now();
        if !force
            && let Some(token) = stored.usable_access(at)
            && rejected != Some(token)
        {
            return Ok((token.to_string(), stored.access_expires));
        }
        let url = &self.settings.token_url;
        let client =
            BasicClient::new(ClientId::new(self.settings.client_id.clone()))
                .set_token_uri(TokenUrl::new(url.clone()).map_err(|e| {
                    SignInError::NeedsLogin(format!("oauth_token_url \"{url}\": {e}"))
                })?)
                .set_auth_type(AuthType::RequestBody);
        let client = match &self.settings.client_secret {
            Some(s) => client.set_client_secret(ClientSecret::new(s.clone())),
            None => client,
        };
        // The scopes again: Microsoft issues the access token for the
        // scopes a refresh names (the ones signed in for, or fewer).
        let scopes = self.settings.scopes.iter().cloned().map(Scope::new);
        let response = client
            .exchange_refresh_token(&RefreshToken::new(stored.refresh_token.clone()))
            .add_scopes(scopes)
            .request(&self.http)
            .map_err(|e| token_error(url, e))?;
        stored.take(fresh(&response), at);
        stored.refreshed = Some(at);
        save(path, &stored).map_err(|e| {
            SignInError::NeedsLogin(format!(
                "the refreshed sign-in could not be saved to {}: {e}",
                path.display()
            ))
        })?;
        let token = stored.access_token.clone().unwrap_or_default();
        Ok((token, stored.access_expires))
    }

    /// The stored sign-in is for this account, app and server.
    fn matches(&self, stored: &Stored) -> Result<(), SignInError> {
        let s = &self.settings;
        let mismatch = if !stored.account.eq_ignore_ascii_case(&self.account) {
            Some(format!("the account {}", stored.account))
        } else if stored.client_id != s.client_id {
            Some(format!("the app (client_id) {}", stored.client_id))
        } else if stored.token_url != s.token_url {
            Some(format!("the sign-in server {}", stored.token_url))
        } else {
            None
        };
        match mismatch {
            Some(other) => Err(SignInError::NeedsLogin(format!(
                "{} holds a sign-in for {other}, not the one greet.toml names",
                s.token_file.display()
            ))),
            None => Ok(()),
        }
    }
}

/// What `greet check` says about the stored sign-in.
pub struct Status {
    pub signed_in: u64,
    pub refreshed: Option<u64>,
}

/// When the owner signed in, as the token file says (without refreshing).
pub fn status(settings: &OAuthSettings) -> Result<Status, SignInError> {
    let stored = load(&settings.token_file)?;
    Ok(Status {
        signed_in: stored.signed_in,
        refreshed: stored.refreshed,
    })
}

/// The problem with the token file, before anything is touched (the same
/// rules `send` applies), for `check` and `send`.
pub fn file_problem(settings: &OAuthSettings) -> Option<String> {
    load(&settings.token_file).err().map(|e| e.to_string())
}

/// `greet login`: sign the owner in once and save the sign-in. Instructions
/// go to `say` (standard error); nothing secret is printed.
pub fn login(settings: &OAuthSettings, account: &str, say: &mut dyn Write) -> anyhow::Result<()> {
    let http = Http::new();
    let token_url = TokenUrl::new(settings.token_url.clone())?;
    let scopes: Vec<Scope> = settings.scopes.iter().cloned().map(Scope::new).collect();
    let client = BasicClient::new(ClientId::new(settings.client_id.clone()))
        .set_auth_type(AuthType::RequestBody);
    let client = match &settings.client_secret {
        Some(s) => client.set_client_secret(ClientSecret::new(s.clone())),
        None => client,
    };
    let fresh = match settings.flow {
        LoginFlow::Device => {
            let url = settings
                .device_url
                .clone()
                .ok_or_else(|| anyhow::anyhow!("no device authorization endpoint"))?;
            let client = client
                .set_token_uri(token_url)
                .set_device_authorization_url(DeviceAuthorizationUrl::new(url.clone())?);
            let details: StandardDeviceAuthorizationResponse = client
                .exchange_device_code()
                .add_scopes(scopes)
                .request(&http)
                .map_err(|e| anyhow::anyhow!("{}", token_error(&url, e)))?;
            let link = details.verification_uri().as_str();
            writeln!(
                say,
                "To sign in to {account}, open {link} in a browser (on any device) and enter the code:\n\n    {}\n\nWaiting for the sign-in to finish (Ctrl-C gives up)…",
                details.user_code().secret()
            )?;
            say.flush()?;
            let poll = poll_interval();
            let token = client
                .exchange_device_access_token(&details)
                .request(&http, |d| std::thread::sleep(poll.unwrap_or(d)), None)
                .map_err(|e| device_error(&settings.token_url, e))?;
            fresh(&token)
        }
        LoginFlow::Browser => {
            let url = settings
                .authorize_url
                .clone()
                .ok_or_else(|| anyhow::anyhow!("no authorization endpoint"))?;
            let listener = TcpListener::bind(("127.0.0.1", 0))
                .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1 for the sign-in: {e}"))?;
            let redirect = format!("http://127.0.0.1:{}/", listener.local_addr()?.port());
            let client = client
                .set_token_uri(token_url)
                .set_auth_uri(AuthUrl::new(url)?)
                .set_redirect_uri(RedirectUrl::new(redirect)?);
            let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
            let (link, state) = client
                .authorize_url(CsrfToken::new_random)
                .add_scopes(scopes)
                .set_pkce_challenge(challenge)
                // A refresh token, and the consent asked again so that one is given.
                .add_extra_param("access_type", "offline")
                .add_extra_param("prompt", "consent")
                .add_extra_param("login_hint", account)
                .url();
            writeln!(
                say,
                "To sign in to {account}, open this address in a browser on this machine:\n\n    {link}\n\nWaiting for the sign-in to finish (Ctrl-C gives up)…"
            )?;
            say.flush()?;
            let code = wait_for_code(&listener, state.secret())?;
            let token = client
                .exchange_code(AuthorizationCode::new(code))
                .set_pkce_verifier(verifier)
                .request(&http)
                .map_err(|e| anyhow::anyhow!("{}", token_error(&settings.token_url, e)))?;
            fresh(&token)
        }
    };
    let Some(refresh) = fresh.refresh.clone() else {
        anyhow::bail!(
            "the sign-in server gave no refresh token, so greet could not send tomorrow without you; the scopes must include offline access (Microsoft: offline_access)"
        );
    };
    let at = now();
    let mut stored = Stored {
        account: account.to_string(),
        client_id: settings.client_id.clone(),
        token_url: settings.token_url.clone(),
        refresh_token: refresh,
        access_token: None,
        access_expires: None,
        access_lifetime: None,
        signed_in: at,
        refreshed: None,
    };
    stored.take(fresh, at);
    let path = &settings.token_file;
    std::fs::create_dir_all(folder(path))
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", folder(path).display()))?;
    let _lock = lock(path).map_err(anyhow::Error::msg)?;
    save(path, &stored).map_err(|e| anyhow::anyhow!("cannot save {}: {e}", path.display()))?;
    Ok(())
}

/// Test hook: poll the device flow this often instead of the server's interval.
#[cfg(feature = "test-hooks")]
fn poll_interval() -> Option<Duration> {
    std::env::var("GREET_TEST_OAUTH_POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
}

#[cfg(not(feature = "test-hooks"))]
fn poll_interval() -> Option<Duration> {
    None
}

/// The device flow's end, in greet's words.
fn device_error(
    url: &str,
    e: RequestTokenError<
        oauth2::HttpClientError<ureq::Error>,
        StandardErrorResponse<DeviceCodeErrorResponseType>,
    >,
) -> anyhow::Error {
    match e {
        RequestTokenError::ServerResponse(r) => match r.error() {
            DeviceCodeErrorResponseType::AccessDenied => {
                anyhow::anyhow!("the sign-in was declined; nothing was saved")
            }
            DeviceCodeErrorResponseType::ExpiredToken => anyhow::anyhow!(
                "the code expired before the sign-in was finished; run `greet login` again"
            ),
            other => anyhow::anyhow!(
                "the sign-in server {url} refused the sign-in ({}{})",
                other.as_ref(),
                r.error_description()
                    .map(|d| format!(": {}", clean(d)))
                    .unwrap_or_default()
            ),
        },
        RequestTokenError::Request(e) => anyhow::anyhow!(
            "cannot reach the sign-in server {url}: {}",
            clean(&e.to_string())
        ),
        RequestTokenError::Parse(e, _) => anyhow::anyhow!(
            "the sign-in server {url} gave an answer greet cannot read ({})",
            clean(&e.to_string())
        ),
        RequestTokenError::Other(what) => anyhow::anyhow!(
            "the sign-in server {url} gave an answer greet cannot read ({})",
            clean(&what)
        ),
    }
}

/// Serve the loopback redirect until the browser brings back the code for
/// this `state` (or the owner declines, or time runs out).
fn wait_for_code(listener: &TcpListener, state: &str) -> anyhow::Result<String> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + BROWSER_WAIT;
    loop {
        let stream = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    anyhow::bail!(
                        "no sign-in came back within {} minutes; run `greet login` again",
                        BROWSER_WAIT.as_secs() / 60
                    );
                }
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        stream.set_nonblocking(false)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        if let Some(answer) = callback(stream, state)? {
            return answer;
        }
    }
}

/// One request to the loopback port: `None` if it is not the sign-in's
/// answer (another path, another state), else the code or why there is none.
fn callback(mut stream: TcpStream, state: &str) -> anyhow::Result<Option<anyhow::Result<String>>> {
    let mut line = String::new();
    // The request line, at most 8 KiB.
    if BufReader::new(std::io::Read::take(&stream, 8192))
        .read_line(&mut line)
        .is_err()
    {
        return Ok(None);
    }
    let target = line.split_whitespace().nth(1).unwrap_or("");
    let Ok(url) = url::Url::parse(&format!("http://127.0.0.1{target}")) else {
        respond(&mut stream, "400 Bad Request", "Not a sign-in answer.");
        return Ok(None);
    };
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    if url.path() != "/" || query.get("state").map(String::as_str) != Some(state) {
        respond(
            &mut stream,
            "404 Not Found",
            "Not the sign-in greet is waiting for.",
        );
        return Ok(None);
    }
    if let Some(error) = query.get("error") {
        let why = query
            .get("error_description")
            .map(|d| format!("{error}: {}", clean(d)))
            .unwrap_or_else(|| error.clone());
        respond(
            &mut stream,
            "200 OK",
            "The sign-in was not completed. You can close this window.",
        );
        return Ok(Some(Err(anyhow::anyhow!(
            "the sign-in was not completed ({why}); nothing was saved"
        ))));
    }
    match query.get("code") {
        Some(code) => {
            respond(
                &mut stream,
                "200 OK",
                "Signed in. greet can send now; you can close this window.",
            );
            Ok(Some(Ok(code.clone())))
        }
        None => {
            respond(&mut stream, "400 Bad Request", "The answer had no code.");
            Ok(None)
        }
    }
}

fn respond(stream: &mut TcpStream, status: &str, text: &str) {
    let body =
        format!("<!doctype html><meta charset=\"utf-8\"><title>greet</title><p>{text}</p>\n");
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> Stored {
        Stored {
            account: "shop@example.test".into(),
            client_id: "greet-cli".into(),
            token_url: "http://127.0.0.1:1/token".into(),
            refresh_token: "r1".into(),
            access_token: Some("a1".into()),
            access_expires: Some(10_000),
            access_lifetime: Some(3_600),
            signed_in: 1,
            refreshed: None,
        }
    }

    #[test]
    fn an_access_token_is_used_until_its_margin_and_refreshed_after() {
        let s = stored();
        // An hour's token: refreshed in its last five minutes.
        assert_eq!(s.usable_access(10_000 - 301), Some("a1"));
        assert_eq!(s.usable_access(10_000 - 300), None);
        // A short one: in its last tenth.
        let short = Stored {
            access_lifetime: Some(40),
            ..stored()
        };
        assert_eq!(short.usable_access(10_000 - 5), Some("a1"));
        assert_eq!(short.usable_access(10_000 - 4), None);
        // One whose lifetime the server did not give: refreshed every time.
        let unknown = Stored {
            access_expires: None,
            ..stored()
        };
        assert_eq!(unknown.usable_access(0), None);
    }

    #[test]
    fn a_refresh_keeps_the_refresh_token_unless_the_server_rotates_it() {
        let mut s = stored();
        s.take(
            Fresh {
                access: "a2".into(),
                refresh: None,
                lifetime: Some(60),
            },
            100,
        );
        assert_eq!(
            (
                s.access_token.as_deref(),
                s.access_expires,
                s.refresh_token.as_str()
            ),
            (Some("a2"), Some(160), "r1")
        );
        s.take(
            Fresh {
                access: "a3".into(),
                refresh: Some("r2".into()),
                lifetime: None,
            },
            200,
        );
        assert_eq!(
            (
                s.access_token.as_deref(),
                s.access_expires,
                s.refresh_token.as_str()
            ),
            (Some("a3"), None, "r2")
        );
    }

    #[test]
    fn a_saved_sign_in_is_owner_only_and_replaces_the_old_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.json");
        save(&path, &stored()).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let mut next = stored();
        next.refresh_token = "r2".into();
        save(&path, &next).unwrap();
        assert!(load(&path).unwrap() == next);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["token.json".to_string()]);
    }

    #[test]
    fn a_token_file_that_others_can_read_or_that_is_not_greets_asks_for_a_login() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token.json");
        assert!(
            matches!(load(&path), Err(SignInError::NeedsLogin(w)) if w.contains("does not exist"))
        );
        save(&path, &stored()).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .unwrap();
        assert!(matches!(load(&path), Err(SignInError::NeedsLogin(w)) if w.contains("chmod 600")));
        std::fs::write(&path, "{\"not\": \"greet's\"}").unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        assert!(
            matches!(load(&path), Err(SignInError::NeedsLogin(w)) if w.contains("not a sign-in written by `greet login`"))
        );
    }

    #[test]
    fn server_words_are_printed_on_one_line_and_not_at_any_length() {
        assert_eq!(clean("bad\r\ngrant\u{7}"), "bad  grant");
        assert_eq!(clean(&"x".repeat(1000)).len(), 300);
    }
}
