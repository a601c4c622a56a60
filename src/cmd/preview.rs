//! `greet preview OCC`: the greetings `send` would send on a date — to the
//! terminal, as .eml files, or as JSON lines. Never connects to a server and
//! never writes a ledger.
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context as _;

use super::{fail_on, load_config};
use crate::cli::{Cli, Format, PreviewArgs};
use crate::exit::{Exit, Halt};
use crate::message::compose;
use crate::pipeline::{Filter, Item, Run, Status};
use crate::render::Renderer;
use crate::review::{self, Review};
use crate::staged::{StagedDir, StagedFile};
use crate::{batch, clock, context, jsonl, report};

enum Sink {
    Text(Out),
    Json(Out),
    /// The review page, written when every greeting is in.
    Html(Out, Review),
    /// A batch: one .eml per greeting, a manifest and a review page, in a
    /// staged folder that is put in place only when all of it is written.
    Eml(StagedDir, Review, Vec<batch::Item>),
}

/// Standard output, or a file that appears only when the run succeeds.
enum Out {
    Stdout(BufWriter<std::io::StdoutLock<'static>>),
    File(StagedFile),
}

impl Out {
    fn open(out: Option<&Path>) -> anyhow::Result<Out> {
        Ok(match out {
            Some(p) => Out::File(StagedFile::create(p)?),
            None => Out::Stdout(BufWriter::with_capacity(1 << 16, std::io::stdout().lock())),
        })
    }

    fn commit(self) -> anyhow::Result<()> {
        match self {
            Out::Stdout(mut w) => Ok(w.flush()?),
            Out::File(f) => f.commit(),
        }
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Out::Stdout(w) => w.write(buf),
            Out::File(f) => f.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Out::Stdout(w) => w.flush(),
            Out::File(f) => f.flush(),
        }
    }
}

