//! The vault against a real dev node: reads follow consent and leave receipts
//! on chain; bad input gets a specific 4xx and stores nothing; every exchange
//! matches the OpenAPI document; an acknowledged upload and the receipts of
//! served reads survive `kill -9`; the same API over an S3-compatible store.

mod support;

use std::{collections::BTreeSet, path::Path, time::Duration};

use base64::Engine as _;
use medigate_chain_client::{
    account_id, chain_time, medigate,
    medigate::runtime_types::{
        medigate_access_policy::terms::{Action, ActionSet, Category, CategorySet, Purpose, Scope},
        pallet_records::AnchorRequest,
    },
    subxt::utils::H256,
    subxt_signer::sr25519::{self, dev},
};
use medigate_crypto::{
    record::{self, RecordBinding, RecordKey},
    wrap::{self, WrapBinding},
};
use medigate_vault::batch::BatchItem;
use reqwest::{Method, StatusCode};
use support::{Chain, Signing, VaultClient, submit, unix_ms};

/// An encrypted record: its envelope, key, binding and content id.
struct Sealed {
    envelope: Vec<u8>,
    key: RecordKey,
    binding: RecordBinding,
    content_id: [u8; 32],
    plaintext: Vec<u8>,
}

fn seal(owner: [u8; 32], plaintext: &[u8]) -> Sealed {
    let key = RecordKey::generate();
    let binding = RecordBinding {
        record_id: *blake3::hash(plaintext).as_bytes(),
        version: 0,
        owner,
    };
    let mut envelope = Vec::new();
    let encrypted = record::encrypt(&key, binding, plaintext, &mut envelope).unwrap();
    Sealed {
        envelope,
        key,
        binding,
        content_id: encrypted.content_id,
        plaintext: plaintext.to_vec(),
    }
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// The first file under `dir` whose bytes contain `needle`, if any.
fn file_holding(dir: &Path, needle: &[u8]) -> Option<String> {
    files_under(dir).into_iter().find(|file| {
        std::fs::read(dir.join(file))
            .is_ok_and(|bytes| bytes.windows(needle.len()).any(|window| window == needle))
    })
}

/// The files under `dir` (recursively), relative to it.
fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut files = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    files
}

