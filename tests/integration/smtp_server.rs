//! A scriptable SMTP server on 127.0.0.1 for fault tests (std only).
//!
//! Replies can be scripted at MAIL, per recipient at RCPT and at the end of
//! DATA, the connection can be dropped before the 354 or right after the
//! final "." (before the reply), and everything received is recorded, byte
//! for byte. It offers PIPELINING (RFC 2920) unless told not to, and records
//! whether each message's MAIL, RCPT and DATA arrived in one read. The
//! server stops when dropped.
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Received {
    /// The MAIL FROM command line, parameters included.
    pub mail: String,
    pub rcpt: Vec<String>,
    /// The message as text (bytes that are not UTF-8 shown as U+FFFD).
    pub data: String,
    /// The message exactly as received, dot-stuffing undone.
    pub raw: Vec<u8>,
    /// MAIL, every RCPT and DATA came in one read: one pipelined write.
    pub pipelined: bool,
    /// When the server took it (its reply to the final ".").
    pub at: std::time::Instant,
}

/// A point in the conversation where the server stops answering until
/// released, so that a test can kill or signal greet exactly there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// The first EHLO: greet is connecting and has marked nothing yet.
    Ehlo,
    /// The n-th MAIL FROM (1-based): that greeting is marked as being sent.
    Mail(usize),
    /// After the final "." for this recipient, before the reply.
    AfterDot(String),
    /// Right after the 250 for this recipient's message.
    AfterReply(String),
}

#[derive(Default)]
struct State {
    hold: Option<Hold>,
    held: bool,
    released: bool,
    mails: usize,
    mail_replies: VecDeque<String>,
    /// Per MAIL FROM, in order: whether its RCPT and DATA were already read with it.
    groups: Vec<bool>,
    drop_before_354: HashMap<String, usize>,
    no_pipelining: bool,
    rcpt_replies: HashMap<String, VecDeque<String>>,
    data_replies: HashMap<String, VecDeque<String>>,
    drop_after_dot: HashSet<String>,
    drop_in_data: HashSet<String>,
    delay_after_dot: HashMap<String, Duration>,
    delay_at_rcpt: HashMap<String, Duration>,
    no_smtputf8: bool,
    greetings: VecDeque<String>,
    received: Vec<Received>,
    connections: usize,
}

