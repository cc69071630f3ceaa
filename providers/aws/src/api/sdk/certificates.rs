//! ACM calls.

use aws_sdk_acm as acm;
use aws_smithy_types::Blob;
use weir_model::TlsMaterial;

use crate::api::call::Tags;
use crate::api::errors::CallError;
use crate::api::op::Op;
use crate::api::reply::Reply;
use crate::api::reply::{CertificateDetail, CertificateSummary};
use crate::api::sdk::adapter::SdkApi;
use crate::api::sdk::convert::{acm_tags, created_arn};
use crate::api::sdk::pages::all_pages;

impl SdkApi {
    pub(super) async fn list_certificates(&self, op: Op) -> Result<Reply, CallError> {
        let certificates = all_pages(|token| {
            let request = self
                .acm
                .list_certificates()
                .certificate_statuses(acm::types::CertificateStatus::Issued)
                .set_next_token(token);
            async move {
                let output = request
                    .send()
                    .await
                    .map_err(|error| CallError::from_sdk(op, error))?;
                let page = output
                    .certificate_summary_list()
                    .iter()
                    .filter_map(|summary| {
                        let mut names: Vec<String> = summary
                            .domain_name()
                            .into_iter()
                            .chain(
                                summary
                                    .subject_alternative_name_summaries()
                                    .iter()
                                    .map(String::as_str),
                            )
                            .map(str::to_ascii_lowercase)
                            .collect();
                        names.sort();
                        names.dedup();
                        Some(CertificateSummary {
                            arn: summary.certificate_arn()?.to_owned(),
                            names,
                            not_after: summary.not_after().map(|time| time.secs()),
                        })
                    })
                    .collect();
                Ok((page, output.next_token().map(str::to_owned)))
            }
        })
        .await?;
        Ok(Reply::Certificates(certificates))
    }

    pub(super) async fn describe_certificate(
        &self,
        op: Op,
        arn: String,
    ) -> Result<Reply, CallError> {
        let output = self
            .acm
            .describe_certificate()
            .certificate_arn(&arn)
            .send()
            .await
            .map_err(|error| CallError::from_sdk(op, error))?;
        let status = output
            .certificate()
            .and_then(|detail| detail.status())
            .map(|status| status.as_str().to_owned())
            .unwrap_or_default();
        Ok(Reply::Certificate(CertificateDetail { arn, status }))
    }

    pub(super) async fn import_certificate(
        &self,
        op: Op,
        reimport: Option<String>,
        material: TlsMaterial,
        tags: Tags,
    ) -> Result<Reply, CallError> {
        let tags = acm_tags(&tags, op)?;
        let (certificate, chain) = split_chain(&material.chain_pem);
        let output = self
            .acm
            .import_certificate()
            .set_certificate_arn(reimport)
            .certificate(Blob::new(certificate))
            .set_certificate_chain((!chain.is_empty()).then(|| Blob::new(chain)))
            .private_key(Blob::new(material.key.expose()))
            .set_tags((!tags.is_empty()).then_some(tags))
            .send()
            .await
            .map_err(|error| CallError::from_sdk(op, error))?;
        created_arn(op, output.certificate_arn())
    }

    pub(super) async fn add_tags_to_certificate(
        &self,
        op: Op,
        certificate: String,
        tags: Tags,
    ) -> Result<Reply, CallError> {
        self.acm
            .add_tags_to_certificate()
            .certificate_arn(certificate)
            .set_tags(Some(acm_tags(&tags, op)?))
            .send()
            .await
            .map_err(|error| CallError::from_sdk(op, error))?;
        Ok(Reply::Done)
    }

    pub(super) async fn delete_certificate(&self, op: Op, arn: String) -> Result<Reply, CallError> {
        self.acm
            .delete_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .map_err(|error| CallError::from_sdk(op, error))?;
        Ok(Reply::Done)
    }
}

/// Splits a PEM chain into the leaf certificate and the remaining chain (what
/// `ImportCertificate` takes apart).
pub fn split_chain(chain_pem: &str) -> (String, String) {
    const END: &str = "-----END CERTIFICATE-----";
    match chain_pem.find(END) {
        Some(index) => {
            let split = index + END.len();
            (
                format!("{}\n", chain_pem[..split].trim()),
                chain_pem[split..].trim().to_owned(),
            )
        }
        None => (chain_pem.to_owned(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_split_into_leaf_and_rest() {
        let chain = "-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
        let (leaf, rest) = split_chain(chain);
        assert_eq!(
            leaf,
            "-----BEGIN CERTIFICATE-----\nLEAF\n-----END CERTIFICATE-----\n"
        );
        assert_eq!(
            rest,
            "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----"
        );
        let (leaf, rest) = split_chain(&chain[..52]);
        assert!(leaf.contains("LEAF"));
        assert!(rest.is_empty());
    }
}
