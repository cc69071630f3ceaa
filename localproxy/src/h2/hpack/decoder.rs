//! The request side of HPACK: decodes whole header blocks into fields without allocating
//! per field, and keeps the dynamic table in sync even when a block is over the list limit.

use super::{HpackError, huffman, table::Table};

/// Decodes the header blocks of one connection (RFC 7541 section 3).
#[derive(Debug)]
pub struct Decoder {
    table: Table,
    /// SETTINGS_HEADER_TABLE_SIZE as we advertised it: the most a size update may ask for.
    max_table_size: usize,
    /// Huffman decoding of the current field's name and value, reused across fields.
    name_scratch: Vec<u8>,
    value_scratch: Vec<u8>,
}

/// The overhead RFC 9113 section 6.5.2 counts per field in SETTINGS_MAX_HEADER_LIST_SIZE.
const FIELD_OVERHEAD: usize = 32;

/// The scratch capacity a decoder keeps between blocks; a larger Huffman string's buffer is
/// given back after its block, so a connection's memory stays bounded while it is idle.
const SCRATCH_KEPT: usize = 1024;

/// Where a literal field's name comes from.
enum Name<'a> {
    /// A static or dynamic entry, checked to exist.
    Indexed(usize),
    /// A string literal, from the block or the name scratch buffer.
    Literal(&'a [u8]),
}

impl Decoder {
    /// A decoder whose dynamic table may grow to `max_table_size`: the
    /// SETTINGS_HEADER_TABLE_SIZE we advertised (4096).
    pub fn new(max_table_size: usize) -> Self {
        Self {
            table: Table::new(max_table_size),
            max_table_size,
            name_scratch: Vec::new(),
            value_scratch: Vec::new(),
        }
    }

    /// Decodes one complete header block (HEADERS + CONTINUATION payloads concatenated),
    /// calling `field(name, value)` for each field in order, with no allocation per field
    /// (borrowed from the block, the table or a reused scratch buffer). The size counted
    /// against `max_list_size` is RFC 9113's: name + value + 32 per field. Past the limit it
    /// stops calling `field` but decodes the rest and returns `Err(ListTooLarge)`.
    ///
    /// # Errors
    /// [`HpackError::ListTooLarge`] as above (the table is in sync: a stream error); any other
    /// variant means the block is malformed and the table may be out of sync (a connection
    /// error COMPRESSION_ERROR).
    pub fn decode(
        &mut self,
        block: &[u8],
        max_list_size: usize,
        field: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<(), HpackError> {
        let result = self.decode_block(block, max_list_size, field);
        // An idle connection keeps no more than a typical field's worth of scratch.
        for scratch in [&mut self.name_scratch, &mut self.value_scratch] {
            scratch.clear();
            scratch.shrink_to(SCRATCH_KEPT);
        }
        result
    }

    fn decode_block(
        &mut self,
        block: &[u8],
        max_list_size: usize,
        field: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<(), HpackError> {
        let Self {
            table,
            max_table_size,
            name_scratch,
            value_scratch,
        } = self;
        let mut pos = 0;
        let mut list_size = 0usize;
        let mut any_field = false;
        let mut emit = |name: &[u8], value: &[u8]| {
            list_size = list_size.saturating_add(name.len() + value.len() + FIELD_OVERHEAD);
            if list_size <= max_list_size {
                field(name, value);
            }
        };
        while let Some(&first) = block.get(pos) {
            if first & 0x80 != 0 {
                // Indexed header field (section 6.1).
                let index = read_integer(block, &mut pos, 7)?;
                let (name, value) = table.get(index).ok_or(HpackError::BadIndex)?;
                emit(name, value);
                any_field = true;
                continue;
            }
            if first & 0xe0 == 0x20 {
                // Dynamic table size update (section 6.3), only before the first field.
                if any_field {
                    return Err(HpackError::TableSizeUpdateMisplaced);
                }
                let size = read_integer(block, &mut pos, 5)?;
                if size > *max_table_size {
                    return Err(HpackError::TableSizeUpdateTooLarge);
                }
                table.set_max_size(size);
                continue;
            }
            // Literal header field (section 6.2): with incremental indexing (01), without
            // indexing (0000) or never indexed (0001).
            let indexing = first & 0x40 != 0;
            let prefix_bits = if indexing { 6 } else { 4 };
            let index = read_integer(block, &mut pos, prefix_bits)?;
            let name = if index == 0 {
                Name::Literal(read_string(block, &mut pos, name_scratch, max_list_size)?)
            } else if table.get(index).is_some() {
                Name::Indexed(index)
            } else {
                return Err(HpackError::BadIndex);
            };
            let value = read_string(block, &mut pos, value_scratch, max_list_size)?;
            let name_bytes = match name {
                Name::Indexed(index) => table.get(index).map_or(&[][..], |(name, _)| name),
                Name::Literal(name) => name,
            };
            emit(name_bytes, value);
            any_field = true;
            if indexing {
                match name {
                    Name::Indexed(index) => table.insert_with_name_of(index, value),
                    Name::Literal(name) => table.insert(name, value),
                }
            }
        }
        if list_size > max_list_size {
            return Err(HpackError::ListTooLarge);
        }
        Ok(())
    }
}

/// Reads an integer with an N-bit prefix (RFC 7541 section 5.1) at `pos`.
///
/// # Errors
/// `Truncated` when the block ends inside it, `IntegerOverflow` above 2^32 - 1 (or past the
/// five continuation bytes such a value needs).
fn read_integer(block: &[u8], pos: &mut usize, prefix_bits: u8) -> Result<usize, HpackError> {
    let prefix_max = (1u8 << prefix_bits) - 1;
    let first = block.get(*pos).ok_or(HpackError::Truncated)? & prefix_max;
    *pos += 1;
    if first < prefix_max {
        return Ok(usize::from(first));
    }
    let mut value = u64::from(prefix_max);
    let mut shift = 0u32;
    loop {
        let byte = *block.get(*pos).ok_or(HpackError::Truncated)?;
        *pos += 1;
        value += u64::from(byte & 0x7f) << shift;
        if value > u64::from(u32::MAX) {
            return Err(HpackError::IntegerOverflow);
        }
        if byte & 0x80 == 0 {
            // At most u32::MAX, checked above.
            return Ok(value as usize);
        }
        shift += 7;
        if shift > 28 {
            return Err(HpackError::IntegerOverflow);
        }
    }
}

/// Reads a string literal (RFC 7541 section 5.2) at `pos`: borrowed from the block, or
/// Huffman-decoded into `scratch`.
///
/// # Errors
/// `Truncated` when the block ends before its length, `StringTooLong` when it is longer than
/// the rest of the block or than `max_len`, `BadHuffman` when its Huffman code is malformed.
fn read_string<'a>(
    block: &'a [u8],
    pos: &mut usize,
    scratch: &'a mut Vec<u8>,
    max_len: usize,
) -> Result<&'a [u8], HpackError> {
    let huffman = block.get(*pos).ok_or(HpackError::Truncated)? & 0x80 != 0;
    let len = read_integer(block, pos, 7)?;
    if len > block.len() - *pos || len > max_len {
        return Err(HpackError::StringTooLong);
    }
    let raw = &block[*pos..*pos + len];
    *pos += len;
    if !huffman {
        return Ok(raw);
    }
    scratch.clear();
    huffman::decode(raw, scratch)?;
    Ok(scratch)
}

#[cfg(test)]
mod tests;
