//! Kubernetes Events on Ingresses (and Gateways and HTTPRoutes), so `kubectl describe ingress` tells a user what is wrong and
//! where. Deciding *when* to publish (only what is new) is the reconciler's job; this module
//! only publishes, within the Events API's size limits, and never fails a reconcile over it.
//!
//! kube's [`Recorder`] folds an Event into the series of an earlier one with the same object,
//! type, reason and action, keeping the earlier note. That is right for a repeat of the same
//! message, wrong for a new one (a different provider error of the same kind, a Synced Event
//! with another member count): the user would read the old message. So a note that differs from
//! the one last published under the same identity starts over with a fresh Recorder, whose
//! empty cache makes it a new Event.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::networking::v1::Ingress;
use kube::Resource as _;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use weir_model::Diagnostic;

use crate::locking::lock;
use crate::metrics::Metrics;

/// The longest Event note the API accepts (1 kB).
const NOTE_LIMIT: usize = 1024;
/// The longest Event reason and action the API accepts.
const REASON_LIMIT: usize = 128;

/// How many Event identities a Recorder may serve before it is replaced, so the notes kept
/// for them stay bounded (a fresh Recorder only loses the chance to extend a series).
const IDENTITY_LIMIT: usize = 10_000;

/// Publishes Events as one reporting controller instance.
#[derive(Clone)]
pub(crate) struct EventSink {
    client: kube::Client,
    reporter: Reporter,
    series: Arc<Mutex<Series>>,
    metrics: Metrics,
}

/// The Recorder in use and the note last published for each identity it may have cached.
struct Series {
    recorder: Recorder,
    notes: HashMap<Identity, String>,
}

/// What kube's Recorder keys a series on (the reporter is fixed per sink).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Identity {
    namespace: Option<String>,
    name: Option<String>,
    uid: Option<String>,
    warning: bool,
    reason: String,
    action: String,
}

impl EventSink {
    pub(crate) fn new(client: kube::Client, instance: &str, metrics: Metrics) -> Self {
        let reporter = Reporter {
            controller: "weir-controller".into(),
            instance: Some(instance.to_owned()),
        };
        let series = Series {
            recorder: Recorder::new(client.clone(), reporter.clone()),
            notes: HashMap::new(),
        };
        Self {
            client,
            reporter,
            series: Arc::new(Mutex::new(series)),
            metrics,
        }
    }

    /// The Recorder to publish `note` under `identity` with: the current one when it has only
    /// seen this note (or nothing) under `identity`, else a fresh one that replaces it.
    fn recorder_for(&self, identity: Identity, note: &str) -> Recorder {
        let mut series = lock(&self.series);
        let stale = series
            .notes
            .get(&identity)
            .is_some_and(|published| published != note);
        if stale || series.notes.len() >= IDENTITY_LIMIT {
            series.recorder = Recorder::new(self.client.clone(), self.reporter.clone());
            series.notes.clear();
        }
        series.notes.insert(identity, note.to_owned());
        series.recorder.clone()
    }

    /// A Warning Event for one diagnostic on `ingress`: the diagnostic's reason, its field as
    /// the action (so two problems with one reason stay two Events), `field: message` as note.
    pub(crate) async fn publish_diagnostic(&self, ingress: &Ingress, diagnostic: &Diagnostic) {
        self.publish_diagnostic_on(&ingress.object_ref(&()), diagnostic)
            .await;
    }

    /// [`EventSink::publish_diagnostic`] on any object (a Gateway, an HTTPRoute).
    pub(crate) async fn publish_diagnostic_on(
        &self,
        reference: &ObjectReference,
        diagnostic: &Diagnostic,
    ) {
        let note = format!("{}: {}", diagnostic.field, diagnostic.message);
        self.publish_on(
            reference,
            true,
            diagnostic.reason.as_str(),
            &diagnostic.field,
            &note,
        )
        .await;
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
        self.publish_on(&ingress.object_ref(&()), warning, reason, action, note)
            .await;
    }

    /// [`EventSink::publish`] on any object (a Gateway, an HTTPRoute).
    pub(crate) async fn publish_on(
        &self,
        reference: &ObjectReference,
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
        let reference = reference.clone();
        let identity = Identity {
            namespace: reference.namespace.clone(),
            name: reference.name.clone(),
            uid: reference.uid.clone(),
            warning,
            reason: event.reason.clone(),
            action: event.action.clone(),
        };
        let recorder = self.recorder_for(identity, event.note.as_deref().unwrap_or_default());
        match recorder.publish(&event, &reference).await {
            Ok(()) => self
                .metrics
                .event_published(if warning { "Warning" } else { "Normal" }),
            Err(error) => tracing::warn!(
                object = %format!("{}/{}", reference.namespace.unwrap_or_default(), reference.name.unwrap_or_default()),
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
