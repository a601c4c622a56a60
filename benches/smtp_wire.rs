//! greet's SMTP transport alone — no rendering, no ledger: the .eml files of
//! an outbox sent through `transport::open` and `Deliver::deliver` over one
//! kept connection, as `greet send` does. Prints the seconds from connecting
//! to QUIT. Driven by `benches/smtp_wire.sh`, which compares it with a bare
//! smtplib loop and with Postfix's smtp-source.
//!
//! `cargo bench --bench smtp_wire -- CONFIG OUTBOX` (without arguments it
//! says so and does nothing, so that `cargo bench` stays quiet).
use std::path::Path;
use std::time::Instant;

use greet::transport::Delivery;
use lettre::Address;
use lettre::address::Envelope;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [config, outbox] = args.as_slice() else {
        eprintln!("smtp_wire: usage: smtp_wire CONFIG OUTBOX (see benches/smtp_wire.sh)");
        return;
    };
    let config = greet::config::Config::load(Path::new(config))
        .unwrap_or_else(|problems| panic!("{config}: {problems:?}"));
    let from: Address = config.sender.email.parse().expect("the sender's address");
    let mut files: Vec<_> = std::fs::read_dir(outbox)
        .expect("the outbox folder")
        .map(|e| e.expect("a folder entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    let messages: Vec<(Envelope, Vec<u8>, String)> = files
        .iter()
        .map(|path| {
            let bytes = std::fs::read(path).expect("an .eml file");
            let head = greet::batch::head(&bytes);
            let to = head
                .to
                .first()
                .and_then(|v| greet::batch::mailbox_address(v))
                .expect("one To address");
            let envelope = Envelope::new(
                Some(from.clone()),
                vec![to.parse().expect("a valid To address")],
            )
            .expect("an envelope");
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (envelope, bytes, name)
        })
        .collect();

    let start = Instant::now();
    let mut transport = greet::transport::open(&config).expect("the transport");
    if let Err(d) = transport.prepare() {
        panic!("cannot connect: {d:?}");
    }
    for (envelope, bytes, name) in &messages {
        match transport.deliver(envelope, bytes, name) {
            Delivery::Sent(_) => {}
            other => panic!("{name}: {other:?}"),
        }
    }
    drop(transport); // QUIT
    println!("{:.6}", start.elapsed().as_secs_f64());
}
