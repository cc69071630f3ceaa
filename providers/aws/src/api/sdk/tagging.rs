//! `tag:GetResources`: resources by ownership tags, every page.

use aws_sdk_resourcegroupstagging as tagging;

use crate::api::call::Tags;
use crate::api::errors::CallError;
use crate::api::op::Op;
use crate::api::reply::Reply;
use crate::api::reply::TaggedResource;
use crate::api::sdk::adapter::SdkApi;

impl SdkApi {
    pub(super) async fn get_resources(
        &self,
        op: Op,
        tags: Tags,
        types: Vec<String>,
    ) -> Result<Reply, CallError> {
        let mut resources = Vec::new();
        let mut token: Option<String> = None;
        loop {
            // The most a page holds: a cluster-wide listing takes as few requests as it can.
            let mut request = self.tagging.get_resources().resources_per_page(100);
            for (key, value) in &tags {
                request = request.tag_filters(
                    tagging::types::TagFilter::builder()
                        .key(key)
                        .values(value)
                        .build(),
                );
            }
            for kind in &types {
                request = request.resource_type_filters(kind);
            }
            let output = request
                .set_pagination_token(token.take())
                .send()
                .await
                .map_err(|error| CallError::from_sdk(op, error))?;
            for mapping in output.resource_tag_mapping_list() {
                let Some(arn) = mapping.resource_arn() else {
                    continue;
                };
                resources.push(TaggedResource {
                    arn: arn.to_owned(),
                    tags: mapping
                        .tags()
                        .iter()
                        .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
                        .collect(),
                });
            }
            match output.pagination_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok(Reply::Resources(resources))
    }
}
