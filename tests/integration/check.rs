//! `greet check`: every problem, located; exit 2 if any is an error.
use crate::support::{HEADER, Shop};

#[test]
fn the_samples_check_clean() {
    let shop = Shop::samples();
    let out = shop.run(&["check"]).expect(0);
    let text = out.stdout();
    assert!(text.contains("0 errors"), "{text}");
}

#[test]
fn check_reports_a_language_that_falls_back() {
    let shop = Shop::samples();
    let out = shop.run(&["check"]).expect(0);
    let text = out.stdout();
    assert!(text.contains("warning: no \"fr\" template for"), "{text}");
}

#[test]
fn check_lists_every_problem_with_its_location() {
    let shop = Shop::with_customers(&format!(
        "{HEADER}1,maria@example.gr,Μαρία,Κ,f,el,1985-03-14,2015-01-01,,\n\
         2,a@@b.gr,Γιώργος,Π,m,el,1985-03-14,2015-01-01,,\n\
         3,eleni@example.gr,Ελένη,Μ,f,el,1985-03-14,someday,,\n"
    ));
    let path = "templates/birthday.el.txt";
    let text = shop.read(path);
    shop.write(
        path,
        &text.replacen("{{ salutation }}", "{{ salutation | shout }}", 1),
    );
    let out = shop.run(&["check"]).expect(2);
    let text = out.stdout();
    assert!(
        text.contains("customers.csv:3:2: email \"a@@b.gr\" has more than one @"),
        "{text}"
    );
    assert!(
        text.contains("customers.csv:4:8: customer_since \"someday\" is not a date"),
        "{text}"
    );
    assert!(text.contains("templates/birthday.el.txt:"), "{text}");
    assert!(text.contains("shout"), "{text}");
}

#[test]
fn a_config_typo_is_refused_with_its_location() {
    let shop = Shop::samples();
    shop.edit("greet.toml", "leap_day =", "leapday =");
    let out = shop.run(&["check"]).expect(2);
    let line = shop
        .read("greet.toml")
        .lines()
        .position(|l| l.starts_with("leapday"))
        .unwrap()
        + 1;
    assert!(
        out.stdout()
            .contains(&format!("greet.toml:{line}:1: unknown field `leapday`")),
        "{}",
        out.stdout()
    );
    // preview refuses the same way, on stderr
    let out = shop.run(&["preview", "christmas"]).expect(2);
    assert!(
        out.stderr().contains(&format!("greet.toml:{line}:1:")),
        "{}",
        out.stderr()
    );
}

#[test]
fn a_missing_config_names_the_fix() {
    let shop = Shop::samples();
    let out = shop.run(&["--config", "nope.toml", "check"]).expect(2);
    assert!(out.stdout().contains("greet init"), "{}", out.stdout());
}

#[test]
fn a_list_without_an_email_column_lists_the_columns_found() {
    let shop =
        Shop::with_customers("name;mail address;birthday\nΜαρία;maria@example.gr;1985-03-14\n");
    let out = shop.run(&["check"]).expect(2);
    assert!(
        out.stdout().contains(
            "no email column; the columns found are \"name\", \"mail address\", \"birthday\""
        ),
        "{}",
        out.stdout()
    );
}

#[test]
fn a_blank_gender_is_inferred_from_a_greek_name_and_reported() {
    let shop = Shop::with_customers(&format!(
        "{HEADER}1,giorgos@example.gr,Γιώργος,Π,,el,1985-03-14,2015-01-01,,\n\
         2,despoina@example.gr,Δέσποινα,Κ,,el,1985-03-14,2015-01-01,,\n\
         3,alex@example.gr,Alex,M,,el,1985-03-14,2015-01-01,,\n"
    ));
    let out = shop.run(&["check"]).expect(0);
    let text = out.stdout();
    assert!(
        text.contains("customers.csv:2:5: warning: gender inferred as m from the name Γιώργος"),
        "{text}"
    );
    assert!(
        text.contains("customers.csv:3:5: warning: gender inferred as f from the name Δέσποινα"),
        "{text}"
    );
    assert!(!text.contains("from the name Alex"), "{text}");
    let preview = shop
        .run(&["preview", "birthday", "--date", "2026-03-14"])
        .expect(0)
        .stdout();
    assert!(preview.contains("Αγαπητέ Γιώργο,"), "{preview}");
    assert!(preview.contains("Αγαπητή Δέσποινα,"), "{preview}");
    // Not a Greek name, no gender: the neutral salutation.
    assert!(preview.contains("Γεια σου Alex,"), "{preview}");
}
