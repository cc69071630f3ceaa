//! Addresses for Ingress status that come from outside the provider: the local proxies are
//! reached through a LoadBalancer Service or the Nodes they listen on, which the provider does
//! not know. Whoever watches those (the binary) sends what it finds; the runtime writes it into
//! the status of every Ingress it serves and reconciles every stack again when it changes.
//!
//! ```text
//! binary: Service / Node watch ─► StatusSender::send(SourcedStatus)
//! runtime: change ─► every stack requeued ─► reconcile: status.addresses = the source's
//!          Missing(why) ─► empty status + one Warning Event per member
//! ```
//!
//! The runtime knows nothing of Services or Nodes: only this value and when it changes.

use tokio::sync::watch;
use weir_model::LoadBalancerAddress;

/// What a status source knows right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourcedStatus {
    /// Not known yet (the source has not read its objects): status is left as it is, so a
    /// restart never blanks an address that is still right.
    Unknown,
    /// The addresses to write (never empty).
    Addresses(Vec<LoadBalancerAddress>),
    /// There is no address, and why (naming the object and field): the status is emptied and
    /// each member gets a Warning Event with this message.
    Missing(String),
}

/// The sending side, held by whatever watches the objects the addresses come from.
#[derive(Debug)]
pub struct StatusSender(watch::Sender<SourcedStatus>);

impl StatusSender {
    /// Publishes `status`; returns whether it differs from what was known (only then are the
    /// stacks reconciled again).
    pub fn send(&self, status: SourcedStatus) -> bool {
        self.0.send_if_modified(|current| {
            if *current == status {
                return false;
            }
            *current = status;
            true
        })
    }
}

/// The receiving side, given to the runtime in [`crate::RunSettings::status_source`].
#[derive(Clone, Debug)]
pub struct StatusSource(watch::Receiver<SourcedStatus>);

impl StatusSource {
    /// A source that starts [`SourcedStatus::Unknown`], and its sender.
    pub fn channel() -> (StatusSender, Self) {
        let (sender, receiver) = watch::channel(SourcedStatus::Unknown);
        (StatusSender(sender), Self(receiver))
    }

    /// What the source knows now.
    pub(crate) fn current(&self) -> SourcedStatus {
        self.0.borrow().clone()
    }

    /// Waits for the next change; `false` when the sender is gone (no change will ever come).
    ///
    /// # Cancel safety
    /// Cancel-safe: a change that arrives while no one waits is seen by the next call.
    pub(crate) async fn changed(&mut self) -> bool {
        self.0.changed().await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_a_different_status_is_a_change() {
        let (sender, mut source) = StatusSource::channel();
        assert_eq!(source.current(), SourcedStatus::Unknown);
        let addresses = SourcedStatus::Addresses(vec![LoadBalancerAddress::Ip("10.0.0.1".into())]);
        assert!(sender.send(addresses.clone()));
        assert!(source.changed().await);
        assert_eq!(source.current(), addresses);
        assert!(!sender.send(addresses));
        assert!(sender.send(SourcedStatus::Missing("gone".into())));
        assert!(source.changed().await);
        drop(sender);
        assert!(!source.changed().await);
    }
}
