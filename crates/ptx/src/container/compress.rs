//! Decompression of fatbin payloads: nvcc's LZ4 block format and zstd frames.
//!
//! Output sizes come from the entry header, which an attacker controls, so every buffer is
//! bounded by what the compressed input could possibly expand to before it is allocated.

use std::io::Read;

/// The most an LZ4 block can expand: each input byte of a length run adds at most 255 output
/// bytes, plus a small constant for the tokens themselves.
const LZ4_MAX_RATIO: u64 = 255;
/// The most a zstd frame can expand: an RLE block of 3 header bytes and 1 data byte yields
/// 128 KiB.
const ZSTD_MAX_RATIO: u64 = 1 << 16;

/// Decodes one LZ4 block (no frame header) into exactly `size` bytes.
pub(crate) fn lz4_block(input: &[u8], size: u64) -> Result<Vec<u8>, String> {
    let bound = (input.len() as u64)
        .saturating_mul(LZ4_MAX_RATIO)
        .saturating_add(64);
    if size > bound {
        return Err(format!(
            "declared uncompressed size {size} is impossible for {} compressed bytes",
            input.len()
        ));
    }
    let size = usize::try_from(size).map_err(|_| format!("size {size} does not fit in memory"))?;
    let mut out = vec![0u8; size];
    let n = lz4_flex::block::decompress_into(input, &mut out).map_err(|e| e.to_string())?;
    if n != size {
        return Err(format!("decoded {n} bytes, header declares {size}"));
    }
    Ok(out)
}

/// Decodes zstd frames into exactly `size` bytes (or, when `size` is 0, whatever the frames
/// hold, up to the expansion bound).
pub(crate) fn zstd(input: &[u8], size: u64) -> Result<Vec<u8>, String> {
    let bound = (input.len() as u64).saturating_mul(ZSTD_MAX_RATIO);
    if size > bound {
        return Err(format!(
            "declared uncompressed size {size} is impossible for {} compressed bytes",
            input.len()
        ));
    }
    let limit = if size == 0 { bound } else { size };
    let mut out = Vec::new();
    let mut src = input;
    // Several frames may follow each other; decode until the input is used up.
    while !src.is_empty() && (out.len() as u64) < limit {
        if src.iter().all(|&b| b == 0) {
            break; // alignment padding after the last frame
        }
        let mut dec =
            ruzstd::decoding::StreamingDecoder::new(&mut src).map_err(|e| e.to_string())?;
        let room = limit - out.len() as u64;
        // Read one byte past the room so that an oversized frame is caught.
        (&mut dec)
            .take(room.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| e.to_string())?;
        if out.len() as u64 > limit {
            return Err(format!("frames hold more than the {limit} bytes declared"));
        }
    }
    if size != 0 && out.len() as u64 != size {
        return Err(format!(
            "decoded {} bytes, header declares {size}",
            out.len()
        ));
    }
    Ok(out)
}
