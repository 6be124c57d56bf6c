//! One agent reply: LLM (with tool rounds) -> sentence tokenizer -> streaming TTS -> output,
//! pausable and cancellable, reporting what was actually played.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agents_core::events::{AgentState, EventBus, SessionEvent};
use agents_core::tools::{ToolCallOptions, ToolEvent, run_tool_calls};
use agents_core::{
    ChatChunk, ChatContext, ChatMessage, ChatRequest, ChatStream, Error, Llm, Result,
    SynthesizeOptions, ToolCall, ToolRegistry, Tts, TtsEvent, WordTiming,
};
use futures_util::StreamExt;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::report::{ToolCallReport, TurnMetrics};
use crate::tokenizer::SentenceTokenizer;
use crate::transport::AudioOutput;

/// What to say.
pub(crate) enum SpeechSource {
    /// Ask the LLM; `first_round` is a preemptive stream already started.
    Reply {
        context: ChatContext,
        first_round: Option<(ChatStream, Instant)>,
    },
    /// Say fixed text.
    Text(String),
}

/// Everything a speech task needs.
pub(crate) struct SpeechJob {
    pub(crate) source: SpeechSource,
    pub(crate) llm: Arc<dyn Llm>,
    pub(crate) tts: Arc<dyn Tts>,
    pub(crate) tools: ToolRegistry,
    pub(crate) output: Arc<tokio::sync::Mutex<Box<dyn AudioOutput>>>,
    pub(crate) bus: EventBus,
    pub(crate) max_tool_rounds: usize,
    pub(crate) tool_timeout: Duration,
    pub(crate) stall_timeout: Duration,
    /// When the user stopped speaking, for voice-to-voice latency.
    pub(crate) user_speech_end: Option<Instant>,
}

/// How a speech ended.
#[derive(Debug, Default)]
pub(crate) struct SpeechOutcome {
    /// Messages for the history: tool calls and results, then the assistant's reply (only
    /// what was played when interrupted).
    pub(crate) messages: Vec<ChatMessage>,
    pub(crate) played_text: String,
    pub(crate) interrupted: bool,
    pub(crate) tool_calls: Vec<ToolCallReport>,
    pub(crate) metrics: TurnMetrics,
    pub(crate) error: Option<Error>,
}

/// The orchestrator's handle on a running speech.
pub(crate) struct SpeechHandle {
    cancel: CancellationToken,
    paused: watch::Sender<bool>,
    done: oneshot::Receiver<SpeechOutcome>,
}

impl SpeechHandle {
    pub(crate) fn spawn(job: SpeechJob) -> SpeechHandle {
        let cancel = CancellationToken::new();
        let (paused_tx, paused_rx) = watch::channel(false);
        let (done_tx, done_rx) = oneshot::channel();
        let task_cancel = cancel.clone();
        tokio::spawn(async move {
            let outcome = run_speech(job, task_cancel, paused_rx).await;
            let _ = done_tx.send(outcome);
        });
        SpeechHandle {
            cancel,
            paused: paused_tx,
            done: done_rx,
        }
    }

    pub(crate) fn pause(&self) {
        let _ = self.paused.send(true);
    }

    pub(crate) fn resume(&self) {
        let _ = self.paused.send(false);
    }

    pub(crate) fn is_paused(&self) -> bool {
        *self.paused.borrow()
    }

    pub(crate) fn interrupt(&self) {
        self.cancel.cancel();
    }

    pub(crate) fn done(&mut self) -> &mut oneshot::Receiver<SpeechOutcome> {
        &mut self.done
    }
}

/// One synthesized segment (a sentence) on the speech's audio timeline.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    text: String,
    start: Duration,
    end: Option<Duration>,
    words: Vec<WordTiming>,
}

struct Shared {
    /// Sentences pushed to the TTS, waiting for their segment end.
    pushed: VecDeque<String>,
    segments: Vec<Segment>,
}

/// What the producer (LLM side) returns.
#[derive(Default)]
struct Produced {
    text: String,
    messages: Vec<ChatMessage>,
    tool_calls: Vec<ToolCallReport>,
    metrics: TurnMetrics,
    error: Option<Error>,
}

