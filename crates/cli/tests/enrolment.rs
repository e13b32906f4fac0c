//! Joining MediGate as a new patient would, on a `medigate dev` network:
//! the newcomer has a gateway and keys but no funds, so registering fails
//! with what to do; the hospital enrols the account; the newcomer then
//! registers without a fee, signing it with its own keys. Nobody but an
//! attested organization or an authority enrols, and an account enrols
//! once.

mod common;

use common::Network;
use medigate_chain_client::{connect, free_balance, is_registered, subxt::utils::AccountId32};

#[tokio::test(flavor = "multi_thread")]
async fn a_hospital_enrols_a_newcomer_who_then_registers_without_funds() {
    let network = Network::start(1);
    let newcomer = network.account("newcomer");
    let hospital = network.account("hospital");
    let client = connect(network.description["node"].as_str().unwrap())
        .await
        .unwrap();
    let account = AccountId32(hex::decode(&newcomer).unwrap().try_into().unwrap());
    assert_eq!(free_balance(&client, &account).await.unwrap(), 0);

    // No funds, no sponsor: registering says what to do, and changes nothing.
    let (code, message) = network.failing("newcomer", &["register"]);
    assert_eq!(code, 5, "{message}");
    assert!(
        message.contains("no funds for the registration fee")
            && message.contains(&format!("medigate enrol {newcomer}")),
        "{message}"
    );
    assert!(!is_registered(&client, &account).await.unwrap());

    // A patient and a doctor cannot enrol anyone; nor can a malformed id be enrolled.
    for name in ["patient", "doctor"] {
        let (code, message) = network.failing(name, &["enrol", &newcomer]);
        assert_eq!(code, 5, "{message}");
        assert!(
            message.contains("only an attested organization"),
            "{message}"
        );
    }
    let (code, message) = network.failing("hospital", &["enrol", "not-an-account"]);
    assert_eq!(code, 2, "{message}");

    // The hospital enrols the newcomer, who registers for nothing.
    let enrolled = network.json("hospital", &["enrol", &newcomer]);
    assert_eq!(enrolled["account"], newcomer.as_str());
    assert!(enrolled["until_block"].as_u64().unwrap() > 0, "{enrolled}");
    let registered = network.json("newcomer", &["register"]);
    assert_eq!(registered["already_registered"], false);
    assert_eq!(registered["sponsor"], hospital.as_str());
    assert!(is_registered(&client, &account).await.unwrap());
    assert_eq!(
        free_balance(&client, &account).await.unwrap(),
        0,
        "the registration cost the newcomer nothing"
    );
    let whoami = network.json("newcomer", &["whoami"]);
    assert_eq!(whoami["registered"], true);

    // Once registered, nobody enrols the account again; registering again
    // is a no-op.
    let (code, message) = network.failing("hospital", &["enrol", &newcomer]);
    assert_eq!(code, 2, "{message}");
    assert!(message.contains("not registered yet"), "{message}");
    let again = network.json("newcomer", &["register"]);
    assert_eq!(again["already_registered"], true);
}
