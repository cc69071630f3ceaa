//! Kubernetes Events on Ingresses, so `kubectl describe ingress` tells a user what is wrong and
//! where. Deciding *when* to publish (only what is new) is the reconciler's job; this module
//! only publishes, within the Events API's size limits, and never fails a reconcile over it.

use k8s_openapi::api::networking::v1::Ingress;
use kube::Resource as _;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};

use crate::metrics::Metrics;

/// The longest Event note the API accepts (1 kB).
const NOTE_LIMIT: usize = 1024;
/// The longest Event reason and action the API accepts.
const REASON_LIMIT: usize = 128;

/// Publishes Events as one reporting controller instance.
#[derive(Clone)]
pub(crate) struct EventSink {
    recorder: Recorder,
    metrics: Metrics,
}

impl EventSink {
    pub(crate) fn new(client: kube::Client, instance: &str, metrics: Metrics) -> Self {
        let reporter = Reporter {
            controller: "weir-controller".into(),
            instance: Some(instance.to_owned()),
        };
        Self {
            recorder: Recorder::new(client, reporter),
            metrics,
        }
    }

    /// Publishes one Event on `ingress`. A failure is logged, not returned: Events are advice,
    /// and a reconcile must not fail (or repeat) over one.
    pub(crate) async fn publish(
        &self,
        ingress: &Ingress,
        warning: bool,
        reason: &str,
        action: &str,
        note: &str,
    ) {
        let event = Event {
            type_: if warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: truncate(reason, REASON_LIMIT),
            note: Some(truncate(note, NOTE_LIMIT)),
            action: truncate(action, REASON_LIMIT),
            secondary: None,
        };
        let reference = ingress.object_ref(&());
        match self.recorder.publish(&event, &reference).await {
            Ok(()) => self
                .metrics
                .event_published(if warning { "Warning" } else { "Normal" }),
            Err(error) => tracing::warn!(
                ingress = %format!("{}/{}", reference.namespace.unwrap_or_default(), reference.name.unwrap_or_default()),
                reason,
                %error,
                "could not publish an Event"
            ),
        }
    }
}

/// `text` cut to at most `limit` bytes on a character boundary, marked when cut.
fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::truncate;

    #[test]
    fn long_texts_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("short", 10), "short");
        let cut = truncate(&"é".repeat(100), 11);
        assert!(cut.len() <= 11, "{cut}");
        assert!(cut.ends_with("..."));
    }
}