pub struct SmtpServer {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (Arc::clone(&state), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut sessions = Vec::new();
            while !sp.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        st.lock().unwrap().connections += 1;
                        let (st2, sp2) = (Arc::clone(&st), Arc::clone(&sp));
                        sessions.push(std::thread::spawn(move || session(stream, st2, sp2)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            for s in sessions {
                let _ = s.join();
            }
        });
        SmtpServer {
            port,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// Reply to `RCPT TO:<rcpt>` with these replies, one per attempt, then 250.
    pub fn at_rcpt(&self, rcpt: &str, replies: &[&str]) {
        let mut s = self.state.lock().unwrap();
        s.rcpt_replies.insert(
            rcpt.to_lowercase(),
            replies.iter().map(|r| r.to_string()).collect(),
        );
    }

    /// Reply to the next MAIL FROM commands with these replies, one each, then 250.
    pub fn at_mail(&self, replies: &[&str]) {
        self.state.lock().unwrap().mail_replies = replies.iter().map(|r| r.to_string()).collect();
    }

    /// Close the connection at DATA for `rcpt` instead of answering 354,
    /// `times` times: the envelope was read, nothing of the message was.
    pub fn drop_before_354(&self, rcpt: &str, times: usize) {
        self.state
            .lock()
            .unwrap()
            .drop_before_354
            .insert(rcpt.to_lowercase(), times);
    }

    /// Do not advertise PIPELINING: clients must wait for each reply.
    pub fn without_pipelining(&self) {
        self.state.lock().unwrap().no_pipelining = true;
    }

    /// For each MAIL FROM received, in order: whether the rest of its
    /// envelope (every RCPT and DATA) arrived in the same read.
    pub fn mail_groups(&self) -> Vec<bool> {
        self.state.lock().unwrap().groups.clone()
    }

    /// Reply to the end of DATA for `rcpt` with these replies, then 250.
    pub fn at_data_end(&self, rcpt: &str, replies: &[&str]) {
        let mut s = self.state.lock().unwrap();
        s.data_replies.insert(
            rcpt.to_lowercase(),
            replies.iter().map(|r| r.to_string()).collect(),
        );
    }

    /// Close the connection after the final "." for `rcpt`, once, without replying.
    pub fn drop_after_dot(&self, rcpt: &str) {
        self.state
            .lock()
            .unwrap()
            .drop_after_dot
            .insert(rcpt.to_lowercase());
    }

    /// Close the connection in the middle of DATA for `rcpt`, once.
    pub fn drop_in_data(&self, rcpt: &str) {
        self.state
            .lock()
            .unwrap()
            .drop_in_data
            .insert(rcpt.to_lowercase());
    }

    /// Wait this long after the final "." for `rcpt` before replying.
    pub fn delay_after_dot(&self, rcpt: &str, delay: Duration) {
        self.state
            .lock()
            .unwrap()
            .delay_after_dot
            .insert(rcpt.to_lowercase(), delay);
    }

    /// Wait this long before replying to `RCPT TO:<rcpt>` (every time).
    pub fn delay_at_rcpt(&self, rcpt: &str, delay: Duration) {
        self.state
            .lock()
            .unwrap()
            .delay_at_rcpt
            .insert(rcpt.to_lowercase(), delay);
    }

    /// Stop answering at this point until `release`.
    pub fn hold(&self, at: Hold) {
        self.state.lock().unwrap().hold = Some(at);
    }

    /// Whether a session has reached the hold point.
    pub fn held(&self) -> bool {
        self.state.lock().unwrap().held
    }

    /// Go on from the hold point.
    pub fn release(&self) {
        self.state.lock().unwrap().released = true;
    }

    /// Stop delaying replies (the server has recovered).
    pub fn no_delays(&self) {
        let mut s = self.state.lock().unwrap();
        s.delay_at_rcpt.clear();
        s.delay_after_dot.clear();
    }

    /// Greet the next connections with these replies (e.g. "421 busy") instead of 220.
    pub fn greet_with(&self, replies: &[&str]) {
        self.state.lock().unwrap().greetings = replies.iter().map(|r| r.to_string()).collect();
    }

    /// Do not advertise SMTPUTF8 (an older relay).
    pub fn without_smtputf8(&self) {
        self.state.lock().unwrap().no_smtputf8 = true;
    }

    /// Messages accepted (2xx at the end of DATA) or swallowed by a drop.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    pub fn count_to(&self, rcpt: &str) -> usize {
        self.received()
            .iter()
            .filter(|m| m.rcpt.iter().any(|r| r.eq_ignore_ascii_case(rcpt)))
            .count()
    }

    pub fn connections(&self) -> usize {
        self.state.lock().unwrap().connections
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The next line from the client, as bytes; `None` when it hung up, or the server is stopping.
fn next_line(input: &mut BufReader<TcpStream>, stop: &AtomicBool) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    loop {
        match input.read_until(b'\n', &mut line) {
            Ok(0) => return None,
            Ok(_) => return Some(line),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
}

/// Wait here if the test asked to hold at `at`: until released or stopped.
fn hold_if(at: Hold, state: &Mutex<State>, stop: &AtomicBool) {
    {
        let mut s = state.lock().unwrap();
        if s.hold.as_ref() != Some(&at) || s.held {
            return;
        }
        s.held = true;
    }
    while !stop.load(Ordering::Relaxed) && !state.lock().unwrap().released {
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn session(stream: TcpStream, state: Arc<Mutex<State>>, stop: Arc<AtomicBool>) {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut out = stream.try_clone().unwrap();
    let mut input = BufReader::new(stream);
    let say =
        |out: &mut TcpStream, line: &str| out.write_all(format!("{line}\r\n").as_bytes()).is_ok();
    let greeting = state.lock().unwrap().greetings.pop_front();
    if let Some(reply) = greeting {
        say(&mut out, &reply);
        return;
    }
    if !say(&mut out, "220 127.0.0.1 ESMTP greet-test") {
        return;
    }
    let mut rcpt: Vec<String> = Vec::new();
    let mut mail = String::new();
    let mut pipelined = false;
    // A MAIL FROM was accepted and its transaction is open.
    let mut in_mail = false;
    loop {
        let Some(line) = next_line(&mut input, &stop) else {
            return;
        };
        let cmd = String::from_utf8_lossy(&line).trim_end().to_string();
        let upper = cmd.to_uppercase();
        if upper.starts_with("EHLO") {
            hold_if(Hold::Ehlo, &state, &stop);
            say(&mut out, "250-127.0.0.1");
            if !state.lock().unwrap().no_pipelining {
                say(&mut out, "250-PIPELINING");
            }
            if state.lock().unwrap().no_smtputf8 {
                say(&mut out, "250 8BITMIME");
            } else {
                say(&mut out, "250-8BITMIME");
                say(&mut out, "250 SMTPUTF8");
            }
        } else if upper.starts_with("HELO") || upper.starts_with("NOOP") {
            say(&mut out, "250 OK");
        } else if upper.starts_with("MAIL FROM") {
            // What is already buffered was read together with MAIL FROM:
            // the whole envelope when the client pipelined it.
            let rest = String::from_utf8_lossy(input.buffer()).to_uppercase();
            pipelined = rest.starts_with("RCPT TO:") && rest.ends_with("\r\nDATA\r\n");
            let (n, reply) = {
                let mut s = state.lock().unwrap();
                s.mails += 1;
                s.groups.push(pipelined);
                (s.mails, s.mail_replies.pop_front())
            };
            hold_if(Hold::Mail(n), &state, &stop);
            rcpt.clear();
            mail = cmd.clone();
            let reply = reply.unwrap_or_else(|| "250 OK".into());
            in_mail = reply.starts_with('2');
            let closing = reply.starts_with("421");
            say(&mut out, &reply);
            if closing {
                return;
            }
        } else if upper.starts_with("RSET") {
            rcpt.clear();
            in_mail = false;
            say(&mut out, "250 OK");
        } else if upper.starts_with("RCPT TO") && !in_mail {
            say(&mut out, "503 5.5.1 Error: need MAIL command");
        } else if upper.starts_with("RCPT TO") {
            let addr = cmd
                .split_once('<')
                .and_then(|(_, r)| r.split_once('>'))
                .map_or(String::new(), |(a, _)| a.to_lowercase());
            let delay = state.lock().unwrap().delay_at_rcpt.get(&addr).copied();
            if let Some(delay) = delay {
                std::thread::sleep(delay);
            }
            let reply = state
                .lock()
                .unwrap()
                .rcpt_replies
                .get_mut(&addr)
                .and_then(VecDeque::pop_front)
                .unwrap_or_else(|| "250 OK".into());
            if reply.starts_with('2') {
                rcpt.push(addr);
            }
            say(&mut out, &reply);
        } else if upper == "DATA" {
            let first = rcpt.first().cloned().unwrap_or_default();
            if rcpt.is_empty() {
                say(&mut out, "554 5.5.1 Error: no valid recipients");
                continue;
            }
            {
                let mut s = state.lock().unwrap();
                if let Some(left) = s.drop_before_354.get_mut(&first)
                    && *left > 0
                {
                    *left -= 1;
                    return; // hung up with the envelope read and no 354
                }
            }
            say(&mut out, "354 go ahead");
            if state.lock().unwrap().drop_in_data.remove(&first) {
                // Hang up with the message unread, as a server that crashes
                // mid-DATA does: the kernel answers the unread data with a reset.
                std::thread::sleep(Duration::from_millis(300));
                return;
            }
            let mut raw = Vec::new();
            loop {
                let Some(l) = next_line(&mut input, &stop) else {
                    return;
                };
                if l == b".\r\n" {
                    break;
                }
                // Undo the client's dot-stuffing (RFC 5321 §4.5.2).
                raw.extend_from_slice(l.strip_prefix(b".").unwrap_or(&l));
            }
            let data = String::from_utf8_lossy(&raw).into_owned();
            in_mail = false;
            hold_if(Hold::AfterDot(first.clone()), &state, &stop);
            let mut s = state.lock().unwrap();
            if let Some(delay) = s.delay_after_dot.get(&first).copied() {
                drop(s);
                std::thread::sleep(delay);
                s = state.lock().unwrap();
            }
            if s.drop_after_dot.remove(&first) {
                s.received.push(Received {
                    mail: mail.clone(),
                    rcpt: rcpt.clone(),
                    data,
                    raw,
                    pipelined,
                    at: std::time::Instant::now(),
                });
                return; // connection closed after "." and before the reply
            }
            let reply = s
                .data_replies
                .get_mut(&first)
                .and_then(VecDeque::pop_front)
                .unwrap_or_else(|| "250 2.0.0 queued as test".into());
            if reply.starts_with('2') {
                s.received.push(Received {
                    mail: mail.clone(),
                    rcpt: rcpt.clone(),
                    data,
                    raw,
                    pipelined,
                    at: std::time::Instant::now(),
                });
            }
            drop(s);
            rcpt.clear();
            say(&mut out, &reply);
            hold_if(Hold::AfterReply(first), &state, &stop);
        } else if upper.starts_with("QUIT") {
            say(&mut out, "221 bye");
            return;
        } else {
            say(&mut out, "500 unknown command");
        }
    }
}
