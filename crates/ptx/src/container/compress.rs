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
        // The decoder reserves the frame's window up front: refuse windows the declared output
        // cannot need, so that a tiny header cannot demand a large allocation.
        if let Some(window) = zstd_window(src) {
            let allowed = limit.max(1 << 17).saturating_mul(2);
            if window > allowed {
                return Err(format!(
                    "frame window of {window} bytes is larger than the {limit} bytes it may produce"
                ));
            }
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

/// The window size a zstd frame header declares (RFC 8878 3.1.1.1), when it can be read.
fn zstd_window(frame: &[u8]) -> Option<u64> {
    const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
    if frame.get(..4)? != MAGIC {
        return None;
    }
    let fhd = *frame.get(4)?;
    let single_segment = fhd & 0x20 != 0;
    if !single_segment {
        let wd = *frame.get(5)?;
        let log = 10 + u32::from(wd >> 3);
        let base = 1u64 << log;
        return Some(base + (base / 8) * u64::from(wd & 7));
    }
    // Single segment: the window is the frame content size.
    let dict_len = [0usize, 1, 2, 4][usize::from(fhd & 3)];
    let at = 5 + dict_len;
    let fcs = match fhd >> 6 {
        0 => u64::from(*frame.get(at)?),
        1 => u64::from(u16::from_le_bytes(frame.get(at..at + 2)?.try_into().ok()?)) + 256,
        2 => u64::from(u32::from_le_bytes(frame.get(at..at + 4)?.try_into().ok()?)),
        _ => u64::from_le_bytes(frame.get(at..at + 8)?.try_into().ok()?),
    };
    Some(fcs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zstd_window_is_read_from_both_header_forms() {
        // Single segment, 2-byte content size: 0x3a80 + 256 (the real fixture's cubin frame).
        assert_eq!(
            zstd_window(&[0x28, 0xb5, 0x2f, 0xfd, 0x60, 0x80, 0x3a]),
            Some(15232)
        );
        // Window descriptor: exponent 20 - 10, mantissa 2 → 1 MiB + 2 × 128 KiB.
        assert_eq!(
            zstd_window(&[0x28, 0xb5, 0x2f, 0xfd, 0x00, (10 << 3) | 2]),
            Some((1 << 20) + 2 * (1 << 17))
        );
        assert_eq!(zstd_window(b"not zstd"), None);
    }

    #[test]
    fn huge_zstd_windows_are_refused_before_allocating() {
        // A frame header announcing a 2 GiB window in front of 100 bytes of "data".
        let mut frame = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3];
        frame.resize(100, 0x11);
        let e = zstd(&frame, 1000).unwrap_err();
        assert!(e.contains("frame window"), "{e}");
    }

    #[test]
    fn lz4_refuses_impossible_sizes() {
        assert!(lz4_block(&[0x10, b'a'], 1 << 40)
            .unwrap_err()
            .contains("impossible"));
        assert_eq!(lz4_block(&[0x10, b'a'], 1).unwrap(), b"a");
    }
}
