//! One EC2 Query API call, `DescribeSubnets`, signed with SigV4 from the SDK configuration's
//! credentials and region and sent over HTTPS (or to `AWS_ENDPOINT_URL` for emulators).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials as _;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4::SigningParams;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_xml::decode::{Document, ScopedDecoder, try_data};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;

/// The EC2 Query API version weir speaks.
const API_VERSION: &str = "2016-11-15";

/// How long one page may take, connection included.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Pages at most; a VPC has at most a few hundred subnets.
const MAX_PAGES: usize = 20;

/// One subnet as `DescribeSubnets` describes it, with the fields discovery reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubnetInfo {
    /// `subnet-...`.
    pub id: String,
    /// The availability zone, such as `eu-west-1a`.
    pub zone: String,
    /// Free IPv4 addresses.
    pub available_addresses: u64,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// Why EC2 could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The SDK configuration has no region or no credentials provider.
    #[error("subnet discovery: {0}")]
    Config(&'static str),
    /// Credentials could not be loaded.
    #[error("subnet discovery: loading AWS credentials: {0}")]
    Credentials(String),
    /// Signing failed.
    #[error("subnet discovery: signing the EC2 request: {0}")]
    Signing(String),
    /// The endpoint is HTTPS and the machine has no usable root certificates to check it
    /// (no `ca-certificates`, or `SSL_CERT_FILE` naming nothing readable).
    #[error(
        "subnet discovery: no usable system root certificates to reach EC2 at {endpoint}: {reason}"
    )]
    NoRootCertificates {
        /// Where it would have been sent.
        endpoint: String,
        /// What loading the roots reported.
        reason: String,
    },
    /// The request did not reach EC2 or took longer than 30 s.
    #[error("subnet discovery: EC2 at {endpoint}: {reason}")]
    Transport {
        /// Where it was sent.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
    /// EC2 answered with an error (`UnauthorizedOperation` when the role lacks
    /// `ec2:DescribeSubnets`, `InvalidVpcID.NotFound`, ...).
    #[error("subnet discovery: EC2 DescribeSubnets answered {status} {code}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The EC2 error code.
        code: String,
        /// Its message.
        message: String,
    },
    /// The answer was not the XML `DescribeSubnets` returns.
    #[error("subnet discovery: unreadable DescribeSubnets answer: {0}")]
    Malformed(String),
}

impl From<DiscoveryError> for weir_model::ProviderError {
    /// Transport failures are transient; a refusal, a missing region or credentials and an
    /// unreadable answer need the operator.
    fn from(error: DiscoveryError) -> Self {
        let kind = match &error {
            DiscoveryError::Transport { .. } => weir_model::ErrorKind::Transient,
            DiscoveryError::Api { status, .. } if *status >= 500 => {
                weir_model::ErrorKind::Transient
            }
            _ => weir_model::ErrorKind::Permanent,
        };
        Self::new(kind, error.to_string())
    }
}

/// The subnets of `vpc_id` that carry the tag key `role_tag`, every page.
///
/// # Errors
/// [`DiscoveryError`] naming what failed.
pub async fn describe_subnets(
    config: &SdkConfig,
    vpc_id: &str,
    role_tag: &str,
) -> Result<Vec<SubnetInfo>, DiscoveryError> {
    let region = config
        .region()
        .ok_or(DiscoveryError::Config("no AWS region configured"))?
        .to_string();
    let credentials = config
        .credentials_provider()
        .ok_or(DiscoveryError::Config("no AWS credentials provider"))?
        .provide_credentials()
        .await
        .map_err(|error| DiscoveryError::Credentials(error.to_string()))?;
    let identity = Identity::from(credentials);
    let endpoint = endpoint(config, &region);
    let client = https_client(&endpoint)?;
    let mut subnets = Vec::new();
    let mut next_token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let body = query_body(vpc_id, role_tag, next_token.as_deref());
        let request = signed_request(&endpoint, &region, &identity, body)?;
        let (status, text) = tokio::time::timeout(CALL_TIMEOUT, send(&client, request))
            .await
            .map_err(|_| DiscoveryError::Transport {
                endpoint: endpoint.clone(),
                reason: format!("no answer in {} s", CALL_TIMEOUT.as_secs()),
            })?
            .map_err(|reason| DiscoveryError::Transport {
                endpoint: endpoint.clone(),
                reason,
            })?;
        if !(200..300).contains(&status) {
            return Err(api_error(status, &text));
        }
        let page = parse_page(&text)?;
        subnets.extend(page.subnets);
        next_token = page.next_token;
        if next_token.is_none() {
            return Ok(subnets);
        }
    }
    Err(DiscoveryError::Malformed(format!(
        "more than {MAX_PAGES} pages"
    )))
}

