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
/// events' data with [`SseParser::next_event`].
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    pos: usize,
    data: String,
    has_data: bool,
    skip_lf: bool,
}

impl SseParser {
    /// An empty parser.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the body.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 4096 && self.pos * 2 > self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The data of the next complete event, `Ok(None)` when more bytes are needed, or a
    /// protocol error for a line that is not UTF-8 or longer than [`MAX_LINE`].
    pub fn next_event(&mut self) -> Result<Option<String>> {
        loop {
            if self.skip_lf && self.pos < self.buf.len() {
                if self.buf[self.pos] == b'\n' {
                    self.pos += 1;
                }
                self.skip_lf = false;
            }
            let rest = &self.buf[self.pos..];
            let Some(end) = rest.iter().position(|&b| b == b'\n' || b == b'\r') else {
                if rest.len() > MAX_LINE {
                    return Err(Error::protocol(format!(
                        "an event-stream line is longer than {MAX_LINE} bytes"
                    )));
                }
                return Ok(None);
            };
            let line_start = self.pos;
            self.skip_lf = rest[end] == b'\r';
            self.pos += end + 1;
            let line = &self.buf[line_start..line_start + end];
            if line.is_empty() {
                if self.has_data {
                    self.has_data = false;
                    return Ok(Some(std::mem::take(&mut self.data)));
                }
                continue;
            }
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
                let text = std::str::from_utf8(value).map_err(|e| {
                    Error::protocol(format!("an event-stream line is not UTF-8: {e}"))
                })?;
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(text);
                self.has_data = true;
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
    fn invalid_utf8_is_a_protocol_error() {
        let mut p = SseParser::new();
        p.push(b"data: \xff\xfe\n\n");
        assert!(p.next_event().is_err());
    }
}
