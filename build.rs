//! Embed the default templates, so `greet init` works from an installed
//! binary with no repository beside it.
use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rerun-if-changed=templates");
    let mut files: Vec<String> = std::fs::read_dir(Path::new(&root).join("templates"))
        .expect("templates/ is part of the repository")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| format!("templates/{}", e.file_name().to_string_lossy()))
        .collect();
    files.sort();
    let mut out = String::from(
        "/// (path written by `greet init`, contents)\npub const TEMPLATES: &[(&str, &[u8])] = &[\n",
    );
    for f in &files {
        writeln!(
            out,
            "    ({f:?}, include_bytes!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{f}\"))),"
        )
        .expect("writing to a String cannot fail");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("assets.rs");
    std::fs::write(dest, out).expect("OUT_DIR is writable");
}
