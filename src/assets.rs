//! Files compiled into the binary for `greet init`.
include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The sample configuration and customer list, as written by `greet init`.
pub const SAMPLES: &[(&str, &[u8])] = &[
    ("greet.toml", include_bytes!("../samples/greet.toml")),
    ("customers.csv", include_bytes!("../samples/customers.csv")),
];
