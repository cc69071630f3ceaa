//! Listeners: the `listen-ports` and `ssl-redirect` annotations of a stack's members.

use std::collections::BTreeMap;

use weir_model::{Diagnostic, Listener, Protocol, Reason};

use crate::annotations;
use crate::grouping::Member;

const HTTP_PORT: u16 = 80;
const HTTPS_PORT: u16 = 443;

/// The stack's listeners: the union of its members' `listen-ports` (default HTTP:80, plus
/// HTTPS:443 when the stack has certificates), with HTTP listeners redirecting to the
/// `ssl-redirect` port when one is set.
pub(crate) fn listeners(
    members: &[Member<'_>],
    has_certificates: bool,
    diagnostics: &mut Vec<Diagnostic>,
) -> BTreeMap<u16, Listener> {
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
    let redirect = ssl_redirect(members, &ports, diagnostics);
    ports
        .into_iter()
        .map(|(port, protocol)| {
            let redirect_to_https_port = redirect.filter(|_| protocol == Protocol::Http);
            (
                port,
                Listener {
                    protocol,
                    redirect_to_https_port,
                },
            )
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

/// The first member's valid `ssl-redirect` port, which must be an HTTPS listener of the stack.
fn ssl_redirect(
    members: &[Member<'_>],
    ports: &BTreeMap<u16, Protocol>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<u16> {
    let mut chosen: Option<u16> = None;
    for member in members {
        let Some(annotation) = annotations::lookup(member.selected.ingress, "ssl-redirect") else {
            continue;
        };
        let object = &member.selected.object;
        let port = match annotation.value.parse::<u16>() {
            Ok(port) if ports.get(&port) == Some(&Protocol::Https) => port,
            _ => {
                diagnostics.push(Diagnostic::warning(
                    object,
                    annotation.field(),
                    Reason::InvalidField,
                    format!(
                        "ssl-redirect {:?} is not an HTTPS listener port of this stack; ignored",
                        annotation.value
                    ),
                ));
                continue;
            }
        };
        match chosen {
            None => chosen = Some(port),
            Some(first) if first != port => diagnostics.push(Diagnostic::warning(
                object,
                annotation.field(),
                Reason::InvalidField,
                format!("ssl-redirect {port} conflicts with {first} of an earlier member; keeping {first}"),
            )),
            Some(_) => {}
        }
    }
    chosen
}
