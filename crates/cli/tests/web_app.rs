//! The web app, clicked through in headless Chromium (Debian's chromium,
//! driven over WebDriver by chromedriver) against a `medigate dev` network:
//! a patient and a doctor, each in their own browser, go through the core
//! loop: sign in, the timeline and a record, a document upload with
//! progress, the patient's QR card photographed and read by the doctor, a
//! request (to read, and to add records), an approval narrowed to two
//! categories, the doctor reading exactly those and adding a lab result the
//! patient then sees, the audit trail with its on-chain proof, revocation, the
//! doctor denied, and a guardian the patient named answering the doctor's
//! next request for them. Every page is checked for labels and for requests to
//! other sites, on a desktop and on a phone-sized window. Screenshots of
//! the main pages are kept under `target/tmp/web-screenshots`.

use std::{
    net::TcpListener,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};

mod common;

use common::Network;

/// The passphrase of every `medigate dev` keystore.
const PASSPHRASE: &str = "medigate-dev";

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(std::env::var("CHROMEDRIVER").unwrap_or("chromedriver".into()))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, with the browsers it starts: stopped
            // together, even when a test fails before closing its browsers.
            .process_group(0)
            .spawn()
            .expect("chromedriver runs (scripts/setup.sh installs Debian's chromium-driver)");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromedriver is not up"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }

    /// A new browser: its own profile, cookies and window.
    async fn browser(&self, profile: &Path) -> Client {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": std::env::var("CHROMIUM").unwrap_or("/usr/bin/chromium".into()),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }),
        );
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .expect("chromedriver starts a Chromium session")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where screenshots are kept.
fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether a WebDriver error says the element's page was replaced under it:
/// stale, or (Chromium's form while a navigation commits) a node that no
/// longer belongs to the document.
fn replaced(error: &fantoccini::error::WebDriver) -> bool {
    error.error == fantoccini::error::ErrorStatus::StaleElementReference
        || error.message.contains("does not belong to the document")
}

/// A user's browser on their gateway.
struct User {
    browser: Client,
    gateway: String,
    name: &'static str,
}

impl User {
    async fn open(&self, path: &str) {
        self.browser
            .goto(&format!("{}{path}", self.gateway))
            .await
            .unwrap();
        self.check_page().await;
    }

