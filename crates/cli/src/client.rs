//! The CLI's client of a gateway: the API token, JSON requests, errors as
//! exit codes, output as text or JSON.

use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

/// Why a command failed; each kind has its own exit code.
#[derive(Debug)]
pub enum CliError {
    /// The command was used wrongly.
    Usage(String),
    /// The gateway could not be reached or its token read.
    Unreachable(String),
    /// The gateway answered with an error.
    Refused {
        /// Its stable code.
        code: String,
        /// Its message.
        message: String,
    },
    /// Running a gateway failed.
    Gateway(medigate_gateway::GatewayError),
    /// `medigate dev` failed.
    Dev(String),
    /// A keystore operation failed.
    Keys(String),
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CliError::Usage(message)
            | CliError::Unreachable(message)
            | CliError::Dev(message)
            | CliError::Keys(message) => f.write_str(message),
            CliError::Refused { message, .. } => f.write_str(message),
            CliError::Gateway(error) => write!(f, "{error}"),
        }
    }
}

impl CliError {
    /// The stable code (as in `--json` errors).
    pub fn code(&self) -> String {
        match self {
            CliError::Usage(_) => "usage".into(),
            CliError::Unreachable(_) => "unreachable".into(),
            CliError::Refused { code, .. } => code.clone(),
            CliError::Gateway(error) => error.code().into(),
            CliError::Dev(_) => "dev".into(),
            CliError::Keys(_) => "keys".into(),
        }
    }

    /// The exit code: 2 usage, 3 keys (locked, wrong passphrase), 4 invalid
    /// input, 5 not allowed, 6 not found, 7 a service unreachable or
    /// failing (a vault serving records that are not the ones anchored on
    /// chain included), 1 anything else.
    pub fn exit_code(&self) -> u8 {
        match self.code().as_str() {
            "usage" | "bad_request" => 2,
            "keystore_locked" | "wrong_passphrase" | "keystore" | "keys" => 3,
            "invalid_fhir" | "not_importable" | "no_patient" | "other_patient" | "too_large"
            | "bad_card" => 4,
            "denied" | "not_registered" | "unauthorized" | "emergency" | "needs_sponsor"
            | "not_a_sponsor" => 5,
            "not_found" => 6,
            "unreachable" | "chain" | "vault" | "database" | "busy" | "custodian" | "unproven" => 7,
            _ => 1,
        }
    }
}

