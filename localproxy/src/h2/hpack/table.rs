//! The indexing tables of RFC 7541 section 2.3: the static table (Appendix A) and the
//! decoder's dynamic table, addressed together by one index space (static 1..=61, then
//! dynamic, newest first).
//!
//! The dynamic table keeps every entry's bytes in one buffer, oldest first, so inserting
//! allocates nothing once the buffer has grown to its working size: evicting only moves the
//! start of the live bytes, and the dead prefix is dropped when it gets large.

use std::collections::VecDeque;

/// RFC 7541 Appendix A, index 1 first.
pub(super) const STATIC_TABLE: [(&[u8], &[u8]); 61] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// The per-entry overhead RFC 7541 section 4.1 adds to name and value lengths.
pub(super) const ENTRY_OVERHEAD: usize = 32;

/// Where one dynamic entry's bytes are in [`Table::bytes`].
#[derive(Clone, Copy, Debug)]
struct Entry {
    offset: usize,
    name_len: usize,
    value_len: usize,
}

impl Entry {
    fn end(&self) -> usize {
        self.offset + self.name_len + self.value_len
    }

    fn size(&self) -> usize {
        self.name_len + self.value_len + ENTRY_OVERHEAD
    }
}

/// The static table plus one decoder's dynamic table.
#[derive(Debug)]
pub(super) struct Table {
    /// Entries' name and value bytes, oldest first, after a dead prefix of `live_start` bytes.
    bytes: Vec<u8>,
    live_start: usize,
    /// Newest first: `entries[0]` is index 62.
    entries: VecDeque<Entry>,
    /// The RFC size: name + value + 32 per entry.
    size: usize,
    max_size: usize,
}

impl Table {
    /// An empty dynamic table that holds at most `max_size` (RFC size).
    pub(super) fn new(max_size: usize) -> Self {
        Self {
            bytes: Vec::new(),
            live_start: 0,
            entries: VecDeque::new(),
            size: 0,
            max_size,
        }
    }

    /// The entry at an HPACK index (1-based, static first), or `None` for 0 and past the end.
    pub(super) fn get(&self, index: usize) -> Option<(&[u8], &[u8])> {
        if index == 0 {
            return None;
        }
        if let Some(&entry) = STATIC_TABLE.get(index - 1) {
            return Some(entry);
        }
        let entry = self.entries.get(index - 1 - STATIC_TABLE.len())?;
        let name_end = entry.offset + entry.name_len;
        Some((
            &self.bytes[entry.offset..name_end],
            &self.bytes[name_end..entry.end()],
        ))
    }

    /// Inserts a field whose name is given as bytes (RFC 7541 section 4.4).
    pub(super) fn insert(&mut self, name: &[u8], value: &[u8]) {
        if !self.make_room(name.len() + value.len()) {
            return;
        }
        let offset = self.bytes.len();
        self.bytes.extend_from_slice(name);
        self.bytes.extend_from_slice(value);
        self.push_newest(offset, name.len(), value.len());
    }

    /// Inserts a field whose name is that of the entry at HPACK `index` (which the caller
    /// has checked with [`Table::get`]). The name is copied before any eviction, as RFC 7541
    /// section 4.4 requires: an entry may name itself by an index this insertion evicts.
    pub(super) fn insert_with_name_of(&mut self, index: usize, value: &[u8]) {
        let Some(dynamic) = index.checked_sub(STATIC_TABLE.len() + 1) else {
            if let Some(&(name, _)) = index.checked_sub(1).and_then(|i| STATIC_TABLE.get(i)) {
                self.insert(name, value);
            }
            return;
        };
        let Some(&named) = self.entries.get(dynamic) else {
            return;
        };
        let name_len = named.name_len;
        if name_len + value.len() + ENTRY_OVERHEAD > self.max_size {
            self.clear();
            return;
        }
        self.drop_dead_prefix();
        // The named entry may have moved if the dead prefix was dropped.
        let Some(&named) = self.entries.get(dynamic) else {
            return;
        };
        let offset = self.bytes.len();
        self.bytes
            .extend_from_within(named.offset..named.offset + name_len);
        self.bytes.extend_from_slice(value);
        self.evict_to(self.max_size - (name_len + value.len() + ENTRY_OVERHEAD));
        self.push_newest(offset, name_len, value.len());
    }