    async fn find(&self, css: &str) -> Element {
        self.browser
            .wait()
            .at_most(Duration::from_secs(60))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|error| panic!("{}: no {css} on the page: {error}", self.name))
    }

    /// The text of the first `css` element; found again when the page
    /// changed under it (a redirect still loading).
    async fn text(&self, css: &str) -> String {
        let mut attempts = 0;
        loop {
            match self.find(css).await.text().await {
                Ok(text) => return text,
                Err(fantoccini::error::CmdError::Standard(error))
                    if replaced(&error) && attempts < 20 =>
                {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("{}: the text of {css}: {error}", self.name),
            }
        }
    }

    async fn body(&self) -> String {
        self.text("body").await
    }

    async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
        self.check_page().await;
    }

    /// Clicks a form's submit button `css` and waits until the form's
    /// answer has replaced the page (a slow answer, such as one that waits
    /// for a finalized block, is still loading when the click returns).
    async fn submit(&self, css: &str) {
        let page = self.find("html").await;
        self.find(css).await.click().await.unwrap();
        let started = Instant::now();
        loop {
            match page.attr("lang").await {
                Err(fantoccini::error::CmdError::Standard(error)) if replaced(&error) => break,
                Err(error) => panic!("{}: after submitting {css}: {error}", self.name),
                Ok(_) if started.elapsed() > Duration::from_secs(60) => {
                    panic!("{}: submitting {css} never loaded an answer", self.name)
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        self.check_page().await;
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap();
        field.send_keys(text).await.unwrap();
    }

    /// Waits until the page's path ends with `suffix` (a form's answer
    /// may still be on its way when the click returns).
    async fn wait_for_path(&self, suffix: &str, what: &str) {
        let started = Instant::now();
        loop {
            let url = self.browser.current_url().await.unwrap();
            if url.path().ends_with(suffix) {
                return;
            }
            if started.elapsed() > Duration::from_secs(60) {
                let body = self.body().await;
                panic!("{}: {what}: still at {url}: {body}", self.name);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn heading(&self) -> String {
        self.text("h1").await
    }

    async fn shoot(&self, name: &str) {
        let png = self.browser.screenshot().await.unwrap();
        std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
    }

    async fn script(&self, source: &str) -> Value {
        self.browser.execute(source, vec![]).await.unwrap()
    }

    /// What every page must be: every field labelled, nothing loaded from
    /// another site, no wider than the window.
    async fn check_page(&self) {
        let unlabelled = self
            .script(
                "return [...document.querySelectorAll('input:not([type=hidden]),select,textarea')]
                    .filter(field => field.labels.length === 0).map(field => field.name);",
            )
            .await;
        assert_eq!(unlabelled, json!([]), "{}: unlabelled fields", self.name);
        let foreign = self
            .script(
                "return performance.getEntriesByType('resource').map(entry => entry.name)
                    .filter(name => !name.startsWith(location.origin));",
            )
            .await;
        assert_eq!(foreign, json!([]), "{}: requests to other sites", self.name);
        let overflow = self
            .script("return document.documentElement.scrollWidth - window.innerWidth;")
            .await;
        assert!(
            overflow.as_i64().unwrap_or(0) <= 0,
            "{}: the page is wider than the window by {overflow} px",
            self.name
        );
    }

    /// Signs in with the keyboard alone: the passphrase field has the
    /// focus, Enter submits; then Tab reaches the skip link first, and
    /// Enter on it moves the focus to the page's content.
    async fn sign_in_by_keyboard(&self) {
        self.open("/app").await;
        let focused = self.browser.active_element().await.unwrap();
        assert_eq!(
            focused.attr("id").await.unwrap().as_deref(),
            Some("passphrase")
        );
        focused
            .send_keys(&format!(
                "{PASSPHRASE}{}",
                char::from(fantoccini::key::Key::Enter)
            ))
            .await
            .unwrap();
        let started = Instant::now();
        while self
            .script("const h = document.querySelector('h1'); return h && h.textContent;")
            .await
            != json!("Your records")
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{}: signed in by keyboard",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.check_page().await;
        let body = self.find("body").await;
        body.send_keys(&char::from(fantoccini::key::Key::Tab).to_string())
            .await
            .unwrap();
        let skip = self.browser.active_element().await.unwrap();
        assert_eq!(skip.text().await.unwrap(), "Skip to content");
        skip.send_keys(&char::from(fantoccini::key::Key::Enter).to_string())
            .await
            .unwrap();
        let main = self.browser.active_element().await.unwrap();
        assert_eq!(main.attr("id").await.unwrap().as_deref(), Some("main"));
    }

    async fn sign_in(&self) {
        self.open("/app").await;
        assert_eq!(
            self.heading().await,
            "Sign in",
            "{}: unsigned users sign in first",
            self.name
        );
        self.type_into("#passphrase", "not the passphrase").await;
        self.click("button[type=submit]").await;
        let told = self.text("[role=alert]").await;
        assert!(
            told.contains("does not open"),
            "{}: a wrong passphrase is told: {told}",
            self.name
        );
        self.type_into("#passphrase", PASSPHRASE).await;
        self.click("button[type=submit]").await;
        assert_eq!(
            self.heading().await,
            "Your records",
            "{}: signed in",
            self.name
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn patient_and_doctor_go_through_the_core_loop_in_two_browsers() {
    let network = Network::start(4);
    let driver = Driver::start();
    let gateway = |name: &str| {
        network.participant(name)["gateway"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let patient = User {
        browser: driver.browser(&network.path("chromium-patient")).await,
        gateway: gateway("patient"),
        name: "patient",
    };
    let doctor = User {
        browser: driver.browser(&network.path("chromium-doctor")).await,
        gateway: gateway("doctor"),
        name: "doctor",
    };
    let patient_account = network.account("patient");
    let doctor_account = network.account("doctor");

    // The patient signs in and sees their timeline, then one record.
    patient.sign_in().await;
    let timeline = patient.body().await;
    for category in ["Lab results", "Vital signs", "Medications"] {
        assert!(timeline.contains(category), "the timeline has {category}");
    }
    patient.shoot("patient-timeline").await;
    patient.click(".record a").await;
    let record = patient.body().await;
    assert!(record.contains("Provenance") && record.contains("Author") && record.contains("you"));
    assert!(
        record.contains("in the vault at http://127.0.0.1:"),
        "{record}"
    );
    assert!(
        !patient
            .find("details")
            .await
            .attr("open")
            .await
            .unwrap()
            .is_some(),
        "raw JSON stays folded"
    );
    patient.shoot("patient-record").await;

    // An upload of a document, with its progress shown.
    let pdf = network.path("letter.pdf");
    std::fs::write(
        &pdf,
        b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n",
    )
    .unwrap();
    patient.open("/app/upload").await;
    patient
        .find("#file")
        .await
        .send_keys(pdf.to_str().unwrap())
        .await
        .unwrap();
    patient.type_into("#title", "Discharge letter").await;
    patient.click("#upload button[type=submit]").await;
    let started = Instant::now();
    loop {
        let status = patient.text("#upload-phase").await;
        if status.starts_with("Imported") {
            break;
        }
        assert!(
            !status.contains("fail") && started.elapsed() < Duration::from_secs(60),
            "upload: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        patient
            .find("#upload-progress")
            .await
            .attr("value")
            .await
            .unwrap()
            .as_deref(),
        Some("100")
    );
    patient.shoot("patient-upload").await;
    patient.open("/app?category=documents").await;
    assert!(patient.body().await.contains("Discharge letter"));
    // A file that is neither FHIR nor a document is refused in words.
    let gif = network.path("photo.gif");
    std::fs::write(&gif, b"GIF89a....").unwrap();
    patient.open("/app/upload").await;
    patient
        .find("#file")
        .await
        .send_keys(gif.to_str().unwrap())
        .await
        .unwrap();
    patient.click("#upload button[type=submit]").await;
    let started = Instant::now();
    while !patient.text("#upload-phase").await.contains("none of them") {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the refused upload is explained"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The patient's card; the doctor reads its QR code from a photo of it.
    patient.open("/app/card").await;
    assert!(patient.text("#account-id").await.contains(&patient_account));
    patient.shoot("patient-card").await;
    let photo = network.path("card.png");
    std::fs::write(&photo, patient.browser.screenshot().await.unwrap()).unwrap();

    doctor.sign_in().await;
    doctor.open("/app/patients").await;
    doctor.type_into("#account", "12ab").await;
    doctor.click("#find ~ form button[type=submit]").await;
    assert!(
        doctor
            .text("[role=alert]")
            .await
            .contains("not an account id")
    );
    doctor.open("/app/patients").await;
    doctor
        .find("#qr")
        .await
        .send_keys(photo.to_str().unwrap())
        .await
        .unwrap();
    doctor.click("#find ~ form button[type=submit]").await;
    doctor
        .wait_for_path(&patient_account, "the QR code led to the patient's page")
        .await;
    assert!(
        doctor.body().await.contains("No records to show"),
        "default deny"
    );

    // The doctor asks for labs, vitals and medications.
    doctor
        .ask_for_access(
            &["labs", "vitals", "medications"],
            true,
            "Follow-up of the diabetes care plan",
        )
        .await;
    doctor.shoot("doctor-request").await;

    // The patient narrows the request to labs and vitals and approves.
    patient.open("/app/access").await;
    let request = patient.find("article.card").await;
    let asked = request.text().await.unwrap();
    assert!(
        asked.contains(&doctor_account[..6]) && asked.contains("also ask to add records"),
        "{asked}"
    );
    let medications = patient.find("article.card input[value=medications]").await;
    medications.click().await.unwrap();
    patient.select_days("7").await;
    patient.shoot("patient-access-request").await;
    patient
        .click("article.card form.stack button[type=submit]")
        .await;
    assert!(patient.text("[role=status]").await.contains("Approved"));
    assert!(
        patient
            .body()
            .await
            .contains("cannot take back what they already read")
    );
    patient.shoot("patient-access").await;

    // The doctor sees exactly the approved categories.
    doctor
        .open(&format!("/app/patients/{patient_account}"))
        .await;
    let shared = doctor.text("nav.filters").await;
    assert!(
        shared.contains("Lab results") && shared.contains("Vital signs"),
        "{shared}"
    );
    assert!(
        !shared.contains("Medications") && !shared.contains("Documents"),
        "{shared}"
    );
    assert!(doctor.text("#grants ~ ul").await.contains("active"));
    doctor.shoot("doctor-patient").await;
    doctor.click(".record a").await;
    assert!(doctor.body().await.contains("Provenance"));
    doctor.shoot("doctor-record").await;
    doctor.open("/app/patients").await;
    assert!(doctor.text("#grants-held").await.contains("active"));

    // The patient's audit trail holds the doctor's reads, with their proof.
    patient.open("/app/audit").await;
    let started = Instant::now();
    while !patient.body().await.contains(&doctor_account[..6]) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the doctor's reads reach the audit trail"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        patient.open("/app/audit").await;
    }
    let rows = patient
        .browser
        .find_all(Locator::Css("#audit tbody tr"))
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for row in &rows {
        let text = row.text().await.unwrap();
        assert!(
            text.contains(&doctor_account[..6]) && text.contains("TREAT"),
            "only the doctor read: {text}"
        );
    }
    patient.shoot("patient-audit").await;
    patient
        .click("#audit tbody tr a[href*='/app/audit/']")
        .await;
    let proof = patient.body().await;
    assert!(
        proof.contains("Audit.AccessRecorded") && proof.contains(&doctor_account),
        "{proof}"
    );
    patient.shoot("patient-proof").await;

    // The grant lets the doctor add lab results (not notes: not approved);
    // the result joins the patient's timeline, authored by the doctor.
    doctor
        .open(&format!("/app/patients/{patient_account}"))
        .await;
    let kinds = doctor.text("#kind").await;
    assert!(
        kinds.contains("Lab result") && !kinds.contains("Clinical note"),
        "{kinds}"
    );
    doctor.type_into("#title", "Potassium").await;
    doctor.type_into("#value", "4.1").await;
    doctor.type_into("#unit", "mmol/L").await;
    doctor.shoot("doctor-add-record").await;
    doctor.click("#add ~ form button[type=submit]").await;
    assert!(doctor.text("[role=status]").await.contains("was added"));
    // The patient's gateway collects it once its follower sees the anchor.
    let waiting_since = std::time::Instant::now();
    patient.open("/app?category=labs").await;
    while !patient.body().await.contains("Potassium")
        && waiting_since.elapsed() < std::time::Duration::from_secs(60)
    {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        patient.open("/app?category=labs").await;
    }
    assert!(patient.body().await.contains("Potassium"));
    patient.click(".record a").await;
    let added = patient.body().await;
    assert!(
        added.contains("4.1 mmol/L") && added.contains(&doctor_account),
        "{added}"
    );

    // The patient revokes; the doctor sees nothing more.
    patient.open("/app/access").await;
    patient.click("form.inline button.danger").await;
    assert!(patient.text("[role=status]").await.contains("revoked"));
    doctor
        .open(&format!("/app/patients/{patient_account}"))
        .await;
    let after = doctor.body().await;
    assert!(after.contains("No records to show") && !after.contains("Add to their record"));

    // The patient names a guardian, who answers the doctor's next request
    // for them; the patient's gateway shares when it sees the grant.
    let guardian_account = network.account("guardian");
    patient.open("/app/access").await;
    patient.type_into("#delegate", &guardian_account).await;
    patient.click("#delegates ~ form button[type=submit]").await;
    assert!(
        patient
            .text("[role=status]")
            .await
            .contains("delegate was added")
    );
    assert!(
        patient
            .text("#delegates ~ ul")
            .await
            .contains(&guardian_account[..6])
    );
    doctor
        .open(&format!("/app/patients/{patient_account}"))
        .await;
    doctor
        .ask_for_access(&["labs"], false, "Results for the next visit")
        .await;
    let guardian = User {
        browser: driver.browser(&network.path("chromium-guardian")).await,
        gateway: gateway("guardian"),
        name: "guardian",
    };
    guardian.sign_in_by_keyboard().await;
    guardian.open("/app/access").await;
    assert!(
        guardian
            .text("section.ward h2")
            .await
            .contains(&patient_account[..6])
    );
    guardian.shoot("guardian-access").await;
    guardian
        .click("section.ward article.card form.stack button[type=submit]")
        .await;
    assert!(guardian.text("[role=status]").await.contains("Approved"));
    let started = Instant::now();
    loop {
        doctor
            .open(&format!("/app/patients/{patient_account}"))
            .await;
        if doctor.body().await.contains("Lab results (") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the patient's gateway shares under the guardian's grant"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(!doctor.text("nav.filters").await.contains("Vital signs"));
    // This grant only reads: no form to add records, and a forged one is
    // refused by the chain, leaving the patient's labs as they were.
    let page = doctor.body().await;
    assert!(!page.contains("Add to their record"));
    let labs_before = page
        .split("Lab results (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap()
        .to_string();
    let refused = doctor
        .script(
            "const csrf = document.querySelector('input[name=csrf]').value;
             return fetch(location.pathname + '/records', {method: 'POST',
                 body: new URLSearchParams({csrf, kind: 'lab', title: 'Forged', value: '1'})})
               .then(async answer => [answer.status, await answer.text()]);",
        )
        .await;
    assert_eq!(refused[0], 403, "{refused}");
    assert!(
        refused[1]
            .as_str()
            .unwrap()
            .contains("no current grant from the patient lets you add"),
        "{refused}"
    );
    doctor
        .open(&format!("/app/patients/{patient_account}"))
        .await;
    assert!(
        doctor
            .body()
            .await
            .contains(&format!("Lab results ({labs_before})")),
        "nothing was added"
    );
    guardian.browser.close().await.unwrap();

    // A phone-sized window: the same pages, nothing wider than the screen.
    patient.browser.set_window_size(390, 844).await.unwrap();
    patient.open("/app").await;
    patient.shoot("patient-timeline-phone").await;
    patient.open("/app/access").await;
    patient.shoot("patient-access-phone").await;

    // Signing out ends the session: the app asks to sign in again.
    patient.click("form.signout button").await;
    patient.open("/app/audit").await;
    assert_eq!(patient.heading().await, "Sign in");

    patient.browser.close().await.unwrap();
    doctor.browser.close().await.unwrap();
}

impl User {
    /// On a patient's page, asks for `categories` (and leave to add
    /// records with `write`).
    async fn ask_for_access(&self, categories: &[&str], write: bool, justification: &str) {
        for category in categories {
            self.click(&format!("#ask-{category}")).await;
        }
        if write {
            self.click("#write").await;
        }
        self.type_into("#justification", justification).await;
        self.click("#ask ~ form button[type=submit]").await;
        let told = self.text("[role=status]").await;
        assert!(
            told.contains("was sent to the patient"),
            "{}: {told}",
            self.name
        );
    }

    async fn select_days(&self, days: &str) {
        self.find("article.card select")
            .await
            .select_by_value(days)
            .await
            .unwrap();
    }
}

/// Forms posted without the session's token, or from another site, change
/// nothing.
/// Emergency access in the browser: the patient's settings and card; a
/// responder breaks the glass by typing the patient's id, then by a photo
/// of the patient's emergency card, and sees the summary; the patient
/// flags the break-glass in the review queue.
#[tokio::test(flavor = "multi_thread")]
async fn a_responder_reads_the_emergency_summary_and_the_patient_reviews_it() {
    let network = Network::start(3);
    let driver = Driver::start();
    let gateway = |name: &str| {
        network.participant(name)["gateway"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let patient = User {
        browser: driver.browser(&network.path("chromium-patient")).await,
        gateway: gateway("patient"),
        name: "patient",
    };
    let responder = User {
        browser: driver.browser(&network.path("chromium-responder")).await,
        gateway: gateway("responder"),
        name: "responder",
    };
    let patient_account = network.account("patient");

    // The patient's emergency access, as `medigate dev` enabled it.
    patient.sign_in().await;
    patient.open("/app/emergency").await;
    let state = patient.text("#emergency-state").await;
    assert!(state.starts_with("Enabled."), "{state}");
    assert!(state.contains("5 of 5 custodians"), "{state}");
    assert!(
        patient
            .find("#role-responder")
            .await
            .is_selected()
            .await
            .unwrap(),
        "responders are allowed"
    );
    assert!(
        patient.body().await.contains("Nobody has broken the glass"),
        "no break-glass yet"
    );
    patient.shoot("patient-emergency").await;
    patient.click("a[href='/app/emergency/card']").await;
    let card = patient.text("#card-text").await;
    assert!(card.starts_with("MGEC1."), "{card}");
    patient.shoot("patient-emergency-card").await;
    let card_photo = network.path("emergency-card.png");
    std::fs::write(&card_photo, patient.browser.screenshot().await.unwrap()).unwrap();

    // Every record opens to a responder after a veto window of a minute.
    patient.open("/app/emergency").await;
    patient.type_into("#full-access", "1").await;
    patient
        .submit("form[action='/app/emergency/policy'] button[type=submit]")
        .await;
    assert_eq!(
        patient
            .find("#full-access")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("1")
    );

    // The responder breaks the glass with the patient's id.
    responder.sign_in().await;
    responder.open("/app/emergency").await;
    responder.type_into("#patient", &patient_account).await;
    responder
        .type_into("#reason", "found unconscious at home")
        .await;
    responder
        .click("form[action='/app/emergency/break-glass'] button[type=submit]")
        .await;
    assert_eq!(responder.heading().await, "Emergency summary");
    let result = responder.text("#emergency-result").await;
    assert!(result.contains("3 custodian shares"), "{result}");
    let full_access = responder.text("#full-access").await;
    assert!(
        full_access.contains("unless the patient or a guardian vetoes it"),
        "{full_access}"
    );
    let summary = responder.body().await;
    for section in [
        "Allergies and intolerances",
        "Medication summary",
        "Problem list",
        "Emergency contact",
        "Sam Synthetic",
    ] {
        assert!(summary.contains(section), "the summary shows {section}");
    }
    responder.shoot("responder-emergency-summary").await;

    // Again from a photo of the emergency card (the custodians skipped).
    responder.open("/app/emergency").await;
    responder
        .find("#qr")
        .await
        .send_keys(card_photo.to_str().unwrap())
        .await
        .unwrap();
    responder
        .type_into("#reason", "the card was in the wallet")
        .await;
    responder
        .click("form[action='/app/emergency/break-glass'] button[type=submit]")
        .await;
    let result = responder.text("#emergency-result").await;
    assert!(result.contains("emergency card"), "{result}");

    // The patient sees it in the review queue and flags it.
    let started = Instant::now();
    loop {
        patient.open("/app/emergency").await;
        if patient.body().await.contains("waiting for review") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the break-glass reaches the review queue"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    patient.shoot("patient-emergency-review").await;
    assert!(
        patient.body().await.contains("unless vetoed"),
        "the review queue says when every record opens"
    );
    patient.click("form[action$='/veto'] button").await;
    assert!(
        patient.body().await.contains("Full-record access: vetoed."),
        "the veto is shown"
    );
    patient
        .click("form[action$='/review/flagged'] button")
        .await;
    assert!(
        patient.body().await.contains("flagged to the authorities"),
        "the review is shown"
    );
    assert!(
        !patient.body().await.contains("Flag it to the authorities"),
        "a reviewed break-glass has no review buttons"
    );

    // A phone-sized window.
    patient.browser.set_window_size(390, 844).await.unwrap();
    patient.open("/app/emergency").await;
    patient.shoot("patient-emergency-phone").await;

    patient.browser.close().await.unwrap();
    responder.browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hospital_enrols_a_newcomer_who_registers_in_the_web_app() {
    let network = Network::start(1);
    let driver = Driver::start();
    let gateway = |name: &str| {
        network.participant(name)["gateway"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let newcomer = User {
        browser: driver.browser(&network.path("chromium-newcomer")).await,
        gateway: gateway("newcomer"),
        name: "newcomer",
    };
    let hospital = User {
        browser: driver.browser(&network.path("chromium-hospital")).await,
        gateway: gateway("hospital"),
        name: "hospital",
    };
    let account = network.account("newcomer");

    // Not on the chain yet: the newcomer's app says what to ask for, and
    // registering before anyone enrolled them says why it cannot.
    newcomer.open("/app").await;
    newcomer.type_into("#passphrase", PASSPHRASE).await;
    newcomer.click("button[type=submit]").await;
    assert_eq!(newcomer.heading().await, "Join MediGate");
    assert_eq!(newcomer.text("#account-id").await, account);
    newcomer.shoot("newcomer-join").await;
    newcomer.submit("form[action='/app/register'] button").await;
    let refused = newcomer.body().await;
    assert!(
        refused.contains("no funds for the registration fee"),
        "{refused}"
    );

    // The hospital enrols the account on its Patients page.
    hospital.sign_in().await;
    hospital.open("/app/patients").await;
    hospital.type_into("#newcomer", &account).await;
    hospital
        .submit("form[action='/app/patients/enrol'] button")
        .await;
    let enrolled = hospital.text("[role=status]").await;
    assert!(enrolled.starts_with("Enrolled"), "{enrolled}");
    hospital.shoot("hospital-enrolled").await;

    // The newcomer registers, for nothing, and lands on their records.
    newcomer.open("/app").await;
    newcomer.submit("form[action='/app/register'] button").await;
    assert_eq!(newcomer.heading().await, "Your records");
    let registered = newcomer.text("[role=status]").await;
    assert!(registered.contains("is registered"), "{registered}");
}

#[tokio::test(flavor = "multi_thread")]
async fn forms_without_the_session_token_are_refused() {
    let network = Network::start(1);
    let gateway = network.participant("patient")["gateway"]
        .as_str()
        .unwrap()
        .to_string();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_in = http
        .post(format!("{gateway}/app/login"))
        .form(&[("passphrase", PASSPHRASE), ("next", "/app/access")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let post =
        |path: &str, form: Vec<(&'static str, &'static str)>, origin: Option<&'static str>| {
            let mut request = http
                .post(format!("{gateway}{path}"))
                .header("cookie", &session)
                .form(&form);
            if let Some(origin) = origin {
                request = request.header("origin", origin);
            }
            request.send()
        };
    let forged = post(
        "/app/access/grants/0/revoke",
        vec![("csrf", "forged")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(
        forged
            .text()
            .await
            .unwrap()
            .contains("out of date or came from another site")
    );
    let cross_site = post("/app/logout", vec![], Some("http://evil.example"))
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);
    let page = http
        .get(format!("{gateway}/app/access"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "the session survived the refused forms");
    let headers = page.headers().clone();
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    assert_eq!(headers["cache-control"], "no-store");
    // No other site frames the app, keeps a handle on its window, embeds
    // what it serves or gets a device through it.
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
    ] {
        assert_eq!(headers[name], value, "{name}");
    }
    let permissions = headers["permissions-policy"].to_str().unwrap();
    for feature in ["camera=()", "microphone=()", "geolocation=()"] {
        assert!(permissions.contains(feature), "{permissions}");
    }
    assert!(
        !cookie.contains("Secure"),
        "a loopback gateway on plain HTTP sets no Secure cookie, which the browser would drop: {cookie}"
    );
    let style = http
        .get(format!("{gateway}/app/static/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(style.headers()["cache-control"], "public, max-age=3600");
    let no_session = http
        .get(format!("{gateway}/app/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_session.status(), 303);
    assert_eq!(
        no_session.headers()["location"],
        "/app/login?next=/app/audit"
    );

    // A page of another site that had its own name pointed at the gateway
    // (DNS rebinding) is same-origin to the browser: its requests name the
    // other site's host. Neither its sign-in nor its reads are answered.
    let rebound = http
        .post(format!("{gateway}/app/login"))
        .header("host", "evil.example")
        .header("origin", "http://evil.example")
        .form(&[("passphrase", PASSPHRASE), ("next", "/app/access")])
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), 421);
    assert!(rebound.headers().get("set-cookie").is_none());
    let rebound_read = http
        .get(format!("{gateway}/app/access"))
        .header("host", "evil.example")
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(rebound_read.status(), 421);
    assert!(!rebound_read.text().await.unwrap().contains("Grants"));

    // A sign-in form announcing a megabyte is refused unread: the answer
    // comes although only the first kilobyte is ever sent.
    let huge = {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let address = gateway.trim_start_matches("http://");
        let mut connection = tokio::net::TcpStream::connect(address).await.unwrap();
        let head = format!(
            "POST /app/login HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\npassphrase=",
            1 << 20
        );
        connection.write_all(head.as_bytes()).await.unwrap();
        connection.write_all(&[b'x'; 1024]).await.unwrap();
        let mut answer = vec![0u8; 64];
        let read = tokio::time::timeout(Duration::from_secs(20), connection.read(&mut answer))
            .await
            .expect("the gateway answers without the rest of the body")
            .unwrap();
        String::from_utf8_lossy(&answer[..read]).to_string()
    };
    assert!(huge.starts_with("HTTP/1.1 413"), "{huge}");

    // Guessing passphrases: a few tries, then the client must wait, even
    // with the right passphrase; what it asks for is not read meanwhile.
    let mut statuses = Vec::new();
    for guess in ["guess-1", "guess-2", "guess-3", "guess-4", PASSPHRASE] {
        let tried = http
            .post(format!("{gateway}/app/login"))
            .form(&[("passphrase", guess)])
            .send()
            .await
            .unwrap();
        statuses.push(tried.status().as_u16());
        if tried.status() == 429 {
            let wait: u64 = tried.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=13).contains(&wait), "{wait}");
            assert!(tried.headers().get("set-cookie").is_none());
        }
    }
    // The first sign-in above and the oversized form were two attempts.
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
}
