//! The frame of every page: the head, a skip link, the navigation, the
//! sign-out button, and helpers the pages share.

use maud::{DOCTYPE, Markup, html};

use crate::web::session::SignedIn;

/// Where a page sits in the navigation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// The timeline and records.
    Records,
    /// Uploading.
    Upload,
    /// Requests and grants.
    Access,
    /// The audit trail.
    Audit,
    /// The patient's card and QR code.
    Card,
    /// A clinician's patients.
    Patients,
    /// Emergency access.
    Emergency,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · MediGate" }
            link rel="stylesheet" href="/app/static/app.css";
            script src="/app/static/app.js" defer {}
        }
    }
}

/// A page for a signed-in user.
pub fn page(title: &str, user: &SignedIn, section: Section, body: Markup) -> Markup {
    let link = |href: &str, label: &str, this: Section| {
        html! {
            li {
                @if this == section {
                    a href=(href) aria-current="page" { (label) }
                } @else {
                    a href=(href) { (label) }
                }
            }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/app" { "MediGate" }
                    nav aria-label="Main" {
                        ul {
                            (link("/app", "Records", Section::Records))
                            (link("/app/upload", "Upload", Section::Upload))
                            (link("/app/access", "Access", Section::Access))
                            (link("/app/audit", "Audit trail", Section::Audit))
                            (link("/app/card", "My card", Section::Card))
                            @if user.clinician {
                                (link("/app/patients", "Patients", Section::Patients))
                            }
                            (link("/app/emergency", "Emergency", Section::Emergency))
                        }
                    }
                    form.signout method="post" action="/app/logout" {
                        input type="hidden" name="csrf" value=(user.csrf);
                        span.account title=(hex::encode(user.account)) { (short_account(&hex::encode(user.account))) }
                        button type="submit" { "Sign out" }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page without navigation (sign-in, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top { a.brand href="/app" { "MediGate" } }
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The sign-in page, with `problem` when the last try failed.
pub fn login(next: &str, problem: Option<&str>) -> Markup {
    bare(
        "Sign in",
        html! {
            p { "Your keys stay in this gateway. Its keystore's passphrase opens a session here." }
            @if let Some(problem) = problem {
                p.error role="alert" { (problem) }
            }
            form.stack method="post" action="/app/login" {
                input type="hidden" name="next" value=(next);
                label for="passphrase" { "Passphrase" }
                input #passphrase type="password" name="passphrase" required autocomplete="current-password" autofocus;
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// An account id shortened for reading (`5e2c…a91f`); the full id is in
/// the element's title.
pub fn short_account(account: &str) -> String {
    let characters: Vec<char> = account.chars().collect();
    if characters.len() > 12 {
        let head: String = characters[..6].iter().collect();
        let tail: String = characters[characters.len() - 4..].iter().collect();
        format!("{head}…{tail}")
    } else {
        account.to_string()
    }
}

/// Milliseconds since the Unix epoch as a date and time people read
/// (`2026-11-24 13:05 UTC`).
pub fn when(ms: i64) -> String {
    let instant = crate::utc_instant(ms);
    format!("{} {} UTC", &instant[..10], &instant[11..16])
}

/// A form with one button posting to `action`.
pub fn button_form(action: &str, csrf: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            button class=(class) type="submit" { (label) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_shorten_and_instants_read() {
        assert_eq!(short_account(&"ab".repeat(32)), "ababab…abab");
        // Not an account id at all: shortened by characters, no panic.
        assert_eq!(short_account(&"é".repeat(13)), "éééééé…éééé");
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
    }

    #[test]
    fn the_sign_in_page_escapes_what_it_echoes() {
        let page = login("/app?x=\"><script>", Some("<b>no</b>")).into_string();
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;b&gt;no&lt;/b&gt;"));
    }
}