async fn anchor(chain: &Chain, sealed: &Sealed) {
    submit(
        &chain.client,
        &medigate::tx().records().anchor(
            account_id(&chain.patient),
            AnchorRequest {
                content_id: H256(sealed.content_id),
                category: Category::Labs,
                size: sealed.envelope.len() as u64,
                previous: None,
            },
        ),
        &chain.patient,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_follow_consent_leave_receipts_and_match_the_api_document() {
    let mut chain = Chain::start().await;
    let data = chain.dir.path().join("vault-data");
    let vault = chain
        .start_vault(&data, &["--max-blob-bytes", "1048576"])
        .await;
    let client = VaultClient::new(vault.base_url(), chain.vault_account());
    let (patient, doctor, stranger) = (chain.patient.clone(), chain.doctor.clone(), dev::ferdie());
    let patient_id = account_id(&patient).0;
    let doctor_id = account_id(&doctor).0;

    let lab = seal(
        patient_id,
        b"{\"resourceType\":\"Observation\",\"status\":\"final\"}",
    );
    let blob_path = format!("/blobs/{}", hex(&lab.content_id));

    // Uploads: signed by a registered account, the content id checked, idempotent.
    let stored = client
        .send(
            Signing::By(&patient),
            Method::PUT,
            &blob_path,
            lab.envelope.clone(),
        )
        .await;
    assert_eq!(stored.status, StatusCode::CREATED, "{:?}", stored.json());
    assert_eq!(stored.json()["size"], lab.envelope.len());
    let again = client
        .send(
            Signing::By(&patient),
            Method::PUT,
            &blob_path,
            lab.envelope.clone(),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["created"], false);
    let stored_files = files_under(&data);

    // --- Bad uploads: a specific error each, nothing stored. ---
    let other = seal(patient_id, b"another record");
    let other_path = format!("/blobs/{}", hex(&other.content_id));
    // The body is not what the content id names (signed over the id, as a
    // streaming client signs).
    let mismatch = client
        .send(
            Signing::OverHash(&patient, other.content_id),
            Method::PUT,
            &other_path,
            lab.envelope.clone(),
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(mismatch.code(), "content_id_mismatch");
    // Over the vault's limit (1 MiB here).
    let big = seal(patient_id, &vec![7u8; 2 << 20]);
    let big_path = format!("/blobs/{}", hex(&big.content_id));
    let too_large = client
        .send(
            Signing::By(&patient),
            Method::PUT,
            &big_path,
            big.envelope.clone(),
        )
        .await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(too_large.code(), "too_large");
    // Not signed; signed by someone else than the account header says;
    // signed for another body.
    let unsigned = client
        .send(
            Signing::Unsigned,
            Method::PUT,
            &other_path,
            other.envelope.clone(),
        )
        .await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unsigned.code(), "unsigned");
    let mut forged = client.headers(
        Signing::By(&doctor),
        &Method::PUT,
        &other_path,
        &other.envelope,
    );
    forged[0].1 = hex(&patient_id);
    let bad_signature = client
        .send(
            Signing::Headers(forged),
            Method::PUT,
            &other_path,
            other.envelope.clone(),
        )
        .await;
    assert_eq!(bad_signature.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad_signature.code(), "bad_signature");
    let mut malformed = client.headers(
        Signing::By(&patient),
        &Method::PUT,
        &other_path,
        &other.envelope,
    );
    malformed[3].1 = "not hex".into();
    let malformed = client
        .send(
            Signing::Headers(malformed),
            Method::PUT,
            &other_path,
            other.envelope.clone(),
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.code(), "malformed_signature_header");
    // A request the patient signed for another vault (captured there and
    // replayed here): refused, and its nonce is not used up.
    let elsewhere = VaultClient::new(vault.base_url(), [0x0e; 32]);
    let meant_elsewhere = elsewhere
        .send(
            Signing::By(&patient),
            Method::PUT,
            &other_path,
            other.envelope.clone(),
        )
        .await;
    assert_eq!(meant_elsewhere.status, StatusCode::UNAUTHORIZED);
    assert_eq!(meant_elsewhere.code(), "other_audience");
    // Requests dated at the extremes of time, from a stranger: refused as
    // stale or from the future, and the vault goes on serving everyone else
    // (the checks below are signed requests of the patient).
    for (timestamp_ms, what) in [
        (u64::MAX, "the end of time"),
        (u64::MAX - 1, "just before it"),
        (0, "1970"),
    ] {
        let extreme = client
            .send(
                Signing::At(&stranger, timestamp_ms),
                Method::PUT,
                &other_path,
                other.envelope.clone(),
            )
            .await;
        assert_eq!(extreme.status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(extreme.code(), "stale_request", "{what}");
    }
    // Stale, and a replay of a request already served.
    let stale = client
        .send(
            Signing::At(&patient, unix_ms() - 5 * 60_000),
            Method::PUT,
            &other_path,
            other.envelope.clone(),
        )
        .await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED);
    assert_eq!(stale.code(), "stale_request");
    let once = client.headers(
        Signing::By(&patient),
        &Method::PUT,
        &other_path,
        &other.envelope,
    );
    // A stranger (not registered on the chain).
    let unknown = client
        .send(
            Signing::By(&stranger),
            Method::PUT,
            &other_path,
            other.envelope.clone(),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::FORBIDDEN);
    assert_eq!(unknown.code(), "unknown_account");
    // A malformed content id.
    let bad_id = client
        .send(
            Signing::By(&patient),
            Method::PUT,
            "/blobs/not-an-id",
            other.envelope.clone(),
        )
        .await;
    assert_eq!(bad_id.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_id.code(), "malformed_request");
    assert_eq!(
        files_under(&data),
        stored_files,
        "no bad upload stored anything"
    );
    let first = client
        .send(
            Signing::Headers(once.clone()),
            Method::PUT,
            &other_path,
            other.envelope.clone(),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let replayed = client
        .send(
            Signing::Headers(once),
            Method::PUT,
            &other_path,
            other.envelope.clone(),
        )
        .await;
    assert_eq!(replayed.status, StatusCode::CONFLICT);
    assert_eq!(replayed.code(), "replayed_request");

    // --- Reads follow the chain's consent. ---
    anchor(&chain, &lab).await;
    let read_path = |purpose: &str| {
        format!(
            "/blobs/{}?patient={}&purpose={purpose}",
            hex(&lab.content_id),
            hex(&patient_id)
        )
    };
    let read = |signing: Signing<'_>, purpose: &str| {
        let path = read_path(purpose);
        let client = client.clone();
        let headers = client.headers(signing, &Method::GET, &path, b"");
        async move {
            client
                .send_with(Method::GET, &path, Vec::new(), headers)
                .await
        }
    };

    // The owner may put wraps; the doctor may not (no consent yet, not the owner).
    let wrap_path = format!("/wraps/{}/{}", hex(&lab.content_id), hex(&doctor_id));
    let denied_wrap = client
        .send(Signing::By(&doctor), Method::PUT, &wrap_path, vec![1; 86])
        .await;
    assert_eq!(denied_wrap.status, StatusCode::FORBIDDEN);
    assert_eq!(denied_wrap.code(), "not_permitted");
    let oversized_wrap = client
        .send(
            Signing::By(&patient),
            Method::PUT,
            &wrap_path,
            vec![1; 8192],
        )
        .await;
    assert_eq!(oversized_wrap.status, StatusCode::PAYLOAD_TOO_LARGE);
    let unanchored_wrap = client
        .send(
            Signing::By(&patient),
            Method::PUT,
            &format!("/wraps/{}/{}", hex(&other.content_id), hex(&doctor_id)),
            vec![1; 86],
        )
        .await;
    assert_eq!(unanchored_wrap.status, StatusCode::NOT_FOUND);
    assert_eq!(unanchored_wrap.code(), "not_anchored");

    // Content-id squatting: the doctor anchors the patient's content ids to
    // the doctor's own records (as an account watching the pool would,
    // first). That anchor is the doctor's, and says nothing about the
    // patient's record: the vault lets the doctor neither add a wrap to it
    // nor erase it, and an unanchored upload of the patient stays theirs.
    for squatted in [&lab, &other] {
        submit(
            &chain.client,
            &medigate::tx().records().anchor(
                account_id(&doctor),
                AnchorRequest {
                    content_id: H256(squatted.content_id),
                    category: Category::Labs,
                    size: squatted.envelope.len() as u64,
                    previous: None,
                },
            ),
            &doctor,
        )
        .await;
    }
    let squatters_wrap = client
        .send(Signing::By(&doctor), Method::PUT, &wrap_path, vec![1; 86])
        .await;
    assert_eq!(squatters_wrap.status, StatusCode::FORBIDDEN);
    assert_eq!(squatters_wrap.code(), "not_permitted");
    let squatters_unanchored_wrap = client
        .send(
            Signing::By(&doctor),
            Method::PUT,
            &format!("/wraps/{}/{}", hex(&other.content_id), hex(&doctor_id)),
            vec![1; 86],
        )
        .await;
    assert_eq!(squatters_unanchored_wrap.code(), "not_anchored");
    let squatters_erase = client
        .send(
            Signing::By(&doctor),
            Method::DELETE,
            &format!("/blobs/{}", hex(&other.content_id)),
            Vec::new(),
        )
        .await;
    assert_eq!(squatters_erase.status, StatusCode::NOT_FOUND);
    assert!(data.join("blobs").join(hex(&other.content_id)).exists());
    // Its own anchor allows the doctor to read "its" record of that id,
    // but the envelope is the patient's: nothing is served, no receipt.
    let squatters_read_path = format!(
        "/blobs/{}?patient={}&purpose=TREAT",
        hex(&lab.content_id),
        hex(&doctor_id)
    );
    let squatters_read = client
        .send(
            Signing::By(&doctor),
            Method::GET,
            &squatters_read_path,
            Vec::new(),
        )
        .await;
    assert_eq!(squatters_read.status, StatusCode::NOT_FOUND);
    assert_eq!(squatters_read.code(), "unknown_record");
    assert!(squatters_read.body.len() < 1024, "no envelope is served");

    let no_consent = read(Signing::By(&doctor), "TREAT").await;
    assert_eq!(no_consent.status, StatusCode::FORBIDDEN);
    assert_eq!(no_consent.code(), "no_consent");
    let stranger_read = read(Signing::By(&stranger), "TREAT").await;
    assert_eq!(stranger_read.status, StatusCode::FORBIDDEN);
    assert_eq!(stranger_read.code(), "unknown_account");
    let unknown_purpose = read(Signing::By(&doctor), "FUN").await;
    assert_eq!(unknown_purpose.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown_purpose.code(), "unknown_purpose");

    // The doctor asks; the patient approves labs for treatment.
    let labs = Scope::Categories(CategorySet(1 << Category::Labs as u16));
    let events = submit(
        &chain.client,
        &medigate::tx().consent().request_access(
            account_id(&patient),
            labs,
            Purpose::Treatment,
            ActionSet(1),
            H256::repeat_byte(7),
        ),
        &doctor,
    )
    .await;
    let requested = events
        .find_first::<medigate::consent::events::AccessRequested>()
        .unwrap()
        .unwrap();
    let now = chain_time(&chain.client).await.unwrap();
    let events = submit(
        &chain.client,
        &medigate::tx()
            .consent()
            .approve_request(requested.request, None, now + 3_600_000),
        &patient,
    )
    .await;
    let grant = events
        .find_first::<medigate::consent::events::AccessGranted>()
        .unwrap()
        .unwrap()
        .grant;

    // The patient wraps the record key for the doctor under that grant.
    let wrap_binding = WrapBinding {
        content_id: lab.content_id,
        grantee: doctor_id,
        grant: Some(grant),
    };
    let doctor_public = chain.doctor_identity.encryption_secret().public_key();
    let wrapped = wrap::wrap(&lab.key, &doctor_public, &wrap_binding, &patient).unwrap();
    let put_wrap = client
        .send(
            Signing::By(&patient),
            Method::PUT,
            &wrap_path,
            wrapped.to_vec(),
        )
        .await;
    assert_eq!(put_wrap.status, StatusCode::NO_CONTENT);
    // A wrap is fetched as a record is read: by its grantee, while the
    // chain allows the read.
    let wrap_read = format!("{wrap_path}?patient={}&purpose=TREAT", hex(&patient_id));
    let own_wrap = client
        .send(Signing::By(&doctor), Method::GET, &wrap_read, Vec::new())
        .await;
    assert_eq!(own_wrap.status, StatusCode::OK);
    assert_eq!(own_wrap.body, wrapped.to_vec());
    let others_wrap = client
        .send(Signing::By(&patient), Method::GET, &wrap_read, Vec::new())
        .await;
    assert_eq!(others_wrap.status, StatusCode::FORBIDDEN);
    // The doctor finds the record shared with them; no one else may look.
    let doctors_wraps = format!("/grantees/{}/wraps", hex(&doctor_id));
    let listed = client
        .send(
            Signing::By(&doctor),
            Method::GET,
            &doctors_wraps,
            Vec::new(),
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.json());
    assert_eq!(
        listed.json(),
        serde_json::json!({ "records": [{"patient": hex(&patient_id), "content_id": hex(&lab.content_id)}] })
    );
    let others_list = client
        .send(
            Signing::By(&patient),
            Method::GET,
            &doctors_wraps,
            Vec::new(),
        )
        .await;
    assert_eq!(others_list.status, StatusCode::FORBIDDEN);
    assert_eq!(others_list.code(), "not_permitted");
    let unsigned_list = client
        .send(Signing::Unsigned, Method::GET, &doctors_wraps, Vec::new())
        .await;
    assert_eq!(unsigned_list.status, StatusCode::UNAUTHORIZED);

    // A batch: a new envelope and a second wrap of the lab record, stored
    // together; a batch with one bad envelope stores nothing.
    let batch_envelope = b"a batched envelope".to_vec();
    let batch_id = *blake3::hash(&batch_envelope).as_bytes();
    let batch_grantee = [7u8; 32];
    let mut batch = Vec::new();
    for item in [
        BatchItem::Envelope {
            content_id: batch_id,
            bytes: &batch_envelope,
        },
        BatchItem::KeyWrap {
            content_id: lab.content_id,
            grantee: batch_grantee,
            bytes: &wrapped,
        },
    ] {
        medigate_vault::batch::encode(&item, &mut batch);
    }
    let stored = client
        .send(
            Signing::By(&patient),
            Method::POST,
            "/batches",
            batch.clone(),
        )
        .await;
    assert_eq!(stored.status, StatusCode::OK, "{:?}", stored.json());
    assert_eq!(
        stored.json(),
        serde_json::json!({"created": 1, "present": 0, "wraps": 1})
    );
    let mut bad_batch = Vec::new();
    let other_envelope = b"another envelope".to_vec();
    for item in [
        BatchItem::Envelope {
            content_id: *blake3::hash(&other_envelope).as_bytes(),
            bytes: &other_envelope,
        },
        BatchItem::Envelope {
            content_id: [9u8; 32],
            bytes: b"not what that id hashes",
        },
    ] {
        medigate_vault::batch::encode(&item, &mut bad_batch);
    }
    let refused = client
        .send(Signing::By(&patient), Method::POST, "/batches", bad_batch)
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refused.code(), "content_id_mismatch");
    assert!(
        !data
            .join("blobs")
            .join(hex(blake3::hash(&other_envelope).as_bytes()))
            .exists(),
        "a refused batch stores nothing"
    );
    let malformed = client
        .send(
            Signing::By(&patient),
            Method::POST,
            "/batches",
            vec![1, 2, 3],
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.code(), "malformed_batch");

    // A batch body swapped under a genuine signature is refused, and
    // nothing of it is stored.
    let swapped_envelope = b"an envelope nobody signed for".to_vec();
    let swapped_id = *blake3::hash(&swapped_envelope).as_bytes();
    let mut swapped = Vec::new();
    medigate_vault::batch::encode(
        &BatchItem::Envelope {
            content_id: swapped_id,
            bytes: &swapped_envelope,
        },
        &mut swapped,
    );
    let signed_for_another =
        client.headers(Signing::By(&patient), &Method::POST, "/batches", &batch);
    let refused = client
        .send_with(Method::POST, "/batches", swapped, signed_for_another)
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.code(), "body_not_signed");
    assert!(!data.join("blobs").join(hex(&swapped_id)).exists());

    // Who is asking is checked before any of a batch's body is read: an
    // outsider announcing 60 MiB and sending almost nothing is answered
    // at once (were the body read first, the answer would wait for it),
    // and so is a registered account announcing more than a batch may be.
    let outsider = medigate_crypto::keys::Identity::generate().signing_keypair();
    let outsider_headers = client.headers(
        Signing::OverHash(&outsider, [7; 32]),
        &Method::POST,
        "/batches",
        &[],
    );
    let (status, answer) = announce_body(vault.base_url(), &outsider_headers, 60 << 20).await;
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("unknown_account"), "{answer}");
    let oversized_headers = client.headers(
        Signing::OverHash(&patient, [7; 32]),
        &Method::POST,
        "/batches",
        &[],
    );
    let (status, answer) = announce_body(vault.base_url(), &oversized_headers, 65 << 20).await;
    assert_eq!(status, 413, "{answer}");
    let unhashed: Vec<_> = client
        .headers(Signing::By(&patient), &Method::POST, "/batches", &batch)
        .into_iter()
        .filter(|(name, _)| *name != medigate_vault::auth::BODY_HASH_HEADER)
        .collect();
    let unhashed = client
        .send_with(Method::POST, "/batches", batch.clone(), unhashed)
        .await;
    assert_eq!(unhashed.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unhashed.code(), "unsigned");

    let best_before_read = chain.node.process().rpc().best_number().await.unwrap();
    let allowed = read(Signing::By(&doctor), "TREAT").await;
    assert_eq!(
        allowed.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&allowed.body)
    );
    assert_eq!(allowed.body, lab.envelope);
    assert_eq!(
        allowed.headers["x-medigate-grant"],
        grant.to_string().as_str()
    );
    let served_wrap = base64::engine::general_purpose::STANDARD
        .decode(allowed.headers["x-medigate-key-wrap"].as_bytes())
        .unwrap();
    let key = wrap::unwrap(
        &served_wrap,
        &chain.doctor_identity.encryption_secret(),
        &wrap_binding,
        &[patient_id],
    )
    .unwrap();
    let mut opened = Vec::new();
    let anchored = record::Anchored::of(lab.binding, lab.content_id);
    record::decrypt(&key, &anchored, &allowed.body[..], &mut opened).unwrap();
    assert_eq!(
        opened, lab.plaintext,
        "the doctor decrypts what the patient wrote"
    );
    // The vault holds the envelope and a wrap, never the plaintext or the
    // record key.
    assert!(files_under(&data).len() >= 2);
    for (what, secret) in [
        ("plaintext", &lab.plaintext[..]),
        ("record key", &lab.key.as_bytes()[..]),
    ] {
        assert_eq!(
            file_holding(&data, secret),
            None,
            "the vault holds the {what}"
        );
    }

    let wrong_purpose = read(Signing::By(&doctor), "HOPERAT").await;
    assert_eq!(wrong_purpose.status, StatusCode::FORBIDDEN);
    assert_eq!(wrong_purpose.code(), "wrong_purpose");
    let replay_of_read = {
        let path = read_path("TREAT");
        let headers = client.headers(Signing::By(&doctor), &Method::GET, &path, b"");
        client
            .send_with(Method::GET, &path, Vec::new(), headers.clone())
            .await;
        client
            .send_with(Method::GET, &path, Vec::new(), headers)
            .await
    };
    assert_eq!(replay_of_read.status, StatusCode::CONFLICT);

    // Concurrent reads are asked of the chain together; each still gets its
    // own answer: the treatment reads are served, the others refused.
    let purposes = ["TREAT", "HOPERAT", "TREAT", "TREAT", "HOPERAT", "TREAT"].repeat(4);
    let answers = futures::future::join_all(
        purposes
            .iter()
            .map(|purpose| read(Signing::By(&doctor), purpose)),
    )
    .await;
    let mut served = 0;
    for (purpose, answer) in purposes.iter().zip(&answers) {
        if *purpose == "TREAT" {
            assert_eq!(answer.status, StatusCode::OK);
            assert_eq!(answer.body, lab.envelope);
            served += 1;
        } else {
            assert_eq!(answer.status, StatusCode::FORBIDDEN);
            assert_eq!(answer.code(), "wrong_purpose");
        }
    }
    // A read signed at any other path than its one canonical form (here the
    // same query in another order) is refused before anything is served:
    // its receipt could not prove what the doctor signed.
    let reordered = format!(
        "/blobs/{}?purpose=TREAT&patient={}",
        hex(&lab.content_id),
        hex(&patient_id)
    );
    let not_canonical = client
        .send(Signing::By(&doctor), Method::GET, &reordered, Vec::new())
        .await;
    assert_eq!(not_canonical.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_canonical.code(), "malformed_request");
    // A HEAD of the canonical read: its signature names HEAD, so a receipt
    // of it would not prove the read (it would look forged and cost the
    // vault its attestation). Refused, and no receipt is written (each
    // receipt below carries the doctor's signature of a GET).
    // (Sent apart from the client, which checks every answer's JSON body
    // against the API document: an answer to a HEAD has no body.)
    let head_path = read_path("TREAT");
    let mut head = reqwest::Client::new().head(format!("{}{head_path}", vault.base_url()));
    for (name, value) in client.headers(Signing::By(&doctor), &Method::HEAD, &head_path, b"") {
        head = head.header(name, value);
    }
    let head = head.send().await.expect("the vault answers");
    assert_eq!(head.status(), StatusCode::BAD_REQUEST);

    // The first read, the replayed read's original, and these.
    let reads_served = 2 + served;

    // The receipts of the doctor's reads land on chain, each in the block
    // after its read or the one after that.
    let receipts = wait_for_receipts(&mut chain, doctor_id, reads_served).await;
    for (block, receipt) in &receipts {
        assert_eq!(receipt.patient.0, patient_id);
        assert_eq!(receipt.record.0, lab.content_id);
        assert_eq!(receipt.grant, Some(grant));
        assert!(matches!(receipt.purpose, Purpose::Treatment));
        assert!(matches!(receipt.action, Action::Read));
        assert_eq!(
            receipt.vault.0,
            account_id(&chain.vault.signing_keypair()).0
        );
        assert!(
            *block <= best_before_read + 3,
            "receipt in block {block}, read after block {best_before_read}"
        );
        // Each carries the doctor's own signature of the read it records,
        // which the vault checked before serving it.
        let signed = medigate_protocol::request::read_message(
            &receipt.vault.0,
            &receipt.record.0,
            &receipt.patient.0,
            medigate_access_policy::Purpose::Treatment,
            receipt.request.signed_at,
            &receipt.request.nonce,
        );
        assert!(sr25519::verify(
            &sr25519::Signature(receipt.request.signature.0),
            &signed,
            &doctor.public_key()
        ));
    }

    // Revocation: denied at once.
    submit(
        &chain.client,
        &medigate::tx().consent().revoke_grant(grant),
        &patient,
    )
    .await;
    let revoked = read(Signing::By(&doctor), "TREAT").await;
    assert_eq!(revoked.status, StatusCode::FORBIDDEN);
    assert_eq!(revoked.code(), "consent_revoked");
    // Nor does the revoked grantee get the key any more.
    let revoked_wrap = client
        .send(Signing::By(&doctor), Method::GET, &wrap_read, Vec::new())
        .await;
    assert_eq!(revoked_wrap.status, StatusCode::FORBIDDEN);
    assert_eq!(revoked_wrap.code(), "consent_revoked");

    // Denied reads leave no receipt: still exactly one per served read.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        wait_for_receipts(&mut chain, doctor_id, reads_served)
            .await
            .len(),
        reads_served
    );

    // Erasure: by the owner only; everything goes.
    let doctor_erase = client
        .send(Signing::By(&doctor), Method::DELETE, &blob_path, Vec::new())
        .await;
    assert_eq!(doctor_erase.status, StatusCode::FORBIDDEN);
    let unanchored_erase = client
        .send(
            Signing::By(&patient),
            Method::DELETE,
            &other_path,
            Vec::new(),
        )
        .await;
    assert_eq!(unanchored_erase.status, StatusCode::NOT_FOUND);
    let erase = client
        .send(
            Signing::By(&patient),
            Method::DELETE,
            &blob_path,
            Vec::new(),
        )
        .await;
    assert_eq!(erase.status, StatusCode::NO_CONTENT);
    let gone = read(Signing::By(&patient), "TREAT").await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.code(), "not_found");
    // Its wraps are erased with it (no key of it is served again, and none
    // is left on disk).
    let wrap_gone = client
        .send(Signing::By(&doctor), Method::GET, &wrap_read, Vec::new())
        .await;
    assert!(
        matches!(
            wrap_gone.status,
            StatusCode::NOT_FOUND | StatusCode::FORBIDDEN
        ),
        "{:?}",
        wrap_gone.status
    );
    assert_eq!(
        files_under(&data.join("wraps").join(hex(&lab.content_id))),
        BTreeSet::new(),
        "the erased record's wraps are gone"
    );
    let list_emptied = client
        .send(
            Signing::By(&doctor),
            Method::GET,
            &doctors_wraps,
            Vec::new(),
        )
        .await;
    assert_eq!(list_emptied.status, StatusCode::OK);
    assert_eq!(list_emptied.json()["records"], serde_json::json!([]));
    assert!(
        !files_under(&data)
            .iter()
            .any(|file| file.contains(&hex(&lab.content_id))),
        "no file of the erased record remains"
    );

    // Unsigned endpoints.
    let health = client
        .send(Signing::Unsigned, Method::GET, "/health", Vec::new())
        .await;
    assert_eq!(health.status, StatusCode::OK);
    let health = health.json();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(
        health["panics"], 0,
        "no request made a handler panic: {health}"
    );
    let served_document = client
        .send(Signing::Unsigned, Method::GET, "/openapi.json", Vec::new())
        .await;
    assert_eq!(
        served_document.json(),
        serde_json::from_str::<serde_json::Value>(medigate_vault::service::OPENAPI).unwrap()
    );

    check_against_openapi(&client.exchanges.lock().unwrap());
    vault.stop().unwrap();
}

