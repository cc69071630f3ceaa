//! Listeners: the `listen-ports` and `ssl-redirect` annotations of a stack's members.
//!
//! An ALB group shares its listeners, so `ssl-redirect` is group-wide there; the proxy's
//! per-class stacks merge unrelated Ingresses, so there it applies to the hosts of the
//! Ingress that sets it.

use std::collections::BTreeMap;

use weir_model::{Diagnostic, Listener, Protocol, Reason};

use crate::annotations;
use crate::grouping::Member;

const HTTP_PORT: u16 = 80;
const HTTPS_PORT: u16 = 443;

/// The stack's listener ports: the union of its members' `listen-ports` (default HTTP:80, plus
/// HTTPS:443 when the stack has certificates).
pub(crate) fn ports(
    members: &[Member<'_>],
    has_certificates: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> BTreeMap<u16, Protocol> {
    let mut ports: BTreeMap<u16, Protocol> = BTreeMap::new();
    let mut any_declared = false;
    for member in members {
        let object = &member.selected.object;
        let Some(annotation) = annotations::lookup(member.selected.ingress, "listen-ports") else {
            continue;
        };
        match parse_listen_ports(annotation.value) {
            Ok(declared) => {
                any_declared = true;
                for (port, protocol) in declared {
                    let existing = *ports.entry(port).or_insert(protocol);
                    if existing != protocol {
                        diagnostics.push(Diagnostic::warning(
                            object,
                            annotation.field(),
                            Reason::InvalidField,
                            format!("port {port} is {protocol} here but {existing} in an earlier member; keeping {existing}"),
                        ));
                    }
                }
            }
            Err(message) => diagnostics.push(Diagnostic::warning(
                object,
                annotation.field(),
                Reason::InvalidField,
                message,
            )),
        }
    }
    if !any_declared {
        ports.insert(HTTP_PORT, Protocol::Http);
        if has_certificates {
            ports.insert(HTTPS_PORT, Protocol::Https);
        }
    }
    ports
}

/// The listeners of `ports`; HTTP listeners redirect everything to HTTPS on `redirect` when set.
pub(crate) fn listeners(
    ports: &BTreeMap<u16, Protocol>,
    redirect: Option<u16>,
) -> BTreeMap<u16, Listener> {
    ports
        .iter()
        .map(|(port, protocol)| {
            let listener = Listener {
                protocol: *protocol,
                redirect_to_https_port: redirect.filter(|_| *protocol == Protocol::Http),
            };
            (*port, listener)
        })
        .collect()
}

/// Parses `[{"HTTP": 80}, {"HTTPS": 443}]`.
fn parse_listen_ports(value: &str) -> Result<Vec<(u16, Protocol)>, String> {
    let invalid = || {
        format!(
            "listen-ports {value:?} must be a JSON list like [{{\"HTTP\": 80}}, {{\"HTTPS\": 443}}]"
        )
    };
    let entries: Vec<BTreeMap<String, serde_json::Value>> =
        serde_json::from_str(value).map_err(|_| invalid())?;
    if entries.is_empty() {
        return Err(invalid());
    }
    entries
        .iter()
        .flat_map(|entry| entry.iter())
        .map(|(protocol, port)| {
            let protocol = match protocol.as_str() {
                "HTTP" => Protocol::Http,
                "HTTPS" => Protocol::Https,
                _ => return Err(invalid()),
            };
            let port = port
                .as_u64()
                .and_then(|port| u16::try_from(port).ok())
                .filter(|port| *port > 0)
                .ok_or_else(invalid)?;
            Ok((port, protocol))
        })
        .collect()
}

/// Each member's `ssl-redirect` port (by member position), which must be an HTTPS listener port
/// of the stack; anything else is reported and ignored.
pub(crate) fn member_redirects(
    members: &[Member<'_>],
    ports: &BTreeMap<u16, Protocol>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Option<u16>> {
    members
        .iter()
        .map(|member| {
            let annotation = annotations::lookup(member.selected.ingress, "ssl-redirect")?;
            match annotation.value.parse::<u16>() {
                Ok(port) if ports.get(&port) == Some(&Protocol::Https) => Some(port),
                _ => {
                    diagnostics.push(Diagnostic::warning(
                        &member.selected.object,
                        annotation.field(),
                        Reason::InvalidField,
                        format!(
                            "ssl-redirect {:?} is not an HTTPS listener port of this stack; ignored",
                            annotation.value
                        ),
                    ));
                    None
                }
            }
        })
        .collect()
}

/// The stack-wide redirect of a load balancer whose listeners are shared by the whole group:
/// the first member's; later conflicting values are reported.
pub(crate) fn group_redirect(
    members: &[Member<'_>],
    redirects: &[Option<u16>],
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<u16> {
    let mut chosen: Option<u16> = None;
    for (member, redirect) in members.iter().zip(redirects) {
        let Some(port) = *redirect else { continue };
        match chosen {
            None => chosen = Some(port),
            Some(first) if first != port => {
                let field = annotations::lookup(member.selected.ingress, "ssl-redirect")
                    .map(|annotation| annotation.field())
                    .unwrap_or_default();
                diagnostics.push(Diagnostic::warning(
                    &member.selected.object,
                    field,
                    Reason::InvalidField,
                    format!("ssl-redirect {port} conflicts with {first} of an earlier member; keeping {first}"),
                ));
            }
            Some(_) => {}
        }
    }
    chosen
}
