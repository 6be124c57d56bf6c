//! A byte-level Server-Sent Events parser.
//!
//! Written for chat-completion streams, where it has to survive any split of the body across TCP
//! reads: half a line, half a UTF-8 code point, a `\r\n` split between `\r` and `\n`, several
//! events in one read. Lines end in `\n`, `\r` or `\r\n`; a blank line dispatches the event;
//! lines starting with `:` are comments (`: keep-alive`, `: OPENROUTER PROCESSING`) and are
//! ignored; several `data:` lines of one event are joined with `\n`; the `event`, `id` and
//! `retry` fields are ignored. Each line is decoded as UTF-8 only once it is complete.
//!
//! ```
//! use agents_plugin_openai::sse::SseParser;
//!
//! let mut parser = SseParser::new();
//! parser.push(b": keep-alive\r\ndata: {\"a\":");
//! assert_eq!(parser.next_event().unwrap(), None);
//! parser.push(b"1}\r");
//! parser.push(b"\n\r\ndata: [DONE]\n\n");
//! assert_eq!(parser.next_event().unwrap().as_deref(), Some("{\"a\":1}"));
//! assert_eq!(parser.next_event().unwrap().as_deref(), Some("[DONE]"));
//! assert_eq!(parser.next_event().unwrap(), None);
//! ```

use agents_core::{Error, Result};

/// The longest line the parser buffers before giving up with a protocol error.
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// An incremental SSE parser: [`SseParser::push`] bytes as they arrive, then take complete
/// events' data with [`SseParser::next_data`] (borrowed, no copy for the usual single `data:`
/// line) or [`SseParser::next_event`] (owned).
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    pos: usize,
    /// The data of the current event once it is joined from several lines (or moved out of
    /// `buf`); empty while `first` holds it.
    data: String,
    /// The byte range in `buf` of the current event's only data line so far, not yet decoded:
    /// the common one-line event is handed out from `buf` without a copy.
    first: Option<(usize, usize)>,
    /// `data` holds the last event handed out and is cleared on the next call.
    data_taken: bool,
    has_data: bool,
    skip_lf: bool,
}

/// The offset of the first `\n` or `\r` in `bytes`, eight bytes at a time.
fn find_line_end(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const LF: u64 = ONES * b'\n' as u64;
    const CR: u64 = ONES * b'\r' as u64;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut chunks = bytes.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        if let Ok(word) = <[u8; 8]>::try_from(chunk) {
            let word = u64::from_le_bytes(word);
            // The lowest flagged byte of either mask is exact (false positives only appear
            // above a true match).
            let hits = zero_byte(word ^ LF) | zero_byte(word ^ CR);
            if hits != 0 {
                return Some(offset + (hits.trailing_zeros() / 8) as usize);
            }
        }
        offset += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map(|i| offset + i)
}

fn utf8(bytes: &[u8]) -> Result<&str> {
    std::str::from_utf8(bytes)
        .map_err(|e| Error::protocol(format!("an event-stream line is not UTF-8: {e}")))
}