pub fn run(cli: &Cli, args: &PreviewArgs) -> anyhow::Result<Exit> {
    let config = load_config(&cli.config)?;
    let occasion = config.occasion(&args.occasion).map_err(Halt::invalid)?;
    let now = clock::now(config.time_zone)?;
    let date = super::day(args.date.as_deref(), "--date", &config, now.date_naive())?;
    let mut renderer = Renderer::load(&config).map_err(fail_on)?;
    renderer.set_globals(context::globals(now.date_naive()));
    let roster = crate::pipeline::scan_for(&config, &[(occasion, date)]).map_err(fail_on)?;
    let mut err = std::io::stderr().lock();
    if cli.verbose {
        writeln!(
            err,
            "config {} · time zone {} · now {} · templates {} · customers {}",
            config.path.display(),
            config.time_zone,
            now.format("%Y-%m-%d %H:%M %:z"),
            config.templates.display(),
            config.customers.display()
        )?;
    }
    if !cli.quiet {
        report::list_head(
            &roster.problems,
            &config.customers.display().to_string(),
            5,
            &mut err,
        )?;
    }

    let new_review = || Review {
        occasion: occasion.name.clone(),
        date: date.to_string(),
        from: format!("{} <{}>", config.sender.name, config.sender.email),
        entries: Vec::new(),
        skipped: Vec::new(),
        problems: roster.problems.iter().map(ToString::to_string).collect(),
    };
    let mut sink = match args.format {
        Format::Text => Sink::Text(Out::open(args.out.as_deref())?),
        Format::Json => Sink::Json(Out::open(args.out.as_deref())?),
        Format::Html => Sink::Html(Out::open(args.out.as_deref())?, new_review()),
        Format::Eml => {
            let dir = args.out.clone().ok_or_else(|| {
                Halt::invalid(
                    "--format eml writes one file per message: name a folder with --out DIR",
                )
            })?;
            Sink::Eml(StagedDir::new(&dir)?, new_review(), Vec::new())
        }
    };
    let mut run = Run::new(&config, &renderer, &roster, occasion, date, now);
    // Read the ledger if there is one (preview never creates or writes it).
    run.ledger = crate::ledger::View::open(&config.ledger)?;
    run.keep_rendered = matches!(args.format, Format::Html | Format::Eml);
    let filter = Filter {
        only: args.only.clone(),
    };
    let limit = args.limit.unwrap_or(usize::MAX);
    let (mut due, mut skipped) = (0usize, Vec::<(Status, String, String)>::new());
    let mut fallbacks = report::Fallbacks::default();
    let mut template_problems = Vec::new();
    let format = args.format;
    run.for_each(
        &filter,
        |item| encode(format, item, &run),
        |result| {
            let (item, bytes) = match result {
                Ok(pair) => pair,
                Err(p) => {
                    // The same template error hits every customer: report it once.
                    if !template_problems.contains(&p) {
                        template_problems.push(p);
                    }
                    return Ok(true);
                }
            };
            if item.status == Status::Due {
                if due >= limit {
                    return Ok(false);
                }
                due += 1;
                if let Some(wanted) = item.wanted_language(&config) {
                    fallbacks.add(&occasion.template, wanted, &item.lang);
                }
            } else {
                let who = format!("{} <{}>", item.customer.full_name(), item.customer.email);
                skipped.push((item.status, who, item.why_skipped(&run.ledger)));
            }
            write_item(&mut sink, &item, &bytes, due)?;
            Ok(true)
        },
    )?;
    // Any problem: nothing is put in place (the staged output is dropped).
    if !template_problems.is_empty() {
        return Err(fail_on(template_problems));
    }
    match sink {
        Sink::Text(mut w) => {
            for (_, who, why) in &skipped {
                writeln!(w, "skipped · {who} · {why}")?;
            }
            w.commit()?
        }
        Sink::Json(w) => w.commit()?,
        Sink::Html(mut w, review) => {
            review.write(&mut w)?;
            w.commit()?
        }
        Sink::Eml(staged, review, items) => {
            let path = staged.path().join(batch::REVIEW);
            let mut w = BufWriter::new(
                File::create(&path).with_context(|| format!("cannot create {}", path.display()))?,
            );
            review.write(&mut w)?;
            w.into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| format!("cannot write {}", path.display()))?
                .sync_all()?;
            // The manifest last, sealed with the shop's key (made with the first batch).
            let key = batch::Key::load(&config.ledger, true)?;
            batch::Manifest {
                version: batch::VERSION,
                occasion: occasion.name.clone(),
                date: date.to_string(),
                rendered_at: now.to_rfc3339(),
                from: config.sender.email.clone(),
                greetings: items,
                seal: String::new(),
            }
            .write(staged.path(), &key)?;
            staged.commit()?;
        }
    }
    if cli.verbose {
        writeln!(
            err,
            "{}: read {}",
            config.customers.display(),
            report::count(crate::customer::reads(), "time", "times")
        )?;
    }
    if !cli.quiet {
        let mut line = format!(
            "{} for {} on {date}",
            report::count(due, "greeting", "greetings"),
            occasion.name
        );
        for status in [
            Status::AlreadySent,
            Status::Uncertain,
            Status::Failed,
            Status::OptedOut,
            Status::Invalid,
            Status::Spaced,
        ] {
            let n = skipped.iter().filter(|(s, _, _)| *s == status).count();
            if n > 0 {
                line.push_str(&format!(" · {n} {}", status.describe()));
            }
        }
        match (args.format, &args.out) {
            (Format::Eml, Some(dir)) => line.push_str(&format!(
                " · written to {} with {} and {}",
                dir.display(),
                batch::MANIFEST,
                batch::REVIEW
            )),
            (Format::Html, Some(out)) => {
                line.push_str(&format!(" · review page {}", out.display()));
            }
            _ => {}
        }
        writeln!(err, "{line}")?;
    }
    // Said even with --quiet: these customers would read another language.
    for line in fallbacks.lines() {
        writeln!(err, "{line}")?;
    }
    Ok(Exit::Ok)
}

