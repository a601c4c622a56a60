//! The one integration-test binary: every test runs the real `greet` binary
//! on real files in a temporary folder, with the environment scrubbed.
mod support;

mod batch;
mod bounced;
mod browser;
mod check;
mod classify;
mod config;
mod crash;
#[path = "../shared/cron.rs"]
mod cron;
mod customers;
mod dkim;
mod doctor;
mod dovecot;
mod gift;
mod holiday;
mod inbox;
mod init;
mod interop;
mod oauth;
mod oauth_servers;
mod preview;
mod render;
mod schedule;
mod send;
mod smtp_server;
mod spacing;
mod unsubscribe;