    /// Applies a dynamic table size update (RFC 7541 section 6.3), evicting as needed.
    pub(super) fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
    }

    /// The RFC size of the dynamic table.
    #[cfg(test)]
    pub(super) fn size(&self) -> usize {
        self.size
    }

    /// The dynamic entries, newest first, as owned pairs (for tests).
    #[cfg(test)]
    pub(super) fn dynamic_entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        (0..self.entries.len())
            .filter_map(|i| self.get(STATIC_TABLE.len() + 1 + i))
            .map(|(name, value)| (name.to_vec(), value.to_vec()))
            .collect()
    }

    /// Evicts for an entry of `len` name and value bytes; `false` when it can never fit
    /// (the table is then emptied, RFC 7541 section 4.4).
    fn make_room(&mut self, len: usize) -> bool {
        let size = len + ENTRY_OVERHEAD;
        if size > self.max_size {
            self.clear();
            return false;
        }
        self.evict_to(self.max_size - size);
        self.drop_dead_prefix();
        true
    }

    fn push_newest(&mut self, offset: usize, name_len: usize, value_len: usize) {
        let entry = Entry {
            offset,
            name_len,
            value_len,
        };
        self.size += entry.size();
        self.entries.push_front(entry);
    }

    /// Evicts the oldest entries until the size is at most `target`.
    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            let Some(oldest) = self.entries.pop_back() else {
                break;
            };
            self.size -= oldest.size();
            self.live_start = oldest.end();
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.bytes.clear();
        self.live_start = 0;
        self.size = 0;
    }

    /// Drops the evicted bytes at the front once they outweigh the live ones, so the buffer
    /// stays within three times the table's size and the copying is amortised.
    fn drop_dead_prefix(&mut self) {
        if self.live_start == 0 || self.live_start < self.bytes.len() - self.live_start {
            return;
        }
        let dead = self.live_start;
        self.bytes.drain(..dead);
        self.live_start = 0;
        for entry in &mut self.entries {
            entry.offset -= dead;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str, value: &str) -> (Vec<u8>, Vec<u8>) {
        (name.as_bytes().to_vec(), value.as_bytes().to_vec())
    }

    #[test]
    fn static_indices_follow_appendix_a() {
        let table = Table::new(4096);
        assert_eq!(table.get(1), Some((&b":authority"[..], &b""[..])));
        assert_eq!(table.get(2), Some((&b":method"[..], &b"GET"[..])));
        assert_eq!(
            table.get(16),
            Some((&b"accept-encoding"[..], &b"gzip, deflate"[..]))
        );
        assert_eq!(table.get(61), Some((&b"www-authenticate"[..], &b""[..])));
        assert_eq!(table.get(0), None);
        assert_eq!(table.get(62), None);
    }

    #[test]
    fn newest_entry_is_index_62() {
        let mut table = Table::new(4096);
        table.insert(b"a", b"1");
        table.insert(b"b", b"2");
        assert_eq!(table.get(62), Some((&b"b"[..], &b"2"[..])));
        assert_eq!(table.get(63), Some((&b"a"[..], &b"1"[..])));
        assert_eq!(table.get(64), None);
        assert_eq!(table.size(), 2 * 34);
    }

    #[test]
    fn inserting_past_the_maximum_evicts_the_oldest() {
        let mut table = Table::new(100);
        table.insert(b"aaaa", b"1111"); // 40
        table.insert(b"bbbb", b"2222"); // 80
        table.insert(b"cccc", b"3333"); // 120 > 100: evict aaaa
        assert_eq!(
            table.dynamic_entries(),
            vec![pair("cccc", "3333"), pair("bbbb", "2222")]
        );
        assert_eq!(table.size(), 80);
    }

    #[test]
    fn an_entry_larger_than_the_table_empties_it() {
        let mut table = Table::new(64);
        table.insert(b"a", b"1");
        table.insert(b"name", &[b'x'; 40]);
        assert_eq!(table.dynamic_entries(), Vec::new());
        assert_eq!(table.size(), 0);
    }

    #[test]
    fn an_entry_may_take_its_name_from_the_entry_it_evicts() {
        // Room for one entry only: the new one names the old one, which it evicts.
        let mut table = Table::new(50);
        table.insert(b"custom", b"old");
        table.insert_with_name_of(62, b"new");
        assert_eq!(table.dynamic_entries(), vec![pair("custom", "new")]);
    }

    #[test]
    fn a_smaller_maximum_evicts_and_zero_empties() {
        let mut table = Table::new(4096);
        table.insert(b"a", b"1");
        table.insert(b"b", b"2");
        table.set_max_size(34);
        assert_eq!(table.dynamic_entries(), vec![pair("b", "2")]);
        table.set_max_size(0);
        assert_eq!(table.dynamic_entries(), Vec::new());
    }

    #[test]
    fn many_insertions_keep_the_buffer_bounded_and_entries_intact() {
        let mut table = Table::new(4096);
        for i in 0..10_000u32 {
            let value = i.to_string();
            if i % 3 == 0 && i > 0 {
                table.insert_with_name_of(62, value.as_bytes());
            } else {
                table.insert(format!("name-{}", i % 7).as_bytes(), value.as_bytes());
            }
            assert_eq!(table.get(62).map(|(_, v)| v), Some(value.as_bytes()));
            assert!(table.size() <= 4096);
            assert!(
                table.bytes.len() <= 3 * 4096,
                "buffer {}",
                table.bytes.len()
            );
        }
    }
}
