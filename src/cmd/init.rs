//! `greet init [DIR]`: a working setup in one command.
use anyhow::Context as _;

use crate::assets;
use crate::cli::{Cli, InitArgs};
use crate::exit::Exit;

pub fn run(cli: &Cli, args: &InitArgs) -> anyhow::Result<Exit> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir.join("templates"))
        .with_context(|| format!("cannot create {}", dir.join("templates").display()))?;
    let (mut written, mut kept) = (0, Vec::new());
    for (name, bytes) in assets::SAMPLES.iter().chain(assets::TEMPLATES) {
        let path = dir.join(name);
        if path.exists() {
            kept.push(path.display().to_string());
            continue;
        }
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        written += 1;
    }
    if !cli.quiet {
        println!("wrote {written} files into {}", dir.display());
        for k in &kept {
            println!("kept {k} (already there)");
        }
        println!(
            "next: edit greet.toml (sender) and customers.csv, then `greet --config {} preview birthday`",
            dir.join("greet.toml").display()
        );
    }
    Ok(Exit::Ok)
}
