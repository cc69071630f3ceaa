//! The pure index: which stacks does a change to one Kubernetes object affect?
//!
//! Fed by synchronous `apply(object)` / `delete(kind, namespace, name)` calls (from kube
//! watchers in the controller, from a folder of YAML in `plan` and `apply --once`), it keeps
//! the objects, each Ingress's stack membership and, per stack, what its last translation read
//! (Services, EndpointSlices, Secrets, including names that do not exist yet). No kube client,
//! no tokio, no I/O.
