//! `greet init`: a working shop in one command, identical to the repository's samples.
use std::path::Path;

use crate::support::{REPO, Shop};

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

#[test]
fn init_writes_the_samples_and_templates_byte_for_byte() {
    let shop = Shop::samples();
    shop.run(&["init", "newshop"]).expect(0);
    let new = shop.path("newshop");
    for f in ["greet.toml", "customers.csv"] {
        assert_eq!(
            std::fs::read(new.join(f)).unwrap(),
            std::fs::read(Path::new(REPO).join("samples").join(f)).unwrap(),
            "{f}"
        );
    }
    let repo_templates = Path::new(REPO).join("templates");
    assert_eq!(files_in(&new.join("templates")), files_in(&repo_templates));
    for f in files_in(&repo_templates) {
        assert_eq!(
            std::fs::read(new.join("templates").join(&f)).unwrap(),
            std::fs::read(repo_templates.join(&f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn an_initialised_shop_previews_and_checks_cleanly() {
    let shop = Shop::samples();
    shop.run(&["init", "newshop"]).expect(0);
    shop.run(&["--config", "newshop/greet.toml", "check"])
        .expect(0);
    let out = shop
        .run(&["--config", "newshop/greet.toml", "preview", "christmas"])
        .expect(0);
    assert!(out.stdout().contains("Subject: "));
}

#[test]
fn init_keeps_files_that_are_already_there() {
    let shop = Shop::samples();
    shop.write(
        "newshop/customers.csv",
        "email,first_name\nme@example.com,Me\n",
    );
    let out = shop.run(&["init", "newshop"]).expect(0);
    assert!(out.stdout().contains("kept"), "{}", out.stdout());
    assert_eq!(
        shop.read("newshop/customers.csv"),
        "email,first_name\nme@example.com,Me\n"
    );
}