/// Runs on the worker threads: everything that does not depend on the
/// greeting's position in the output.
fn encode(format: Format, item: &Item, run: &Run<'_>) -> anyhow::Result<Vec<u8>> {
    let c = &item.customer;
    let r = item.rendered.as_ref();
    let size = r.map_or(0, |r| {
        r.subject.len() + r.text.len() + r.html.as_ref().map_or(0, String::len)
    });
    let mut out = Vec::with_capacity(size + size / 8 + 512);
    match format {
        Format::Html => {}
        Format::Text => {
            if let Some(r) = r {
                write!(out, "{} <{}> · {}", c.full_name(), c.email, item.lang)?;
                // Sent for several occasions of the day at once: say which.
                match &item.combined {
                    Some(t) => writeln!(out, " · {t}")?,
                    None => writeln!(out)?,
                }
                writeln!(out, "Subject: {}\n", r.subject)?;
                writeln!(out, "{}\n", r.text.trim_end())?;
            }
        }
        Format::Json => {
            jsonl::Object::new(&mut out)
                .str("customer", &c.key)
                .str("to", &c.email)
                .str("name", &c.first_name)
                .str("full_name", &c.full_name())
                .str("language", &item.lang)
                .str("occasion", &item.key.occasion)
                .str("date", &run.targets[0].date_text)
                .str("occurrence", &item.key.occurrence)
                .str("status", item.status.code())
                .opt("gave_way_to", item.gave_way_to.as_deref())
                .opt("combined", item.combined.as_deref())
                .opt("subject", r.map(|r| r.subject.as_str()))
                .opt("text", r.map(|r| r.text.as_str()))
                .opt("html", r.and_then(|r| r.html.as_deref()))
                .opt(
                    "message_id",
                    r.map(|_| item.key.message_id(run.config.sender.domain()))
                        .as_deref(),
                )
                .opt(
                    "list_unsubscribe",
                    r.and(item.unsubscribe.as_ref())
                        .map(|l| l.header())
                        .as_deref(),
                )
                .end();
        }
        Format::Eml => {
            if let Some(r) = r {
                let message = compose(
                    &run.config.sender,
                    &c.full_name(),
                    &c.email,
                    &item.key,
                    r,
                    run.now,
                    item.unsubscribe.as_ref(),
                )
                .map_err(|e| {
                    Halt::invalid(format!(
                        "{}:{}: {e}",
                        run.config.customers.display(),
                        c.line
                    ))
                })?;
                out = message.formatted();
            }
        }
    }
    Ok(out)
}

fn write_item(sink: &mut Sink, item: &Item, bytes: &[u8], index: usize) -> anyhow::Result<()> {
    let entry = |file: Option<String>| {
        let r = item.rendered.as_ref().expect("due greetings are rendered");
        review::Entry {
            name: item.customer.full_name(),
            to: item.customer.email.clone(),
            lang: item.lang.clone(),
            subject: r.subject.clone(),
            text: r.text.clone(),
            html: r.html.clone(),
            file,
        }
    };
    let skipped = || review::Skipped {
        name: item.customer.full_name(),
        to: item.customer.email.clone(),
        status: item.status,
        why: item.gave_way_to.clone(),
    };
    match sink {
        Sink::Text(w) => {
            if item.status == Status::Due {
                write!(w, "━━ {index} · ")?;
                w.write_all(bytes)?;
            }
        }
        Sink::Json(w) => w.write_all(bytes)?,
        Sink::Html(_, review) => {
            if item.status == Status::Due {
                review.entries.push(entry(None));
            } else {
                review.skipped.push(skipped());
            }
        }
        Sink::Eml(staged, review, items) => {
            if item.status == Status::Due {
                let name = crate::message::eml_name(&item.key, Some(index));
                let path = staged.path().join(&name);
                std::fs::write(&path, bytes)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                items.push(batch::Item {
                    file: name.clone(),
                    sha256: batch::sha256_hex(bytes),
                    occasion: item.key.occasion.clone(),
                    customer: item.key.customer.clone(),
                    occurrence: item.key.occurrence.clone(),
                    to: item.customer.email.clone(),
                    name: item.customer.full_name(),
                    gift_code: item.gift.as_ref().map(|g| g.code.compact().to_string()),
                    gift_valid_until: item.gift.as_ref().map(|g| g.valid_until.to_string()),
                });
                review.entries.push(entry(Some(name)));
            } else {
                review.skipped.push(skipped());
            }
        }
    }
    Ok(())
}
