//! Joining the chain: a newcomer registers its account and encryption key;
//! one without funds for the fee is first sponsored by a hospital (an
//! attested organization) or an authority, and then registers fee-less,
//! signing its registration itself so that its keys never leave it.

use medigate_chain_client::{
    chain_role, free_balance, holds_role, is_authority, is_registered, medigate, sponsorship,
    subxt::utils::AccountId32,
};
use serde::Serialize;

use crate::{Gateway, error::GatewayError};

/// The outcome of a registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Registration {
    /// The account (hex).
    pub account: String,
    /// Whether it was registered before this call.
    pub already_registered: bool,
    /// Who sponsored it (hex), when it registered fee-less as a newcomer.
    pub sponsor: Option<String>,
}

/// A sponsorship made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sponsorship {
    /// The newcomer (hex).
    pub account: String,
    /// The block from which it no longer counts.
    pub until_block: u32,
}

impl Gateway {
    /// Registers the user's account with its encryption key. A newcomer
    /// without funds needs a sponsor first ([`GatewayError::NeedsSponsor`]).
    pub async fn register(&self) -> Result<Registration, GatewayError> {
        let identity = self.keyring.identity()?;
        let account = medigate_chain_client::account_id(&identity.signing_keypair());
        let hex_account = hex::encode(account.0);
        if is_registered(&self.reads, &account).await? {
            return Ok(Registration {
                account: hex_account,
                already_registered: true,
                sponsor: None,
            });
        }
        let sponsor = sponsorship(&self.reads, &account).await?;
        if sponsor.is_none() && free_balance(&self.reads, &account).await? == 0 {
            return Err(GatewayError::NeedsSponsor(hex_account));
        }
        let call = medigate::tx()
            .registry()
            .register(identity.encryption_secret().public_key().0);
        self.submit(&call, &identity.signing_keypair()).await?;
        Ok(Registration {
            account: hex_account,
            already_registered: false,
            sponsor: sponsor.map(|(sponsor, _)| hex::encode(sponsor.0)),
        })
    }

    /// Sponsors `newcomer`: for a day it may register without a fee. The
    /// user must be one who may sponsor
    /// ([`medigate_access_policy::may_sponsor`]).
    pub async fn sponsor(&self, newcomer: [u8; 32]) -> Result<Sponsorship, GatewayError> {
        let identity = self.keyring.identity()?;
        let me = medigate_chain_client::account_id(&identity.signing_keypair());
        let holds_sponsor_role = holds_role(
            &self.reads,
            &me,
            chain_role(medigate_access_policy::SPONSOR_ROLE),
        )
        .await?;
        if !medigate_access_policy::may_sponsor(
            holds_sponsor_role,
            is_authority(&self.reads, &me).await?,
        ) {
            return Err(GatewayError::NotASponsor);
        }
        let newcomer = AccountId32(newcomer);
        if is_registered(&self.reads, &newcomer).await? {
            return Err(GatewayError::BadRequest {
                what: format!("enrolling {}", hex::encode(newcomer.0)),
                expected: "an account that is not registered yet (this one is)".into(),
            });
        }
        let call = medigate::tx().registry().sponsor(newcomer.clone());
        self.submit(&call, &identity.signing_keypair()).await?;
        let until_block = sponsorship(&self.reads, &newcomer)
            .await?
            .map_or(0, |(_, until)| until);
        Ok(Sponsorship {
            account: hex::encode(newcomer.0),
            until_block,
        })
    }
}