/// The receipts of `accessor`'s reads on chain, once there are `count`:
/// (block, receipt).
/// A blob whose record is never anchored is erased once it has waited
/// longer than the vault's expiry, whether it came alone or in a batch; an
/// anchored one stays.
#[tokio::test(flavor = "multi_thread")]
async fn unanchored_blobs_expire_and_anchored_ones_stay() {
    let mut chain = Chain::start().await;
    let data = chain.dir.path().join("vault-data");
    let vault = chain
        .start_vault(&data, &["--unanchored-expiry-seconds", "8"])
        .await;
    let client = VaultClient::new(vault.base_url(), chain.vault_account());
    let patient = chain.patient.clone();
    let patient_id = account_id(&patient).0;
    let never_anchored = seal(patient_id, b"uploaded, then the import was abandoned");
    let anchored = seal(patient_id, b"{\"resourceType\":\"Observation\"}");
    let in_a_batch = seal(patient_id, b"a batch nobody anchored");
    for sealed in [&never_anchored, &anchored] {
        let stored = client
            .send(
                Signing::By(&patient),
                Method::PUT,
                &format!("/blobs/{}", hex(&sealed.content_id)),
                sealed.envelope.clone(),
            )
            .await;
        assert_eq!(stored.status, StatusCode::CREATED);
    }
    let mut batch = Vec::new();
    medigate_vault::batch::encode(
        &BatchItem::Envelope {
            content_id: in_a_batch.content_id,
            bytes: &in_a_batch.envelope,
        },
        &mut batch,
    );
    let stored = client
        .send(Signing::By(&patient), Method::POST, "/batches", batch)
        .await;
    assert_eq!(stored.status, StatusCode::OK);
    anchor(&chain, &anchored).await;
    let blob = |sealed: &Sealed| data.join("blobs").join(hex(&sealed.content_id));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while (blob(&never_anchored).exists() || blob(&in_a_batch).exists())
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        !blob(&never_anchored).exists(),
        "an unanchored blob outlived its expiry"
    );
    assert!(
        !blob(&in_a_batch).exists(),
        "an unanchored batch outlived its expiry"
    );
    assert!(blob(&anchored).exists(), "an anchored blob was erased");
    // Its upload's list is settled too: nothing waits any more.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !files_under(&data.join("pending")).is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(files_under(&data.join("pending")).is_empty());
}

