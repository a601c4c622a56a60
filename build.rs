//! Embed the default templates and samples, so `greet init` works from an
//! installed binary with no repository beside it.
use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut files: Vec<String> = Vec::new();
    for dir in ["templates"] {
        println!("cargo:rerun-if-changed={dir}");
        let mut names: Vec<String> = std::fs::read_dir(Path::new(&root).join(dir))
            .expect("templates/ is part of the repository")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| format!("{dir}/{}", e.file_name().to_string_lossy()))
            .collect();
        names.sort();
        files.extend(names);
    }
    for f in ["samples/greet.toml", "samples/customers.csv"] {
        println!("cargo:rerun-if-changed={f}");
    }
    let mut out = String::from("/// (path written by `greet init`, contents)\npub const TEMPLATES: &[(&str, &[u8])] = &[\n");
    for f in &files {
        writeln!(out, "    ({f:?}, include_bytes!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{f}\"))),").unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("assets.rs");
    std::fs::write(dest, out).unwrap();
}