type Https = hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// The client for `endpoint`: checked against the system's root certificates when it is
/// HTTPS. A plain-HTTP endpoint (an emulator) needs no roots, so a machine without them can
/// still reach it; an HTTPS one without them is refused here, naming the cause, rather than
/// at the handshake.
fn https_client(endpoint: &str) -> Result<HttpClient<Https, Full<Bytes>>, DiscoveryError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let native_roots = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(Arc::clone(&provider));
    let connector = connector(endpoint, native_roots, provider)?;
    Ok(HttpClient::builder(TokioExecutor::new()).build(connector))
}

/// The connector for `endpoint`, given what loading the system's roots gave.
fn connector(
    endpoint: &str,
    native_roots: std::io::Result<
        hyper_rustls::HttpsConnectorBuilder<hyper_rustls::builderstates::WantsSchemes>,
    >,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<Https, DiscoveryError> {
    let builder = match native_roots {
        Ok(builder) => builder,
        Err(error) if endpoint.starts_with("https://") => {
            return Err(DiscoveryError::NoRootCertificates {
                endpoint: endpoint.to_owned(),
                reason: error.to_string(),
            });
        }
        Err(_) => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
            rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|error| DiscoveryError::NoRootCertificates {
                    endpoint: endpoint.to_owned(),
                    reason: error.to_string(),
                })?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        ),
    };
    Ok(builder.https_or_http().enable_http1().build())
}

/// `AWS_ENDPOINT_URL_EC2`, else the configuration's endpoint (`AWS_ENDPOINT_URL`), else the
/// Region's public EC2 endpoint.
fn endpoint(config: &SdkConfig, region: &str) -> String {
    std::env::var("AWS_ENDPOINT_URL_EC2")
        .ok()
        .filter(|url| !url.is_empty())
        .or_else(|| config.endpoint_url().map(str::to_owned))
        .unwrap_or_else(|| format!("https://ec2.{region}.amazonaws.com"))
        .trim_end_matches('/')
        .to_owned()
}