/// Sends `POST /batches` with `headers` over a raw connection, announcing
/// a body of `announced` bytes and sending only 1 KiB of it; the vault's
/// status and answer, which must come within 20 seconds although the body
/// never does.
async fn announce_body(
    base: &str,
    headers: &[(&'static str, String)],
    announced: u64,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let address = base.trim_start_matches("http://");
    let mut connection = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut request =
        format!("POST /batches HTTP/1.1\r\nhost: {address}\r\ncontent-length: {announced}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    connection.write_all(request.as_bytes()).await.unwrap();
    connection.write_all(&[0u8; 1024]).await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let n = connection.read(&mut buffer).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&answer);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head.lines().find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|n| n.trim().parse::<usize>().unwrap())
                });
                if length.is_some_and(|length| body.len() >= length) {
                    break;
                }
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the vault waited for a body it should not read"
    );
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    (status, text)
}

async fn wait_for_receipts(
    chain: &mut Chain,
    accessor: [u8; 32],
    count: usize,
) -> Vec<(u32, medigate_vault::receipts::Receipt)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let rpc = chain.node.process().rpc().clone();
        let found = medigate_testnet::receipts_of(&chain.client, &rpc, 1, accessor).await;
        if found.len() >= count || std::time::Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Every exchange is an operation and response the document describes, with a
