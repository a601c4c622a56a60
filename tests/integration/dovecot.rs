//! A real IMAP server for `greet inbox`: Dovecot from Debian
//! (`dovecot-imapd`), started by the test on 127.0.0.1 with a port of its
//! own and everything (config, sockets, state, log, mail) in the test's
//! temporary folder; IMAPS only (`ssl = required`), with a certificate from
//! a test CA ([`make_certs`]); one user, [`USER`] / [`PASSWORD`], whose mail
//! is a Maildir. Messages are put in and looked at with Dovecot's own
//! `doveadm` (not with greet's IMAP client, so a test sees the server's
//! truth). Stopped (kill + wait) on drop.
//!
//! Where the build found no dovecot/doveadm the tests using it are ignored
//! with the reason (build.rs: `greet_no_dovecot`); under CI, which installs
//! it, a missing one fails them.
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::interop::make_certs;

/// The mailbox's login.
pub const USER: &str = "shop@example.test";
pub const PASSWORD: &str = "dovecot-test-password";

pub struct Dovecot {
    child: Child,
    /// IMAPS (TLS from the first byte).
    pub port: u16,
    /// IMAP with STARTTLS (required before any login).
    pub starttls_port: u16,
    /// The test CA that signed the server's certificate (PEM).
    pub ca_file: PathBuf,
    conf: PathBuf,
    log: PathBuf,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Who Dovecot's unprivileged processes and the mail run as: as root,
/// Debian's `dovenull` (logins), `dovecot` (internal and mail: Dovecot
/// never gives mail to uid 0); as anyone else, that user for all three.
fn users() -> (String, String, String) {
    let id = |arg: &str| {
        let out = Command::new("id").arg(arg).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    if id("-u") == "0" {
        ("dovenull".into(), "dovecot".into(), "dovecot".into())
    } else {
        let me = id("-un");
        (me.clone(), me.clone(), me)
    }
}

impl Dovecot {
    /// Start Dovecot in `dir/dovecot` (the test CA's files are written
    /// into `dir`); returns once it takes connections.
    pub fn start(dir: &Path) -> Dovecot {
        Dovecot::start_with(dir, None)
    }

    /// [`Dovecot::start`], taking also SASL XOAUTH2 (and OAUTHBEARER) with
    /// bearer tokens that RFC 7662 introspection at `introspection_url` (as
    /// the confidential client `smtp-server:smtp-secret`) says are active
    /// and whose `sub` is the user: Dovecot's `oauth2` passdb.
    pub fn start_with_oauth(dir: &Path, introspection_url: &str) -> Dovecot {
        Dovecot::start_with(dir, Some(introspection_url))
    }

    /// [`Dovecot::start`], the user's folders taking no keywords (nor any
    /// flag but \Seen and \Deleted), as Exchange's IMAP: an ACL without
    /// the right to write flags.
    pub fn start_without_keywords(dir: &Path) -> Dovecot {
        Dovecot::start_with_extra(dir, None, true)
    }

    fn start_with(dir: &Path, introspection_url: Option<&str>) -> Dovecot {
        Dovecot::start_with_extra(dir, introspection_url, false)
    }

    fn start_with_extra(dir: &Path, introspection_url: Option<&str>, no_keywords: bool) -> Dovecot {
        if !dir.join("ca.pem").exists() {
            make_certs(dir);
        }
        let home = dir.join("dovecot");
        let mail = home.join("mail");
        std::fs::create_dir_all(&mail).unwrap();
        // Dovecot's own users must reach their sockets and the mail; the
        // folder is the test's own temporary one.
        use std::os::unix::fs::PermissionsExt;
        for d in [dir, home.as_path()] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::set_permissions(&mail, std::fs::Permissions::from_mode(0o777)).unwrap();
        std::fs::write(home.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let (login_user, internal_user, mail_user) = users();
        let (mechanisms, oauth_passdb) = match introspection_url {
            None => ("plain login", String::new()),
            Some(url) => {
                let with_client = url.replacen("://", "://smtp-server:smtp-secret@", 1);
                std::fs::write(
                    home.join("oauth2.conf.ext"),
                    format!(
                        "introspection_mode = post\nintrospection_url = {with_client}\nusername_attribute = sub\nactive_attribute = active\nactive_value = true\n"
                    ),
                )
                .unwrap();
                (
                    "plain login xoauth2 oauthbearer",
                    format!(
                        "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {}/oauth2.conf.ext\n}}\n",
                        home.display()
                    ),
                )
            }
        };
        let acl = if no_keywords {
            std::fs::write(home.join("acl"), "* owner lrsitekx\n").unwrap();
            format!(
                "mail_plugins = acl\nprotocol imap {{\n  mail_plugins = $mail_plugins imap_acl\n}}\nplugin {{\n  acl = vfile:{}/acl\n}}\n",
                home.display()
            )
        } else {
            String::new()
        };
        let port = free_port();
        let starttls_port = free_port();
        let h = home.display();
        let d = dir.display();
        let conf = home.join("dovecot.conf");
        let log = home.join("dovecot.log");
        std::fs::write(
            &conf,
            format!(
                r#"base_dir = {h}/run
state_dir = {h}/state
log_path = {h}/dovecot.log
info_log_path = {h}/dovecot.log
protocols = imap
listen = 127.0.0.1
default_internal_user = {internal_user}
default_internal_group = {internal_user}
default_login_user = {login_user}
first_valid_uid = 1
first_valid_gid = 1
ssl = required
ssl_cert = <{d}/server.pem
ssl_key = <{d}/server.key
disable_plaintext_auth = yes
auth_mechanisms = {mechanisms}
{oauth_passdb}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {h}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_user} home={h}/mail/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {starttls_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
{acl}"#
            ),
        )
        .unwrap();
        let child = Command::new(dovecot_binary())
            .args(["-F", "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut server = Dovecot {
            child,
            port,
            starttls_port,
            ca_file: dir.join("ca.pem"),
            conf,
            log,
        };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", starttls_port)).is_err()
        {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("dovecot exited ({status}):\n{}", server.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "dovecot did not listen on 127.0.0.1:{port}:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // INBOX exists from the start, as on any real mailbox.
        server.doveadm(&["mailbox", "create", "-u", USER, "-s", "Drafts"]);
        server
    }

    /// Dovecot's log so far (for a failing test's message).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn doveadm(&self, args: &[&str]) -> String {
        self.doveadm_with_input(args, None)
    }

    fn doveadm_with_input(&self, args: &[&str], input: Option<&[u8]>) -> String {
        use std::io::Write;
        let mut child = Command::new(doveadm_binary())
            .arg("-c")
            .arg(&self.conf)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        if let Some(bytes) = input {
            stdin.write_all(bytes).unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "doveadm {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Put a message into `folder` (created if missing), as a delivery would.
    pub fn deliver(&self, folder: &str, raw: &[u8]) {
        self.doveadm_with_input(&["save", "-u", USER, "-m", folder], Some(raw));
    }

    /// Every message in the mailbox: (folder, uid, flags and keywords, Message-ID).
    pub fn messages(&self) -> Vec<Message> {
        let out = self.doveadm(&[
            "-f",
            "tab",
            "fetch",
            "-u",
            USER,
            "mailbox uid flags hdr.message-id",
            "all",
        ]);
        out.lines()
            .skip(1)
            .filter(|l| !l.is_empty())
            .map(|line| {
                let cols: Vec<&str> = line.split('\t').collect();
                Message {
                    folder: cols[0].to_string(),
                    uid: cols[1].parse().unwrap(),
                    // \Recent is the session's (the first to select sees it), not the message's.
                    flags: cols[2]
                        .split(' ')
                        .filter(|f| !f.is_empty() && *f != "\\Recent")
                        .map(String::from)
                        .collect(),
                    message_id: cols.get(3).unwrap_or(&"").trim().to_string(),
                }
            })
            .collect()
    }

    /// The folders the user is subscribed to (what mail programs show).
    pub fn subscribed(&self) -> Vec<String> {
        self.doveadm(&["mailbox", "list", "-u", USER, "-s"])
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// The UIDs in `folder`.
    pub fn folder_uids(&self, folder: &str) -> Vec<u32> {
        self.messages()
            .into_iter()
            .filter(|m| m.folder == folder)
            .map(|m| m.uid)
            .collect()
    }

    /// The Message-IDs in `folder`, sorted.
    pub fn folder_ids(&self, folder: &str) -> Vec<String> {
        let mut ids: Vec<String> = self
            .messages()
            .into_iter()
            .filter(|m| m.folder == folder)
            .map(|m| m.message_id)
            .collect();
        ids.sort();
        ids
    }

    /// Give a message a flag or keyword, as a mail program would.
    pub fn add_flag(&self, folder: &str, uid: u32, flag: &str) {
        self.doveadm(&[
            "flags",
            "add",
            "-u",
            USER,
            flag,
            "mailbox",
            folder,
            "uid",
            &uid.to_string(),
        ]);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub folder: String,
    pub uid: u32,
    pub flags: Vec<String>,
    pub message_id: String,
}

fn sbin(name: &str) -> PathBuf {
    crate::support::on_path(name)
        .or_else(|| {
            let p = Path::new("/usr/sbin").join(name);
            p.is_file().then_some(p)
        })
        .unwrap_or_else(|| panic!("no {name}: .ci/run installs it (apt install dovecot-imapd)"))
}

fn dovecot_binary() -> PathBuf {
    sbin("dovecot")
}

fn doveadm_binary() -> PathBuf {
    // doveadm lives in /usr/bin on Debian.
    sbin("doveadm")
}