impl SseParser {
    /// An empty parser.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the body.
    pub fn push(&mut self, bytes: &[u8]) {
        // Bytes before `keep` are consumed; a pending data line is kept in place.
        let keep = self.first.map_or(self.pos, |(start, _)| start);
        if keep > 0 && keep == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if keep > 4096 && keep * 2 > self.buf.len() {
            self.buf.drain(..keep);
            self.pos -= keep;
            if let Some((start, end)) = &mut self.first {
                *start -= keep;
                *end -= keep;
            }
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Moves a pending in-buffer data line into `data`.
    fn own_first(&mut self) -> Result<()> {
        if let Some((start, end)) = self.first.take() {
            let text = utf8(&self.buf[start..end])?;
            self.data.push_str(text);
        }
        Ok(())
    }

    /// The data of the next complete event, `Ok(None)` when more bytes are needed, or a
    /// protocol error for a line that is not UTF-8 or longer than [`MAX_LINE`].
    pub fn next_event(&mut self) -> Result<Option<String>> {
        Ok(self.next_data()?.map(str::to_string))
    }

    /// Like [`SseParser::next_event`], but borrows the data (valid until the next call to
    /// this parser), which saves a copy per event.
    pub fn next_data(&mut self) -> Result<Option<&str>> {
        if self.data_taken {
            self.data.clear();
            self.data_taken = false;
        }
        loop {
            if self.skip_lf && self.pos < self.buf.len() {
                if self.buf[self.pos] == b'\n' {
                    self.pos += 1;
                }
                self.skip_lf = false;
            }
            let rest = &self.buf[self.pos..];
            let Some(end) = find_line_end(rest) else {
                if rest.len() > MAX_LINE {
                    return Err(Error::protocol(format!(
                        "an event-stream line is longer than {MAX_LINE} bytes"
                    )));
                }
                return Ok(None);
            };
            let line_start = self.pos;
            let line_end = line_start + end;
            self.skip_lf = rest[end] == b'\r';
            self.pos = line_end + 1;
            if line_end == line_start {
                if !self.has_data {
                    continue;
                }
                self.has_data = false;
                return match self.first.take() {
                    Some((start, end)) => utf8(&self.buf[start..end]).map(Some),
                    None => {
                        self.data_taken = true;
                        Ok(Some(self.data.as_str()))
                    }
                };
            }
            // Any other line of the event: the data can no longer be borrowed from `buf`
            // (this keeps `buf` from growing over comment lines).
            self.own_first()?;
            let line = &self.buf[line_start..line_end];
            if line[0] == b':' {
                continue;
            }
            let (field, value) = match line.iter().position(|&b| b == b':') {
                Some(colon) => {
                    let value = &line[colon + 1..];
                    (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
                }
                None => (line, &[][..]),
            };
            if field == b"data" {
                let value_start = line_end - value.len();
                if self.has_data {
                    let text = utf8(value)?;
                    self.data.push('\n');
                    self.data.push_str(text);
                } else {
                    self.first = Some((value_start, line_end));
                    self.has_data = true;
                }
            }
        }
    }

    /// True when bytes of an unfinished event are buffered (the body ended mid-event).
    #[must_use]
    pub fn has_partial_event(&self) -> bool {
        self.has_data
            || self.buf[self.pos..]
                .iter()
                .any(|b| !b.is_ascii_whitespace())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_events(parser: &mut SseParser) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(e) = parser.next_event().unwrap() {
            out.push(e);
        }
        out
    }

    #[test]
    fn every_split_gives_the_same_events() {
        let body = ": OPENROUTER PROCESSING\r\n\r\ndata: {\"t\":\"héllo 🎉\"}\r\n\r\n: ka\ndata: a\ndata: b\n\nevent: x\nid: 3\ndata:[DONE]\r\r";
        let want = vec![
            "{\"t\":\"héllo 🎉\"}".to_string(),
            "a\nb".to_string(),
            "[DONE]".to_string(),
        ];
        let bytes = body.as_bytes();
        for a in 0..bytes.len() {
            for b in a..bytes.len() {
                let mut p = SseParser::new();
                let mut got = Vec::new();
                for piece in [&bytes[..a], &bytes[a..b], &bytes[b..]] {
                    p.push(piece);
                    got.extend(all_events(&mut p));
                }
                assert_eq!(got, want, "split at {a},{b}");
            }
        }
    }

    #[test]
    fn partial_event_is_detected() {
        let mut p = SseParser::new();
        p.push(b"data: {\"x\"");
        assert!(p.next_event().unwrap().is_none());
        assert!(p.has_partial_event());
        let mut p = SseParser::new();
        p.push(b"data: 1\n\n");
        all_events(&mut p);
        assert!(!p.has_partial_event());
    }

    #[test]
    fn line_ends_are_found_at_any_offset() {
        for len in 0..40 {
            for end in [b'\n', b'\r'] {
                let mut bytes = vec![b'x'; len];
                bytes.push(end);
                bytes.extend_from_slice(b"y\nz");
                assert_eq!(find_line_end(&bytes), Some(len));
            }
            assert_eq!(find_line_end(&vec![b'x'; len]), None);
        }
        // Bytes next to the targets (0x0b, 0x0c, 0x0e, 0x8a, 0x8d) are not line ends.
        assert_eq!(
            find_line_end(b"\x0b\x0c\x0e\x8a\x8d\x09\x00\xffab\n"),
            Some(10)
        );
    }

    #[test]
    fn long_events_survive_buffer_compaction() {
        let big = "x".repeat(3000);
        let mut body = String::new();
        let mut want = Vec::new();
        for i in 0..20 {
            body.push_str(&format!("data: {i}{big}\n"));
            if i % 3 == 0 {
                body.push_str(": comment\r\n");
            }
            if i % 2 == 0 {
                body.push_str(&format!("data: second {i}\n"));
                want.push(format!("{i}{big}\nsecond {i}"));
            } else {
                want.push(format!("{i}{big}"));
            }
            body.push('\n');
        }
        for piece_len in [1, 7, 1000, 4097, 100_000] {
            let mut p = SseParser::new();
            let mut got = Vec::new();
            for piece in body.as_bytes().chunks(piece_len) {
                p.push(piece);
                while let Some(d) = p.next_data().unwrap() {
                    got.push(d.to_string());
                }
            }
            assert_eq!(got, want, "pieces of {piece_len}");
            assert!(!p.has_partial_event());
        }
    }

    #[test]
    fn invalid_utf8_is_a_protocol_error() {
        let mut p = SseParser::new();
        p.push(b"data: \xff\xfe\n\n");
        assert!(p.next_event().is_err());
    }
}