/// body its schema accepts; every operation was exercised.
fn check_against_openapi(exchanges: &[support::Exchange]) {
    let document: serde_json::Value =
        serde_json::from_str(medigate_vault::service::OPENAPI).unwrap();
    let template = |path: &str| -> String {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match parts.as_slice() {
            ["blobs", _] => "/blobs/{content_id}".into(),
            ["wraps", _, _] => "/wraps/{content_id}/{grantee}".into(),
            ["grantees", _, "wraps"] => "/grantees/{grantee}/wraps".into(),
            _ => path.into(),
        }
    };
    let mut exercised = BTreeSet::new();
    for exchange in exchanges {
        let path = template(&exchange.path);
        let method = exchange.method.as_str().to_lowercase();
        let operation = &document["paths"][&path][&method];
        assert!(
            operation.is_object(),
            "{method} {path} is not in the API document"
        );
        let status = exchange.status.as_u16().to_string();
        let response = &operation["responses"][&status];
        assert!(
            response.is_object(),
            "{method} {path} answered {status}, which the API document does not list"
        );
        exercised.insert(format!("{method} {path}"));
        let Some(body) = &exchange.json else { continue };
        let schema_ref = &response["content"]["application/json"]["schema"];
        assert!(
            schema_ref.is_object(),
            "{method} {path} {status} has a JSON body the document does not describe"
        );
        let schema = match schema_ref.get("$ref") {
            // Resolved against the whole document.
            Some(reference) => {
                let mut root = document.clone();
                let root_object = root.as_object_mut().unwrap();
                root_object.insert("$ref".into(), reference.clone());
                root
            }
            None => schema_ref.clone(),
        };
        let validator = jsonschema::validator_for(&schema).unwrap();
        if let Err(error) = validator.validate(body) {
            panic!("{method} {path} {status}: {body} does not match its schema: {error}");
        }
    }
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if method != "parameters" {
                assert!(
                    exercised.contains(&format!("{method} {path}")),
                    "{method} {path} was never exercised"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_acknowledged_upload_and_the_receipts_of_served_reads_survive_kill_9() {
    let mut chain = Chain::start().await;
    let data = chain.dir.path().join("vault-data");
    let vault = chain.start_vault(&data, &[]).await;
    let client = VaultClient::new(vault.base_url(), chain.vault_account());
    let patient = chain.patient.clone();
    let patient_id = account_id(&patient).0;

    // A multi-part record (several 64 KiB chunks), acknowledged, then the
    // vault is killed at once.
    let scan = seal(patient_id, &vec![0x5a; 3 << 20]);
    let path = format!("/blobs/{}", hex(&scan.content_id));
    let stored = client
        .send(
            Signing::By(&patient),
            Method::PUT,
            &path,
            scan.envelope.clone(),
        )
        .await;
    assert_eq!(stored.status, StatusCode::CREATED);
    vault.kill();

    anchor(&chain, &scan).await;
    let vault = chain.start_vault(&data, &[]).await;
    let client = VaultClient::new(vault.base_url(), chain.vault_account());
    let read = format!("{path}?patient={}&purpose=TREAT", hex(&patient_id));
    let back = client
        .send(Signing::By(&patient), Method::GET, &read, Vec::new())
        .await;
    assert_eq!(back.status, StatusCode::OK);
    assert_eq!(
        back.body, scan.envelope,
        "the blob is whole after the crash"
    );

    // Reads served, then a crash before their receipts can reach a
    // finalized block: the journal brings them back.
    for _ in 0..2 {
        let again = client
            .send(Signing::By(&patient), Method::GET, &read, Vec::new())
            .await;
        assert_eq!(again.status, StatusCode::OK);
    }
    vault.kill();
    let journal = data.join("receipt-journal");
    assert!(
        file_holding(&journal, &scan.content_id).is_some() || {
            // Unless they were finalized already (the slot ended first).
            wait_for_receipts(&mut chain, patient_id, 3).await.len() >= 3
        }
    );
    let vault = chain.start_vault(&data, &[]).await;
    let receipts = wait_for_receipts(&mut chain, patient_id, 3).await;
    assert!(
        receipts.len() >= 3,
        "every served read has its receipt: {} of 3",
        receipts.len()
    );
    for (_, receipt) in &receipts {
        assert_eq!(receipt.record.0, scan.content_id);
    }
    vault.stop().unwrap();
}

/// Serves an S3-compatible API on a free loopback port, keeping its buckets
/// as directories under `root` (s3s-fs, a file-system backed S3
/// implementation, over HTTP, requests signed with AWS Signature V4 under
/// `access_key`/`secret_key`); returns its endpoint. It serves until the
/// test's runtime ends.
async fn serve_s3(root: &Path, access_key: &str, secret_key: &str) -> String {
    let mut service = s3s::service::S3ServiceBuilder::new(
        s3s_fs::FileSystem::new(root).expect("s3s-fs opens its root"),
    );
    service.set_auth(s3s::auth::SimpleAuth::from_single(access_key, secret_key));
    let service = service.build();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("a loopback port for the S3 server");
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let connections =
            hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
        while let Ok((socket, _)) = listener.accept().await {
            let connection = connections
                .serve_connection(hyper_util::rt::TokioIo::new(socket), service.clone())
                .into_owned();
            tokio::spawn(async move {
                // A connection the client drops ends with an error; the
                // server serves on.
                let _ = connection.await;
            });
        }
    });
    endpoint
}

#[tokio::test(flavor = "multi_thread")]
async fn blobs_and_wraps_live_in_an_s3_compatible_store() {
    let mut chain = Chain::start().await;
    // An S3-compatible server keeping its buckets under `root`.
    let root = chain.dir.path().join("s3");
    std::fs::create_dir_all(root.join("medigate")).unwrap();
    let (access_key, secret_key) = ("medigate-test", "medigate-test-secret");
    let endpoint = serve_s3(&root, access_key, secret_key).await;

    let data = chain.dir.path().join("vault-local");
    let vault = chain
        .start_vault_with_env(
            &data,
            &["--store-url", "s3://medigate/vault"],
            &[
                ("AWS_ENDPOINT", &endpoint),
                ("AWS_ALLOW_HTTP", "true"),
                ("AWS_ACCESS_KEY_ID", access_key),
                ("AWS_SECRET_ACCESS_KEY", secret_key),
                ("AWS_REGION", "us-east-1"),
            ],
        )
        .await;
    let client = VaultClient::new(vault.base_url(), chain.vault_account());
    let patient = chain.patient.clone();
    let patient_id = account_id(&patient).0;
    let doctor_id = account_id(&chain.doctor).0;

    // A record of several upload parts lands in the bucket as its envelope.
    let scan = seal(patient_id, &vec![0x3c; 20 << 20]);
    let path = format!("/blobs/{}", hex(&scan.content_id));
    let stored = client
        .send(
            Signing::By(&patient),
            Method::PUT,
            &path,
            scan.envelope.clone(),
        )
        .await;
    assert_eq!(stored.status, StatusCode::CREATED, "{:?}", stored.json());
    let object = root
        .join("medigate/vault/blobs")
        .join(hex(&scan.content_id));
    assert_eq!(std::fs::read(&object).unwrap(), scan.envelope);
    // The objects in the bucket (s3s-fs keeps hidden metadata files of an
    // object it deleted: those are the server's, not the bucket's).
    let objects_in = |root: &Path| -> BTreeSet<String> {
        files_under(root)
            .into_iter()
            .filter(|file| !file.starts_with('.'))
            .collect()
    };
    let objects = objects_in(&root);

    // A body that is not its content id: refused, the bucket unchanged.
    let other = seal(patient_id, b"another record");
    let wrong_path = format!("/blobs/{}", hex(&other.content_id));
    let wrong = client
        .send(
            Signing::OverHash(&patient, other.content_id),
            Method::PUT,
            &wrong_path,
            scan.envelope[..4096].to_vec(),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(objects_in(&root), objects);

    // Read back by the owner; a wrap stored in the bucket and listed for
    // its grantee, who holds no grant and so is not given it.
    anchor(&chain, &scan).await;
    let read = format!("{path}?patient={}&purpose=TREAT", hex(&patient_id));
    let back = client
        .send(Signing::By(&patient), Method::GET, &read, Vec::new())
        .await;
    assert_eq!(back.status, StatusCode::OK);
    assert_eq!(back.body, scan.envelope);
    let wrap_path = format!("/wraps/{}/{}", hex(&scan.content_id), hex(&doctor_id));
    let doctor_public = chain.doctor_identity.encryption_secret().public_key();
    let wrapped = wrap::wrap(
        &scan.key,
        &doctor_public,
        &WrapBinding {
            content_id: scan.content_id,
            grantee: doctor_id,
            grant: None,
        },
        &patient,
    )
    .unwrap();
    let put_wrap = client
        .send(
            Signing::By(&patient),
            Method::PUT,
            &wrap_path,
            wrapped.to_vec(),
        )
        .await;
    assert!(put_wrap.status.is_success(), "{:?}", put_wrap.json());
    let doctor = chain.doctor.clone();
    let wrap_object = root
        .join("medigate/vault/wraps")
        .join(hex(&scan.content_id))
        .join(hex(&doctor_id));
    assert_eq!(std::fs::read(&wrap_object).unwrap(), wrapped.to_vec());
    let wrap_read = format!("{wrap_path}?patient={}&purpose=TREAT", hex(&patient_id));
    let no_grant = client
        .send(Signing::By(&doctor), Method::GET, &wrap_read, Vec::new())
        .await;
    assert_eq!(no_grant.status, StatusCode::FORBIDDEN);
    assert_eq!(no_grant.code(), "no_consent");
    let doctors_wraps = format!("/grantees/{}/wraps", hex(&doctor_id));
    let listed = client
        .send(
            Signing::By(&doctor),
            Method::GET,
            &doctors_wraps,
            Vec::new(),
        )
        .await;
    assert_eq!(
        listed.json(),
        serde_json::json!({ "records": [{"patient": hex(&patient_id), "content_id": hex(&scan.content_id)}] })
    );
    for (what, secret) in [
        ("plaintext", &vec![0x3c; 4096][..]),
        ("record key", &scan.key.as_bytes()[..]),
    ] {
        assert_eq!(
            file_holding(&root, secret),
            None,
            "the bucket holds the {what}"
        );
    }

    // Erasure empties the bucket of the record.
    let erased = client
        .send(Signing::By(&patient), Method::DELETE, &path, Vec::new())
        .await;
    assert!(erased.status.is_success());
    let left: Vec<_> = files_under(&root)
        .into_iter()
        .filter(|file| file.contains(&hex(&scan.content_id)))
        .collect();
    assert!(left.is_empty(), "left after erasure: {left:?}");
    let listed = client
        .send(
            Signing::By(&doctor),
            Method::GET,
            &doctors_wraps,
            Vec::new(),
        )
        .await;
    assert_eq!(listed.json(), serde_json::json!({ "records": [] }));
    vault.stop().unwrap();
}