async fn run_speech(
    job: SpeechJob,
    cancel: CancellationToken,
    paused: watch::Receiver<bool>,
) -> SpeechOutcome {
    let bus = job.bus.clone();
    let mut output = job.output.clone().lock_owned().await;
    let format = output.format();
    let played_at_start = output.played();
    let options = SynthesizeOptions::default().with_output_format(format);
    let reply_started = Instant::now();
    // A reply's first LLM request and the TTS connection are opened at the same time: the
    // user waits for the slower of the two, not for both in turn.
    let first_chat = match &job.source {
        SpeechSource::Reply {
            context,
            first_round: None,
        } => Some(ChatRequest::new(context.clone()).with_tools(job.tools.definitions())),
        _ => None,
    };
    let opening = async {
        match first_chat {
            Some(request) => {
                let started = Instant::now();
                let (tts, llm) = tokio::join!(job.tts.stream(&options), job.llm.chat(request));
                (tts, Some(llm.map(|s| (s, started))))
            }
            None => (job.tts.stream(&options).await, None),
        }
    };
    // Interrupted while connecting: nothing was said.
    let (tts_opened, first_request) = tokio::select! {
        _ = cancel.cancelled() => {
            return SpeechOutcome {
                interrupted: true,
                ..Default::default()
            };
        }
        opened = opening => opened,
    };
    let tts_stream = match tts_opened {
        Ok(s) => s,
        Err(error) => {
            return SpeechOutcome {
                error: Some(error),
                ..Default::default()
            };
        }
    };
    let (mut tts_in, mut tts_out) = tts_stream.split();
    let shared = Arc::new(Mutex::new(Shared {
        pushed: VecDeque::new(),
        segments: Vec::new(),
    }));
    let first_text_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));

    // Producer: LLM rounds (or fixed text) into the TTS, sentence by sentence.
    let producer = {
        let shared = shared.clone();
        let first_text_at = first_text_at.clone();
        let bus = bus.clone();
        let job_llm = job.llm.clone();
        let tools = job.tools.clone();
        let source = job.source;
        let max_rounds = job.max_tool_rounds;
        let tool_timeout = job.tool_timeout;
        async move {
            let mut first_request = first_request;
            let mut produced = Produced::default();
            let mut tokenizer = SentenceTokenizer::new();
            let push = |sentence: String| {
                if let Ok(mut f) = first_text_at.lock() {
                    f.get_or_insert_with(Instant::now);
                }
                if let Ok(mut s) = shared.lock() {
                    s.pushed.push_back(sentence.clone());
                }
                sentence
            };
            match source {
                SpeechSource::Text(text) => {
                    let sentence = push(text.clone());
                    if let Err(e) = send_sentence(&mut tts_in, sentence).await {
                        produced.error = Some(e);
                    }
                    produced.text = text;
                }
                SpeechSource::Reply {
                    mut context,
                    first_round,
                } => {
                    let mut first_round = first_round;
                    let mut round = 0usize;
                    loop {
                        round += 1;
                        produced.metrics.llm_requests += 1;
                        let opened = match (first_request.take(), first_round.take()) {
                            (Some(opened), _) => Some(opened),
                            (None, Some((s, started))) => {
                                produced.metrics.preemptive = true;
                                Some(Ok((s, started)))
                            }
                            (None, None) => None,
                        };
                        let (mut stream, started) = match opened {
                            Some(Ok(opened)) => opened,
                            Some(Err(e)) => {
                                produced.error = Some(e);
                                break;
                            }
                            None => {
                                let request = ChatRequest::new(context.clone())
                                    .with_tools(tools.definitions());
                                let started = Instant::now();
                                match job_llm.chat(request).await {
                                    Ok(s) => (s, started),
                                    Err(e) => {
                                        produced.error = Some(e);
                                        break;
                                    }
                                }
                            }
                        };
                        let mut round_text = String::new();
                        let mut calls: Vec<ToolCall> = Vec::new();
                        while let Some(item) = stream.next().await {
                            match item {
                                Ok(ChatChunk::TextDelta { text }) => {
                                    if produced.metrics.llm_ttft.is_none() {
                                        produced.metrics.llm_ttft = Some(started.elapsed());
                                    }
                                    if produced.metrics.llm_first_text.is_none() {
                                        produced.metrics.llm_first_text =
                                            Some(reply_started.elapsed());
                                    }
                                    bus.emit(SessionEvent::LlmTextDelta { text: text.clone() });
                                    round_text.push_str(&text);
                                    for sentence in tokenizer.push(&text) {
                                        let sentence = push(sentence);
                                        if let Err(e) = send_sentence(&mut tts_in, sentence).await {
                                            produced.error = Some(e);
                                            break;
                                        }
                                    }
                                }
                                Ok(ChatChunk::ToolCall { call }) => {
                                    if produced.metrics.llm_ttft.is_none() {
                                        produced.metrics.llm_ttft = Some(started.elapsed());
                                    }
                                    calls.push(call);
                                }
                                Ok(ChatChunk::Usage { usage }) => {
                                    let u = &mut produced.metrics.usage;
                                    u.prompt_tokens += usage.prompt_tokens;
                                    u.completion_tokens += usage.completion_tokens;
                                    u.cached_tokens += usage.cached_tokens;
                                    u.total_tokens += usage.total_tokens;
                                }
                                Ok(_) => {}
                                Err(e) => {
                                    produced.error = Some(e);
                                    break;
                                }
                            }
                        }
                        if let Some(rest) = tokenizer.flush() {
                            let sentence = push(rest);
                            if let Err(e) = send_sentence(&mut tts_in, sentence).await {
                                produced.error.get_or_insert(e);
                            }
                        }
                        produced.text.push_str(&round_text);
                        if produced.error.is_some() || calls.is_empty() {
                            break;
                        }
                        // Run the tools, keep both sides in the history, and ask again.
                        let call_message =
                            ChatMessage::assistant_tool_calls(round_text, calls.clone());
                        context.push(call_message.clone());
                        produced.messages.push(call_message);
                        let observer_bus = bus.clone();
                        let options = ToolCallOptions::default()
                            .with_timeout(tool_timeout)
                            .with_observer(move |e: &ToolEvent| {
                                observer_bus.emit(SessionEvent::from(e));
                            });
                        let results = run_tool_calls(&tools, &calls, &options).await;
                        for (call, result) in calls.iter().zip(&results) {
                            produced.tool_calls.push(ToolCallReport {
                                name: call.name.clone(),
                                arguments: call.arguments.clone(),
                                output: result.output.clone(),
                                is_error: result.is_error,
                            });
                            let msg = result.to_message();
                            context.push(msg.clone());
                            produced.messages.push(msg);
                        }
                        if round >= max_rounds {
                            break;
                        }
                        if !produced.text.is_empty() && !produced.text.ends_with(' ') {
                            produced.text.push(' ');
                        }
                    }
                }
            }
            let _ = tts_in.end_input().await;
            produced
        }
    };

    // Consumer: TTS audio into the output, honouring pause, tracking segments.
    let consumer = {
        let shared = shared.clone();
        let bus = bus.clone();
        let output = &mut output;
        let first_text_at = first_text_at.clone();
        let mut paused = paused.clone();
        let stall = job.stall_timeout;
        async move {
            let mut written = Duration::ZERO;
            let mut segment_start = Duration::ZERO;
            let mut words: Vec<WordTiming> = Vec::new();
            let mut tts_ttfb = None;
            let mut first_audio_at = None;
            let mut error = None;
            while let Some(item) = tts_out.next().await {
                match item {
                    Ok(TtsEvent::Audio(frame)) => {
                        while *paused.borrow() {
                            if paused.changed().await.is_err() {
                                break;
                            }
                        }
                        if first_audio_at.is_none() {
                            let now = Instant::now();
                            first_audio_at = Some(now);
                            tts_ttfb = first_text_at
                                .lock()
                                .ok()
                                .and_then(|f| *f)
                                .map(|t| now.saturating_duration_since(t));
                            bus.emit(SessionEvent::AgentStateChanged {
                                old: AgentState::Thinking,
                                new: AgentState::Speaking,
                            });
                        }
                        written += frame.duration();
                        if bus.subscriber_count() > 0 {
                            bus.emit(SessionEvent::TtsAudio {
                                frame: frame.clone(),
                            });
                        }
                        if let Err(e) = write_watched(output.as_mut(), frame, &bus, stall).await {
                            error = Some(e);
                            break;
                        }
                    }
                    Ok(TtsEvent::Words(w)) => words.extend(w),
                    Ok(TtsEvent::SegmentEnd) => {
                        if let Ok(mut s) = shared.lock() {
                            if let Some(text) = s.pushed.pop_front() {
                                s.segments.push(Segment {
                                    text,
                                    start: segment_start,
                                    end: Some(written),
                                    words: std::mem::take(&mut words),
                                });
                            }
                        }
                        segment_start = written;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            // A segment still being spoken when the stream ended.
            if let Ok(mut s) = shared.lock() {
                while let Some(text) = s.pushed.pop_front() {
                    s.segments.push(Segment {
                        text,
                        start: segment_start,
                        end: None,
                        words: std::mem::take(&mut words),
                    });
                    segment_start = written;
                }
            }
            if error.is_none() {
                if let Err(e) = output.drain().await {
                    error = Some(e);
                }
            }
            (written, tts_ttfb, first_audio_at, error)
        }
    };

    let result = tokio::select! {
        _ = cancel.cancelled() => None,
        both = async { tokio::join!(producer, consumer) } => Some(both),
    };
    let mut outcome = SpeechOutcome::default();
    match result {
        Some((produced, (written, tts_ttfb, first_audio_at, consumer_error))) => {
            outcome.metrics = produced.metrics;
            outcome.metrics.tts_ttfb = tts_ttfb;
            if let Ok(first) = first_text_at.lock() {
                outcome.metrics.llm_first_sentence =
                    first.map(|t| t.saturating_duration_since(reply_started));
            }
            outcome.metrics.audio_duration = written;
            outcome.metrics.characters = produced.text.chars().count();
            outcome.metrics.voice_to_voice = match (job.user_speech_end, first_audio_at) {
                (Some(end), Some(first)) => Some(first.saturating_duration_since(end)),
                _ => None,
            };
            outcome.messages = produced.messages;
            outcome.tool_calls = produced.tool_calls;
            outcome.error = produced.error.or(consumer_error);
            let text = produced.text.trim().to_string();
            if !text.is_empty() {
                outcome.messages.push(ChatMessage::assistant(text.clone()));
            }
            outcome.played_text = text;
        }
        None => {
            // Barge-in: stop at once, keep only what was heard.
            let _ = output.clear().await;
            let heard = output.played().saturating_sub(played_at_start);
            let segments = shared
                .lock()
                .map(|s| {
                    let mut all = s.segments.clone();
                    let last_end = all.last().and_then(|x| x.end).unwrap_or_default();
                    for (i, text) in s.pushed.iter().enumerate() {
                        all.push(Segment {
                            text: text.clone(),
                            start: if i == 0 { last_end } else { Duration::MAX },
                            end: None,
                            words: Vec::new(),
                        });
                    }
                    all
                })
                .unwrap_or_default();
            let played = played_text(&segments, heard);
            outcome.interrupted = true;
            outcome.metrics.audio_duration = heard;
            outcome.metrics.characters = played.chars().count();
            if !played.is_empty() {
                let mut msg = ChatMessage::assistant(played.clone());
                msg.interrupted = true;
                outcome.messages.push(msg);
            }
            outcome.played_text = played;
        }
    }
    outcome
}

async fn send_sentence(tts: &mut agents_core::TtsInputSender, sentence: String) -> Result<()> {
    tts.push_text(format!("{sentence} ")).await?;
    tts.flush().await
}

/// Writes a frame, reporting the output as stalled while the write waits too long.
async fn write_watched(
    output: &mut dyn AudioOutput,
    frame: agents_core::AudioFrame,
    bus: &EventBus,
    stall: Duration,
) -> Result<()> {
    let started = Instant::now();
    let write = output.write(frame);
    tokio::pin!(write);
    loop {
        // Output writes legitimately wait for playout (up to the frame's own duration plus the
        // queue ahead), so only a wait beyond the stall timeout counts.
        match tokio::time::timeout(stall, &mut write).await {
            Ok(result) => return result,
            Err(_) => {
                bus.emit(SessionEvent::StageStalled {
                    stage: "audio_output".into(),
                    waited: started.elapsed(),
                });
            }
        }
    }
}

/// The text the user heard: whole segments that finished playing, and the heard part of the
/// segment playing at the cut (by word timings when the provider gave them, else in
/// proportion to the segment's audio, at a word boundary).
pub(crate) fn played_text(segments: &[Segment], heard: Duration) -> String {
    let mut out = String::new();
    for seg in segments {
        if seg.start >= heard {
            break;
        }
        let piece = match seg.end {
            Some(end) if end <= heard => seg.text.clone(),
            end => {
                let into = heard - seg.start;
                if !seg.words.is_empty() {
                    seg.words
                        .iter()
                        .filter(|w| w.end <= into)
                        .map(|w| w.word.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                } else {
                    let total = end
                        .map(|e| e.saturating_sub(seg.start))
                        .unwrap_or_else(|| estimated_duration(&seg.text));
                    let fraction = if total.is_zero() {
                        1.0
                    } else {
                        (into.as_secs_f64() / total.as_secs_f64()).min(1.0)
                    };
                    cut_at_word(&seg.text, fraction)
                }
            }
        };
        if piece.is_empty() {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(piece.trim());
    }
    out
}

/// A rough speaking time for text whose audio length is not known yet (15 characters/s).
fn estimated_duration(text: &str) -> Duration {
    Duration::from_secs_f64(text.chars().count() as f64 / 15.0)
}

/// The longest prefix of whole words covering at most `fraction` of the text.
fn cut_at_word(text: &str, fraction: f64) -> String {
    let chars: Vec<char> = text.chars().collect();
    let limit = (chars.len() as f64 * fraction).floor() as usize;
    if limit >= chars.len() {
        return text.to_string();
    }
    let prefix: String = chars[..limit].iter().collect();
    let at_boundary = chars.get(limit).map(|c| c.is_whitespace()).unwrap_or(true);
    let cut = if at_boundary {
        prefix
    } else {
        match prefix.rfind(char::is_whitespace) {
            Some(i) => prefix[..i].to_string(),
            None => String::new(),
        }
    };
    cut.trim_end().to_string()
}

/// A segment without word timings (for tests).
#[cfg(test)]
pub(crate) fn segment(text: &str, start_ms: u64, end_ms: Option<u64>) -> Segment {
    Segment {
        text: text.to_string(),
        start: Duration::from_millis(start_ms),
        end: end_ms.map(Duration::from_millis),
        words: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn played_text_keeps_whole_and_partial_segments() {
        let segs = vec![
            segment("The weather is sunny.", 0, Some(1000)),
            segment("It will rain tomorrow afternoon.", 1000, Some(3000)),
        ];
        assert_eq!(played_text(&segs, Duration::from_millis(500)), "The");
        assert_eq!(
            played_text(&segs, Duration::from_millis(600)),
            "The weather"
        );
        assert_eq!(
            played_text(&segs, Duration::from_millis(1000)),
            "The weather is sunny."
        );
        assert_eq!(
            played_text(&segs, Duration::from_millis(2000)),
            "The weather is sunny. It will rain"
        );
        assert_eq!(played_text(&segs, Duration::ZERO), "");
    }

    #[test]
    fn word_timings_decide_when_present() {
        let mut seg = segment("Hello big world.", 0, Some(900));
        seg.words = vec![
            WordTiming {
                word: "Hello".into(),
                start: Duration::ZERO,
                end: Duration::from_millis(300),
                confidence: None,
            },
            WordTiming {
                word: "big".into(),
                start: Duration::from_millis(300),
                end: Duration::from_millis(500),
                confidence: None,
            },
        ];
        assert_eq!(played_text(&[seg], Duration::from_millis(450)), "Hello");
    }
}
