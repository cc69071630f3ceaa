//! Pagination: a marker- or token-paginated call followed to its last page.

use std::future::Future;

use crate::api::errors::CallError;

/// Follows a marker- or token-paginated call to its last page; `page(marker)` fetches one page
/// and returns its items with the next marker (absent or empty on the last page).
pub(super) async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, CallError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<String>), CallError>>,
{
    let mut items = Vec::new();
    let mut marker = None;
    loop {
        let (batch, next) = page(marker.take()).await?;
        items.extend(batch);
        match next.filter(|next| !next.is_empty()) {
            Some(next) => marker = Some(next),
            None => return Ok(items),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    pub(super) async fn all_pages_follows_markers_to_the_last_page() {
        let pages = [
            (vec![1, 2], Some("b".to_owned())),
            (vec![3], Some("c".to_owned())),
            (vec![4], Some(String::new())),
            (vec![99], None),
        ];
        let mut seen = Vec::new();
        let items = all_pages(|marker| {
            seen.push(marker.clone());
            let index = seen.len() - 1;
            let page = pages[index].clone();
            async move { Ok(page) }
        })
        .await
        .unwrap();
        assert_eq!(items, [1, 2, 3, 4], "an empty marker ends the listing");
        assert_eq!(seen, [None, Some("b".to_owned()), Some("c".to_owned())]);
    }
}