/// The form body: the VPC and tag-key filters, and the page token.
fn query_body(vpc_id: &str, role_tag: &str, next_token: Option<&str>) -> String {
    let mut pairs = vec![
        ("Action", "DescribeSubnets"),
        ("Version", API_VERSION),
        ("Filter.1.Name", "vpc-id"),
        ("Filter.1.Value.1", vpc_id),
        ("Filter.2.Name", "tag-key"),
        ("Filter.2.Value.1", role_tag),
    ];
    if let Some(token) = next_token {
        pairs.push(("NextToken", token));
    }
    pairs
        .iter()
        .map(|(key, value)| format!("{key}={}", form_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// A POST of `body` to `endpoint`, signed for service `ec2` in `region`.
fn signed_request(
    endpoint: &str,
    region: &str,
    identity: &Identity,
    body: String,
) -> Result<http::Request<Full<Bytes>>, DiscoveryError> {
    let uri = format!("{endpoint}/");
    let host = uri
        .split_once("://")
        .map_or(uri.as_str(), |(_, rest)| rest)
        .trim_end_matches('/')
        .to_owned();
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let params = SigningParams::builder()
        .identity(identity)
        .region(region)
        .name("ec2")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .map_err(|error| DiscoveryError::Signing(error.to_string()))?;
    let headers = [("host", host.as_str()), ("content-type", content_type)];
    let signable = SignableRequest::new(
        "POST",
        uri.as_str(),
        headers.into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|error| DiscoveryError::Signing(error.to_string()))?;
    let (instructions, _signature) = sign(signable, &params.into())
        .map_err(|error| DiscoveryError::Signing(error.to_string()))?
        .into_parts();
    let mut request = http::Request::post(&uri)
        .header("host", host)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .map_err(|error| DiscoveryError::Signing(error.to_string()))?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(request)
}

async fn send(
    client: &HttpClient<Https, Full<Bytes>>,
    request: http::Request<Full<Bytes>>,
) -> Result<(u16, String), String> {
    let response = client
        .request(request)
        .await
        .map_err(|error| error.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|error| error.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// One page of `DescribeSubnetsResponse`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Page {
    subnets: Vec<SubnetInfo>,
    next_token: Option<String>,
}

fn malformed(error: impl std::fmt::Display) -> DiscoveryError {
    DiscoveryError::Malformed(error.to_string())
}

fn parse_page(xml: &str) -> Result<Page, DiscoveryError> {
    let mut document = Document::new(xml);
    let mut root = document.root_element().map_err(malformed)?;
    if !root.start_el().matches("DescribeSubnetsResponse") {
        return Err(malformed(format!(
            "root element {:?}",
            root.start_el().local()
        )));
    }
    let mut page = Page::default();
    while let Some(mut tag) = root.next_tag() {
        if tag.start_el().matches("subnetSet") {
            while let Some(mut item) = tag.next_tag() {
                if item.start_el().matches("item") {
                    page.subnets.push(parse_subnet(&mut item)?);
                }
            }
        } else if tag.start_el().matches("nextToken") {
            let token = try_data(&mut tag).map_err(malformed)?;
            page.next_token = Some(token.into_owned()).filter(|token| !token.is_empty());
        }
    }
    Ok(page)
}

fn parse_subnet(item: &mut ScopedDecoder<'_, '_>) -> Result<SubnetInfo, DiscoveryError> {
    let mut subnet = SubnetInfo {
        id: String::new(),
        zone: String::new(),
        available_addresses: 0,
        tags: BTreeMap::new(),
    };
    while let Some(mut field) = item.next_tag() {
        let name = field.start_el().local().to_owned();
        match name.as_str() {
            "subnetId" => subnet.id = try_data(&mut field).map_err(malformed)?.into_owned(),
            "availabilityZone" => {
                subnet.zone = try_data(&mut field).map_err(malformed)?.into_owned();
            }
            "availableIpAddressCount" => {
                let count = try_data(&mut field).map_err(malformed)?;
                subnet.available_addresses = count
                    .trim()
                    .parse()
                    .map_err(|_| malformed(format!("availableIpAddressCount {count:?}")))?;
            }
            "tagSet" => {
                while let Some(mut tag) = field.next_tag() {
                    let (key, value) = parse_tag(&mut tag)?;
                    subnet.tags.insert(key, value);
                }
            }
            _ => {}
        }
    }
    if subnet.id.is_empty() || subnet.zone.is_empty() {
        return Err(malformed("a subnet without subnetId or availabilityZone"));
    }
    Ok(subnet)
}

fn parse_tag(tag: &mut ScopedDecoder<'_, '_>) -> Result<(String, String), DiscoveryError> {
    let (mut key, mut value) = (String::new(), String::new());
    while let Some(mut field) = tag.next_tag() {
        if field.start_el().matches("key") {
            key = try_data(&mut field).map_err(malformed)?.into_owned();
        } else if field.start_el().matches("value") {
            value = try_data(&mut field).map_err(malformed)?.into_owned();
        }
    }
    Ok((key, value))
}

/// `<Response><Errors><Error><Code>..</Code><Message>..</Message>` as [`DiscoveryError::Api`].
fn api_error(status: u16, xml: &str) -> DiscoveryError {
    let text_of = |element: &str| -> String {
        let open = format!("<{element}>");
        let close = format!("</{element}>");
        xml.split_once(&open)
            .and_then(|(_, rest)| rest.split_once(&close))
            .map(|(text, _)| text.to_owned())
            .unwrap_or_default()
    };
    DiscoveryError::Api {
        status,
        code: text_of("Code"),
        message: text_of("Message"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeSubnetsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>
  <subnetSet>
    <item>
      <subnetId>subnet-0a</subnetId>
      <state>available</state>
      <vpcId>vpc-1</vpcId>
      <availableIpAddressCount>251</availableIpAddressCount>
      <availabilityZone>eu-west-1a</availabilityZone>
      <tagSet>
        <item><key>kubernetes.io/role/elb</key><value>1</value></item>
        <item><key>Name</key><value>public-a</value></item>
      </tagSet>
    </item>
    <item>
      <subnetId>subnet-0b</subnetId>
      <availableIpAddressCount>3</availableIpAddressCount>
      <availabilityZone>eu-west-1b</availabilityZone>
    </item>
  </subnetSet>
  <nextToken>page-2</nextToken>
</DescribeSubnetsResponse>"#;

    #[test]
    fn without_root_certificates_https_is_refused_naming_the_cause_and_http_still_works() {
        let provider = || Arc::new(rustls::crypto::ring::default_provider());
        let missing = || Err(std::io::Error::other("no CA certificates found"));
        let refused = connector("https://ec2.eu-west-1.amazonaws.com", missing(), provider());
        match refused {
            Err(error @ DiscoveryError::NoRootCertificates { .. }) => {
                let text = error.to_string();
                assert!(
                    text.contains("https://ec2.eu-west-1.amazonaws.com"),
                    "{text}"
                );
                assert!(text.contains("no CA certificates found"), "{text}");
            }
            other => panic!("{:?}", other.map(|_| "a connector")),
        }
        assert!(connector("http://127.0.0.1:5000", missing(), provider()).is_ok());
    }

    #[test]
    fn a_page_gives_its_subnets_with_tags_and_the_next_token() {
        let page = parse_page(PAGE).expect("a page");
        assert_eq!(page.next_token.as_deref(), Some("page-2"));
        assert_eq!(page.subnets.len(), 2);
        assert_eq!(page.subnets[0].id, "subnet-0a");
        assert_eq!(page.subnets[0].zone, "eu-west-1a");
        assert_eq!(page.subnets[0].available_addresses, 251);
        assert_eq!(
            page.subnets[0]
                .tags
                .get("kubernetes.io/role/elb")
                .map(String::as_str),
            Some("1")
        );
        assert_eq!(page.subnets[1].available_addresses, 3);
        assert!(page.subnets[1].tags.is_empty());
    }

    #[test]
    fn error_answers_and_foreign_documents_are_named() {
        let error = api_error(
            403,
            "<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>x</RequestID></Response>",
        );
        assert_eq!(
            error.to_string(),
            "subnet discovery: EC2 DescribeSubnets answered 403 UnauthorizedOperation: You are not authorized to perform this operation."
        );
        assert!(matches!(
            parse_page("<DescribeVpcsResponse/>"),
            Err(DiscoveryError::Malformed(_))
        ));
    }

    #[test]
    fn the_request_filters_by_vpc_and_role_and_is_signed_for_ec2() {
        assert_eq!(
            query_body("vpc-1", "kubernetes.io/role/elb", Some("a b")),
            "Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&Filter.2.Name=tag-key&Filter.2.Value.1=kubernetes.io%2Frole%2Felb&NextToken=a%20b"
        );
        let identity = Identity::from(aws_credential_types::Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "test",
        ));
        let request = signed_request(
            "https://ec2.eu-west-1.amazonaws.com",
            "eu-west-1",
            &identity,
            "Action=DescribeSubnets".into(),
        )
        .expect("a signed request");
        let authorization = request
            .headers()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .expect("an Authorization header");
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
                && authorization.contains("/eu-west-1/ec2/aws4_request")
                && authorization.contains("SignedHeaders=content-type;host;x-amz-date"),
            "{authorization}"
        );
        assert_eq!(request.headers()["host"], "ec2.eu-west-1.amazonaws.com");
        assert!(!authorization.contains("secret"));
    }
}
