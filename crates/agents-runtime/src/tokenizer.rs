//! A streaming sentence tokenizer: text deltas in, whole sentences out, so that speech
//! synthesis can start on the first sentence while the model is still writing.

/// Splits streamed text into sentences.
///
/// A sentence ends at `.`, `!`, `?` (or `…`, `。`, `！`, `？`) followed by white space, once it is
/// at least `min_sentence_chars` long; common abbreviations ("Dr.", "e.g.") and decimal
/// numbers ("3.5") do not end a sentence. Text without an end is held until
/// [`SentenceTokenizer::flush`].
///
/// ```
/// use agents_runtime::tokenizer::SentenceTokenizer;
///
/// let mut t = SentenceTokenizer::new();
/// let mut out = Vec::new();
/// for delta in ["Hello there", ". It is 3.5 degrees", " today! And Dr. Smith", " says hi"] {
///     out.extend(t.push(delta));
/// }
/// out.extend(t.flush());
/// assert_eq!(out, ["Hello there.", "It is 3.5 degrees today!", "And Dr. Smith says hi"]);
/// ```
#[derive(Debug, Clone)]
pub struct SentenceTokenizer {
    buffer: String,
    min_sentence_chars: usize,
}

const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "a.m", "p.m",
    "no", "approx", "inc", "ltd", "co", "fig", "mt",
];

impl Default for SentenceTokenizer {
    fn default() -> Self {
        Self::new()
    }
}

impl SentenceTokenizer {
    /// A tokenizer with a minimum sentence length of 8 characters.
    #[must_use]
    pub fn new() -> Self {
        SentenceTokenizer {
            buffer: String::new(),
            min_sentence_chars: 8,
        }
    }

    /// Sets the shortest text that may form a sentence on its own (shorter ones join the next).
    #[must_use]
    pub fn with_min_sentence_chars(mut self, chars: usize) -> Self {
        self.min_sentence_chars = chars;
        self
    }

    /// Adds a text delta; returns the sentences it completed.
    pub fn push(&mut self, delta: &str) -> Vec<String> {
        self.buffer.push_str(delta);
        let mut out = Vec::new();
        let mut search_from = 0;
        while let Some(end) = self.find_boundary(search_from) {
            let sentence = self.buffer[..end].trim();
            if sentence.chars().count() < self.min_sentence_chars {
                search_from = end;
                continue;
            }
            out.push(sentence.to_string());
            self.buffer.drain(..end);
            let trimmed = self.buffer.trim_start().len();
            let cut = self.buffer.len() - trimmed;
            self.buffer.drain(..cut);
            search_from = 0;
        }
        out
    }

    /// Returns the text held back (the last, unterminated sentence), if any.
    pub fn flush(&mut self) -> Option<String> {
        let rest = self.buffer.trim().to_string();
        self.buffer.clear();
        (!rest.is_empty()).then_some(rest)
    }

    /// Text held back so far.
    #[must_use]
    pub fn pending(&self) -> &str {
        &self.buffer
    }

    /// Byte index just after a sentence end at or after `from`, when one is certain (the
    /// punctuation is followed by white space).
    fn find_boundary(&self, from: usize) -> Option<usize> {
        let text = &self.buffer;
        let mut chars = text[from..].char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            let at = from + i;
            if !matches!(c, '.' | '!' | '?' | '…' | '。' | '！' | '？') {
                continue;
            }
            // swallow runs like "?!" or "..." and closing quotes or brackets
            let mut end = at + c.len_utf8();
            while let Some(&(j, n)) = chars.peek() {
                if matches!(n, '.' | '!' | '?' | '"' | '\'' | ')' | '”' | '’') {
                    end = from + j + n.len_utf8();
                    chars.next();
                } else {
                    break;
                }
            }
            let Some(&(_, next)) = chars.peek() else {
                // CJK full stops end a sentence without a following space
                if matches!(c, '。' | '！' | '？') {
                    return Some(end);
                }
                return None;
            };
            if !next.is_whitespace() && !matches!(c, '。' | '！' | '？') {
                continue;
            }
            if c == '.' && self.is_abbreviation(at) {
                continue;
            }
            return Some(end);
        }
        None
    }

    fn is_abbreviation(&self, dot: usize) -> bool {
        let before = &self.buffer[..dot];
        let word = before
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .trim_start_matches(['(', '"', '\'']);
        if word.is_empty() {
            return false;
        }
        let lower = word.to_lowercase();
        if ABBREVIATIONS.contains(&lower.as_str()) {
            return true;
        }
        // single letters as in initials ("J. R. R. Tolkien")
        word.chars().count() == 1 && word.chars().all(|c| c.is_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(deltas: &[&str]) -> Vec<String> {
        let mut t = SentenceTokenizer::new();
        let mut out = Vec::new();
        for d in deltas {
            out.extend(t.push(d));
        }
        out.extend(t.flush());
        out
    }

    #[test]
    fn splits_on_sentence_ends_across_deltas() {
        assert_eq!(
            split(&[
                "The weather in Paris is sunny",
                ". Do you want",
                " more? Sure!"
            ]),
            [
                "The weather in Paris is sunny.",
                "Do you want more?",
                "Sure!"
            ]
        );
    }

    #[test]
    fn keeps_numbers_abbreviations_and_initials() {
        assert_eq!(
            split(&["It costs $3.50 per item, e.g. apples. J. R. R. Tolkien wrote it. Done"]),
            [
                "It costs $3.50 per item, e.g. apples.",
                "J. R. R. Tolkien wrote it.",
                "Done"
            ]
        );
    }

    #[test]
    fn waits_for_what_follows_the_dot() {
        let mut t = SentenceTokenizer::new();
        assert!(t.push("The value is 3.").is_empty());
        assert!(t.push("14 exactly").is_empty());
        assert_eq!(t.flush().as_deref(), Some("The value is 3.14 exactly"));
    }

    #[test]
    fn short_fragments_join_the_next_sentence() {
        assert_eq!(
            split(&["Hi! How are you today? "]),
            ["Hi! How are you today?"]
        );
    }

    #[test]
    fn punctuation_runs_and_quotes() {
        assert_eq!(
            split(&["He said \"stop right there!\" Then he left..."]),
            ["He said \"stop right there!\"", "Then he left..."]
        );
    }

    #[test]
    fn empty_input_gives_nothing() {
        assert!(split(&["", "   "]).is_empty());
    }
}
