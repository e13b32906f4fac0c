//! The chain's decision for each read, with concurrent reads asked together.
//!
//! Every read waits for `check_access` at the node's best block. One state
//! call costs the node a runtime instantiation whatever it asks, so the gate
//! sends the questions that arrive while earlier calls are under way as one
//! `check_access_many` call. A lone read is asked at once (a batch of one);
//! under load, batches grow by themselves up to the configured size. A failed
//! call fails every read it carried: a failure is never an allowance.

use std::sync::Arc;

use medigate_chain_client::{
    AccessCheckError, AccessChecker, AccessDecision, AccessQuestion, MAX_ACCESS_QUESTIONS,
};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Why the gate could not answer.
#[derive(Clone, Debug, thiserror::Error)]
pub enum GateError {
    /// The node could not be asked or gave no decision.
    #[error("{0}")]
    Check(Arc<AccessCheckError>),
    /// The gate has stopped (the vault is shutting down).
    #[error("the vault is shutting down and checks no more reads")]
    Closed,
}

/// A question waiting for its batch, and where its answer goes.
struct Pending {
    question: AccessQuestion,
    answer: oneshot::Sender<Result<AccessDecision, GateError>>,
}

/// The gate: hands questions to a task that batches them.
#[derive(Clone, Debug)]
pub struct AccessGate {
    sender: mpsc::Sender<Pending>,
}

/// How the gate batches.
#[derive(Clone, Copy, Debug)]
pub struct GateLimits {
    /// The most questions in one call (at most [`MAX_ACCESS_QUESTIONS`]).
    pub max_batch: usize,
    /// The most calls under way at once.
    pub max_in_flight: usize,
}

impl Default for GateLimits {
    fn default() -> Self {
        Self {
            max_batch: 256,
            max_in_flight: 2,
        }
    }
}

impl AccessGate {
    /// Starts the batching task on the current Tokio runtime. It ends when
    /// every clone of the gate is dropped.
    pub fn start(checker: AccessChecker, limits: GateLimits) -> Self {
        let max_batch = limits.max_batch.clamp(1, MAX_ACCESS_QUESTIONS);
        let (sender, receiver) = mpsc::channel(max_batch * limits.max_in_flight.max(1) * 4);
        tokio::spawn(run(
            checker,
            receiver,
            max_batch,
            limits.max_in_flight.max(1),
        ));
        Self { sender }
    }

    /// The chain's decision on `question`, at the node's best block.
    pub async fn check(&self, question: AccessQuestion) -> Result<AccessDecision, GateError> {
        let (answer, receive) = oneshot::channel();
        self.sender
            .send(Pending { question, answer })
            .await
            .map_err(|_| GateError::Closed)?;
        receive.await.map_err(|_| GateError::Closed)?
    }
}

/// Takes whatever questions are waiting (at least one) and asks them in one
/// call, with at most `max_in_flight` calls under way.
async fn run(
    checker: AccessChecker,
    mut receiver: mpsc::Receiver<Pending>,
    max_batch: usize,
    max_in_flight: usize,
) {
    let slots = Arc::new(Semaphore::new(max_in_flight));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Some(first) = receiver.recv().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match receiver.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        let checker = checker.clone();
        tokio::spawn(async move {
            answer(&checker, batch).await;
            drop(slot);
        });
    }
}

/// Asks one batch and hands each read its decision.
async fn answer(checker: &AccessChecker, batch: Vec<Pending>) {
    let (questions, answers): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .map(|pending| (pending.question, pending.answer))
        .unzip();
    match checker.check_access_many(&questions).await {
        Ok(decisions) => {
            for (answer, decision) in answers.into_iter().zip(decisions) {
                // A read whose client has gone away no longer waits.
                let _ = answer.send(Ok(decision));
            }
        }
        Err(error) => {
            let error = GateError::Check(Arc::new(error));
            for answer in answers {
                let _ = answer.send(Err(error.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medigate_chain_client::{
        HttpRpcError,
        medigate::runtime_types::medigate_access_policy::terms::{Action, Purpose},
        subxt::utils::{AccountId32, H256},
    };

    fn question() -> AccessQuestion {
        AccessQuestion {
            accessor: AccountId32([1; 32]),
            patient: AccountId32([2; 32]),
            record: H256::repeat_byte(3),
            purpose: Purpose::Treatment,
            action: Action::Read,
        }
    }

    #[tokio::test]
    async fn a_node_that_does_not_answer_fails_every_read_of_the_batch() {
        // Port 9 (discard) is closed on loopback.
        let gate = AccessGate::start(
            AccessChecker::new("http://127.0.0.1:9").unwrap(),
            GateLimits::default(),
        );
        let reads: Vec<_> = (0..10)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move { gate.check(question()).await })
            })
            .collect();
        for read in reads {
            let result = read.await.unwrap();
            assert!(
                matches!(&result, Err(GateError::Check(error)) if matches!(**error, AccessCheckError::Rpc(HttpRpcError::Unreachable { .. }))),
                "{result:?}"
            );
        }
    }
}
