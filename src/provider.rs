//! The mailbox providers most shops send from, and what each one requires:
//! `[transport] provider = "microsoft365"` fills in the host, port,
//! security and the provider's published sending limits. Keys written in
//! greet.toml still win. The figures and where they are published are in
//! the README ("Sending from Microsoft 365, Outlook.com or Gmail").
use std::time::Duration;

use serde::Deserialize;

use crate::config::{LoginFlow, Security};
use crate::rate::Rate;

/// `provider = "…"` as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    /// Exchange Online (a Microsoft 365 business mailbox).
    Microsoft365,
    /// Outlook.com, Hotmail, Live: a personal Microsoft account.
    Outlook,
    /// A personal Gmail account.
    Gmail,
    /// A Google Workspace (business) mailbox.
    GoogleWorkspace,
}

/// What a provider fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub host: &'static str,
    pub port: u16,
    pub security: Security,
    /// Messages per window (submission throttling).
    pub rate: Rate,
    /// Messages in any 24 hours (each greeting has one recipient, so this is
    /// also the recipients' count).
    pub daily_limit: usize,
}

/// The scope Microsoft grants IMAP for: added to a Microsoft sign-in when
/// `[inbox]` reads the mailbox with it.
pub const MICROSOFT_IMAP_SCOPE: &str = "https://outlook.office.com/IMAP.AccessAsUser.All";

/// A provider's OAuth 2.0 sign-in: endpoints, scopes, flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthPreset {
    pub flow: LoginFlow,
    pub authorize_url: Option<String>,
    pub device_url: Option<String>,
    pub token_url: String,
    pub scopes: Vec<String>,
}

const fn per_minute(count: usize) -> Rate {
    Rate {
        count,
        per: Duration::from_secs(60),
    }
}

impl Provider {
    pub const ALL: [Provider; 4] = [
        Provider::Microsoft365,
        Provider::Outlook,
        Provider::Gmail,
        Provider::GoogleWorkspace,
    ];

    /// The name written in greet.toml.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Microsoft365 => "microsoft365",
            Provider::Outlook => "outlook",
            Provider::Gmail => "gmail",
            Provider::GoogleWorkspace => "google-workspace",
        }
    }

    /// What to sign in with today, for messages.
    pub fn password_hint(self) -> &'static str {
        match self {
            Provider::Microsoft365 => {
                "a password works only where the tenant still allows password SMTP AUTH for the mailbox"
            }
            Provider::Outlook => {
                "Outlook.com no longer takes passwords for SMTP: use auth = \"oauth2\""
            }
            Provider::Gmail | Provider::GoogleWorkspace => {
                "a password: an app password, made in the Google account's security settings with 2-Step Verification on"
            }
        }
    }

    /// The provider's OAuth 2.0 endpoints, scopes and sign-in flow.
    /// `tenant`: the Microsoft Entra tenant (Microsoft 365: the owner's,
    /// "organizations" if none; Outlook.com: "consumers", personal accounts).
    pub fn oauth(self, tenant: Option<&str>) -> OAuthPreset {
        match self {
            Provider::Microsoft365 | Provider::Outlook => {
                let tenant = tenant.unwrap_or(if self == Provider::Outlook {
                    "consumers"
                } else {
                    "organizations"
                });
                let base = format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0");
                OAuthPreset {
                    flow: LoginFlow::Device,
                    authorize_url: Some(format!("{base}/authorize")),
                    device_url: Some(format!("{base}/devicecode")),
                    token_url: format!("{base}/token"),
                    scopes: vec![
                        "https://outlook.office.com/SMTP.Send".into(),
                        "offline_access".into(),
                    ],
                }
            }
            // Google's device flow does not grant the mail scope: the
            // browser, back to a loopback port.
            Provider::Gmail | Provider::GoogleWorkspace => OAuthPreset {
                flow: LoginFlow::Browser,
                authorize_url: Some("https://accounts.google.com/o/oauth2/v2/auth".into()),
                device_url: None,
                token_url: "https://oauth2.googleapis.com/token".into(),
                scopes: vec!["https://mail.google.com/".into()],
            },
        }
    }

    /// The provider's IMAP server (IMAPS, port 993), for `greet inbox`.
    pub fn imap_host(self) -> &'static str {
        match self {
            Provider::Microsoft365 | Provider::Outlook => "outlook.office365.com",
            Provider::Gmail | Provider::GoogleWorkspace => "imap.gmail.com",
        }
    }

    pub fn preset(self) -> Preset {
        match self {
            // Exchange Online limits: 30 messages a minute (SMTP client
            // submission), 10,000 recipients a day.
            Provider::Microsoft365 => Preset {
                host: "smtp.office365.com",
                port: 587,
                security: Security::Starttls,
                rate: per_minute(30),
                daily_limit: 10_000,
            },
            // Outlook.com publishes no fixed figure (it depends on the
            // account's standing); 300 a day is what a free account gets.
            Provider::Outlook => Preset {
                host: "smtp-mail.outlook.com",
                port: 587,
                security: Security::Starttls,
                rate: per_minute(30),
                daily_limit: 300,
            },
            // Gmail: 500 recipients a day; no per-minute figure is published,
            // so greet keeps well below what its servers take.
            Provider::Gmail => Preset {
                host: "smtp.gmail.com",
                port: 587,
                security: Security::Starttls,
                rate: per_minute(20),
                daily_limit: 500,
            },
            // Google Workspace: 2,000 messages a day (500 on a trial).
            Provider::GoogleWorkspace => Preset {
                host: "smtp.gmail.com",
                port: 587,
                security: Security::Starttls,
                rate: per_minute(30),
                daily_limit: 2_000,
            },
        }
    }
}