/// A gateway, as the CLI talks to it.
pub struct GatewayClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl GatewayClient {
    /// A client of the gateway at `base`, with the token in `token_file`.
    pub fn new(base: &str, token_file: &Path) -> Result<Self, CliError> {
        let token = std::fs::read_to_string(token_file).map_err(|error| {
            CliError::Unreachable(format!(
                "cannot read the gateway's API token at {}: {error} (set --token-file or MEDIGATE_TOKEN_FILE)",
                token_file.display()
            ))
        })?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            token: token.trim().to_string(),
            http: reqwest::Client::new(),
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, CliError> {
        let response = request.send().await.map_err(|error| {
            CliError::Unreachable(format!(
                "the gateway at {} does not answer: {error}",
                self.base
            ))
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        let (code, message) = if body["resourceType"] == "OperationOutcome" {
            let issue = &body["issue"][0];
            let diagnostics = issue["diagnostics"].as_str().unwrap_or_default();
            // The gateway names its error code in the issue's details; a
            // FHIR server that does not is read by the HTTP status.
            let named = issue["details"]["coding"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|coding| coding["system"] == medigate_gateway::error::ERROR_CODE_SYSTEM)
                .and_then(|coding| coding["code"].as_str());
            let code = named.unwrap_or(match status.as_u16() {
                401 => "unauthorized",
                403 => "denied",
                404 => "not_found",
                422 => "invalid_fhir",
                423 => "keystore_locked",
                _ => "gateway",
            });
            (code.to_string(), diagnostics.to_string())
        } else {
            (
                body["error"].as_str().unwrap_or("gateway").to_string(),
                body["message"].as_str().unwrap_or_default().to_string(),
            )
        };
        Err(CliError::Refused { code, message })
    }

    /// `GET path` as JSON.
    pub async fn get(&self, path: &str) -> Result<Value, CliError> {
        let response = self.send(self.request(reqwest::Method::GET, path)).await?;
        response.json().await.map_err(|error| {
            CliError::Unreachable(format!("the gateway's answer is not JSON: {error}"))
        })
    }

    /// `GET path` as text.
    pub async fn get_text(&self, path: &str) -> Result<String, CliError> {
        self.get_text_for(path, None).await
    }

    /// `GET path` as text, for `purpose` (an HL7 purpose-of-use code; the
    /// gateway's default when `None`).
    pub async fn get_text_for(
        &self,
        path: &str,
        purpose: Option<&str>,
    ) -> Result<String, CliError> {
        let mut request = self.request(reqwest::Method::GET, path);
        if let Some(purpose) = purpose {
            request = request.header(medigate_gateway::fhir_api::PURPOSE_HEADER, purpose);
        }
        let response = self.send(request).await?;
        response.text().await.map_err(|error| {
            CliError::Unreachable(format!("reading the gateway's answer: {error}"))
        })
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        let response = self
            .send(self.request(reqwest::Method::POST, path).json(body))
            .await?;
        response.json().await.map_err(|error| {
            CliError::Unreachable(format!("the gateway's answer is not JSON: {error}"))
        })
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Result<Value, CliError> {
        let response = self
            .send(self.request(reqwest::Method::PUT, path).json(body))
            .await?;
        response.json().await.map_err(|error| {
            CliError::Unreachable(format!("the gateway's answer is not JSON: {error}"))
        })
    }

    /// Imports a Bundle file or every `.json` file of a directory, showing
    /// progress; stops at the first failure (imports done stay done, and
    /// running the command again resumes). In a directory, Bundles of no
    /// patient's records (Synthea's support files) are passed over.
    pub async fn import(&self, path: &Path, json: bool) -> Result<(), CliError> {
        let files: Vec<PathBuf> = if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|error| CliError::Usage(format!("{}: {error}", path.display())))?
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|file| {
                    file.extension()
                        .is_some_and(|extension| extension == "json")
                })
                .collect();
            files.sort();
            files
        } else {
            vec![path.to_path_buf()]
        };
        if files.is_empty() {
            return Err(CliError::Usage(format!(
                "{} holds no .json files",
                path.display()
            )));
        }
        let directory = path.is_dir();
        for file in files {
            let bytes = std::fs::read(&file)
                .map_err(|error| CliError::Usage(format!("{}: {error}", file.display())))?;
            let result = match self.import_one(&file, bytes, json).await {
                // In a directory, a Bundle of no one's records (Synthea's
                // hospitalInformation and practitionerInformation files
                // beside its patients) is passed over, and said so.
                Err(error) if directory && error.code() == "no_patient" => {
                    let skipped = serde_json::json!({
                        "file": file, "skipped": "no_patient", "message": error.to_string()});
                    if json {
                        out(&skipped.to_string());
                    } else {
                        out(&format!("{}: skipped: {error}", file.display()));
                    }
                    continue;
                }
                other => other?,
            };
            if json {
                out(&serde_json::json!({"file": file, "result": result}).to_string());
            } else {
                let status = if result["already_imported"] == true {
                    "already imported".to_string()
                } else if result["resumed"] == true {
                    format!(
                        "{} records imported (an interrupted import completed)",
                        result["records"]
                    )
                } else {
                    format!("{} records imported", result["records"])
                };
                let person = match &result["person"] {
                    Value::Object(linked) => linked
                        .get("linked_to")
                        .and_then(Value::as_array)
                        .map(|patients| {
                            let patients: Vec<String> = patients
                                .iter()
                                .filter_map(Value::as_str)
                                .map(|id| format!("Patient/{id}"))
                                .collect();
                            format!("; the same person as your {}: linked", patients.join(", "))
                        })
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                out(&format!("{}: {status}{person}", file.display()));
            }
        }
        Ok(())
    }

    async fn import_one(&self, file: &Path, bytes: Vec<u8>, json: bool) -> Result<Value, CliError> {
        let mut response = self
            .send(
                self.request(reqwest::Method::POST, "/api/import")
                    .header(reqwest::header::CONTENT_TYPE, "application/fhir+json")
                    .body(bytes),
            )
            .await?;
        let bar = if json {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        bar.set_style(
            ProgressStyle::with_template("{prefix} {msg:>10} [{bar:30}] {pos}/{len} ({per_sec})")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(
            file.file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let mut pending = Vec::new();
        loop {
            let chunk = response.chunk().await.map_err(|error| {
                CliError::Unreachable(format!(
                    "the gateway stopped answering during the import: {error}"
                ))
            })?;
            let Some(chunk) = chunk else {
                bar.abandon();
                return Err(CliError::Unreachable(
                    "the gateway closed the import without a result; run the import again to resume it".into(),
                ));
            };
            pending.extend_from_slice(&chunk);
            while let Some(end) = pending.iter().position(|byte| *byte == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                let message: Value = serde_json::from_slice(&line).unwrap_or_default();
                if let Some(progress) = message.get("progress") {
                    bar.set_length(progress["total"].as_u64().unwrap_or_default());
                    bar.set_position(progress["done"].as_u64().unwrap_or_default());
                    bar.set_message(progress["phase"].as_str().unwrap_or_default().to_string());
                } else if let Some(result) = message.get("result") {
                    bar.finish_and_clear();
                    return Ok(result.clone());
                } else {
                    bar.abandon();
                    return Err(CliError::Refused {
                        code: message["error"].as_str().unwrap_or("gateway").into(),
                        message: format!(
                            "{}: {}",
                            file.display(),
                            message["message"].as_str().unwrap_or_default()
                        ),
                    });
                }
            }
        }
    }
}

/// Writes `text` and a newline to standard output; a closed pipe (`| head`)
/// is not an error.
pub fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.write_all(b"\n"));
}

/// Prints `answer` as JSON, or as `text(answer)`.
pub fn print(json: bool, answer: &Value, text: impl Fn(&Value) -> String) {
    if json {
        out(&answer.to_string());
    } else {
        out(&text(answer));
    }
}

/// An account id, shortened for tables.
pub fn short(account: &str) -> String {
    if account.len() > 12 {
        format!("{}…{}", &account[..6], &account[account.len() - 6..])
    } else {
        account.to_string()
    }
}

/// Milliseconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn utc(ms: i64) -> String {
    medigate_gateway::utc_instant(ms)
        .replace('T', " ")
        .trim_end_matches('Z')
        .to_string()
}

/// Requests and grants as text.
pub fn describe_access(answer: &Value) -> String {
    let mut lines = vec!["requests:".to_string()];
    for request in answer["requests"].as_array().into_iter().flatten() {
        lines.push(format!(
            "  #{:<4} {:<9} patient {} requester {} purpose {} {}",
            request["request"],
            request["status"].as_str().unwrap_or_default(),
            short(request["patient"].as_str().unwrap_or_default()),
            short(request["requester"].as_str().unwrap_or_default()),
            request["purpose"].as_str().unwrap_or_default(),
            request["categories"]
                .as_array()
                .map(|categories| categories
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","))
                .unwrap_or_default(),
        ));
    }
    lines.push("grants:".into());
    for grant in answer["grants"].as_array().into_iter().flatten() {
        lines.push(format!(
            "  #{:<4} {:<8} patient {} grantee {} purpose {} until {}",
            grant["grant"],
            grant["status"].as_str().unwrap_or_default(),
            short(grant["patient"].as_str().unwrap_or_default()),
            short(grant["grantee"].as_str().unwrap_or_default()),
            grant["purpose"].as_str().unwrap_or_default(),
            utc(grant["expires_ms"].as_i64().unwrap_or_default()),
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_utc() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(1_795_000_000_000), "2026-11-18 11:06:40");
    }

    #[test]
    fn each_kind_of_failure_has_its_exit_code() {
        let refused = |code: &str| CliError::Refused {
            code: code.into(),
            message: String::new(),
        };
        assert_eq!(refused("keystore_locked").exit_code(), 3);
        assert_eq!(refused("invalid_fhir").exit_code(), 4);
        assert_eq!(refused("denied").exit_code(), 5);
        assert_eq!(refused("not_found").exit_code(), 6);
        assert_eq!(refused("unproven").exit_code(), 7);
        assert_eq!(CliError::Unreachable(String::new()).exit_code(), 7);
        assert_eq!(CliError::Usage(String::new()).exit_code(), 2);
    }
}
