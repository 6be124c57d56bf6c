//! AgentSession behaviour on a paused clock: turn ends, barge-in, false interruptions,
//! preemptive generation, tools, stall reporting, say/generate_reply and text mode.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use agents_core::events::{Received, SessionEvent};
use agents_core::{ChatChunk, ChatRole, FinishReason, ToolCall, ToolRegistry, Vad};
use agents_runtime::transport::MemoryOutput;
use agents_runtime::vad::VadOptions;
use agents_runtime::{AgentSession, SessionOptions};
use common::*;

fn options() -> SessionOptions {
    SessionOptions::default()
        .with_vad(
            VadOptions::default()
                .with_min_speech_duration(Duration::from_millis(40))
                .with_min_silence_duration(Duration::from_millis(200))
                .with_prefix_padding(Duration::from_millis(100)),
        )
        .with_min_endpointing_delay(Duration::from_millis(300))
}

fn session(stt: Arc<ScriptedStt>, llm: Arc<ScriptedLlm>, opts: SessionOptions) -> AgentSession {
    AgentSession::builder()
        .instructions("You are a test agent.")
        .stt(stt)
        .llm(llm)
        .tts(Arc::new(BuzzTts {
            first_audio_delay: Duration::from_millis(50),
        }))
        .vad(Arc::new(|| Box::new(EnergyVad) as Box<dyn Vad>))
        .options(opts)
        .build()
        .unwrap()
}

fn output() -> Box<MemoryOutput> {
    Box::new(MemoryOutput::new(FMT).realtime(true))
}

#[tokio::test(start_paused = true)]
async fn a_turn_ends_and_the_agent_replies() {
    let llm = ScriptedLlm::new(vec![ScriptedLlm::text("It is sunny in Paris.")]);
    let s = session(
        ScriptedStt::new(&["what is the weather"]),
        llm.clone(),
        options(),
    );
    let report = s
        .run(
            input(&[(false, 300), (true, 1000), (false, 3000)]),
            output(),
        )
        .await
        .unwrap();
    assert_eq!(report.turns.len(), 1, "{report:?}");
    let turn = &report.turns[0];
    assert_eq!(turn.user_text, "what is the weather");
    assert_eq!(turn.agent_text, "It is sunny in Paris.");
    assert!(!turn.interrupted);
    let m = &turn.metrics;
    // the turn ends the minimum endpointing delay after the speech ended
    assert_eq!(m.end_of_utterance_delay, Some(Duration::from_millis(300)));
    // final transcript: 200 ms of silence detection + 100 ms of provider delay
    assert_eq!(m.stt_final_delay, Some(Duration::from_millis(300)));
    assert!(m.llm_ttft.is_some() && m.tts_ttfb.is_some());
    let v2v = m.voice_to_voice.unwrap();
    assert!(
        v2v >= Duration::from_millis(350) && v2v < Duration::from_millis(600),
        "{v2v:?}"
    );
    assert_eq!(m.audio_duration, Duration::from_millis(21 * 40));
    let roles: Vec<_> = report.history.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [ChatRole::System, ChatRole::User, ChatRole::Assistant]
    );
    assert_eq!(report.output_duration, Duration::from_millis(21 * 40));
    // the request carried the instructions and the user's words
    let req = &llm.requests.lock().unwrap()[0];
    assert_eq!(req.context.messages()[0].text(), "You are a test agent.");
    assert_eq!(
        req.context.last_user_text().as_deref(),
        Some("what is the weather")
    );
}

#[tokio::test(start_paused = true)]
async fn barge_in_cancels_and_keeps_only_what_was_played() {
    let long = "The weather in Paris is sunny and warm today. Tomorrow it will rain in the afternoon. \
                On Sunday the sun comes back.";
    let llm = ScriptedLlm::new(vec![
        ScriptedLlm::text(long),
        ScriptedLlm::text("Sure, stopping."),
    ]);
    let s = session(
        ScriptedStt::new(&["tell me the weather", "stop please"]),
        llm.clone(),
        options(),
    );
    let mut events = s.events();
    let report = s
        .run(
            input(&[
                (false, 200),
                (true, 800),
                (false, 2500),
                (true, 1000),
                (false, 4000),
            ]),
            output(),
        )
        .await
        .unwrap();
    assert_eq!(report.turns.len(), 2, "{report:#?}");
    let first = &report.turns[0];
    assert!(first.interrupted);
    assert!(!first.agent_text.is_empty());
    assert!(
        long.starts_with(&first.agent_text),
        "{:?}",
        first.agent_text
    );
    assert!(
        first.agent_text.len() < long.len() / 2,
        "{:?}",
        first.agent_text
    );
    assert_eq!(report.interruptions, 1);
    // the history keeps the played part, marked as interrupted
    let interrupted: Vec<_> = report.history.iter().filter(|m| m.interrupted).collect();
    assert_eq!(interrupted.len(), 1);
    assert_eq!(interrupted[0].text(), first.agent_text);
    // the second request saw the truncated reply, not the full one
    let requests = llm.requests.lock().unwrap();
    let second = &requests[1].context;
    assert!(second.messages().iter().all(|m| m.text() != long));
    assert_eq!(report.turns[1].user_text, "stop please");
    drop(requests);
    let mut saw_interrupted_end = false;
    while let Some(Received::Event(e)) = events.try_recv() {
        if let SessionEvent::AgentTurnEnded { interrupted: true } = e {
            saw_interrupted_end = true;
        }
    }
    assert!(saw_interrupted_end);
}

#[tokio::test(start_paused = true)]
async fn a_short_noise_does_not_interrupt_and_the_agent_resumes() {
    let reply = "The weather in Paris is sunny and warm today. Tomorrow it will rain again.";
    let llm = ScriptedLlm::new(vec![ScriptedLlm::text(reply)]);
    let s = session(
        ScriptedStt::new(&["tell me the weather"]),
        llm,
        options().with_false_interruption_timeout(Duration::from_millis(500)),
    );
    let report = s
        .run(
            input(&[
                (false, 200),
                (true, 800),
                (false, 1500),
                (true, 250),
                (false, 6000),
            ]),
            output(),
        )
        .await
        .unwrap();
    assert_eq!(report.turns.len(), 1, "{report:#?}");
    assert!(!report.turns[0].interrupted, "{report:#?}");
    assert_eq!(report.turns[0].agent_text, reply);
    assert_eq!(report.false_interruptions, 1);
    assert_eq!(report.interruptions, 0);
    // everything was played despite the pause
    assert_eq!(
        report.output_duration,
        Duration::from_millis(40 * reply.chars().count() as u64 - 40)
    );
}

#[tokio::test(start_paused = true)]
async fn preemptive_generation_is_used_when_the_user_stops() {
    let llm = ScriptedLlm::new(vec![ScriptedLlm::text("Booked it.")]);
    let s = session(
        ScriptedStt::new(&["book a table for two"]),
        llm.clone(),
        options()
            .with_preemptive_generation(true)
            .with_min_endpointing_delay(Duration::from_millis(600)),
    );
    let report = s
        .run(input(&[(false, 200), (true, 900), (false, 3000)]), output())
        .await
        .unwrap();
    assert_eq!(report.turns.len(), 1);
    assert!(report.turns[0].metrics.preemptive);
    assert_eq!(llm.requests.lock().unwrap().len(), 1);
    assert_eq!(report.preemptive_discarded, 0);
}

#[tokio::test(start_paused = true)]
async fn preemptive_generation_is_discarded_when_the_user_goes_on() {
    let llm = ScriptedLlm::new(vec![
        ScriptedLlm::text("Which day?"),
        ScriptedLlm::text("Booked for two at seven."),
    ]);
    let s = session(
        ScriptedStt::new(&["book a table", "for two at seven"]),
        llm.clone(),
        options()
            .with_preemptive_generation(true)
            .with_min_endpointing_delay(Duration::from_millis(1000)),
    );
    let report = s
        .run(
            input(&[
                (false, 200),
                (true, 700),
                (false, 500),
                (true, 700),
                (false, 3000),
            ]),
            output(),
        )
        .await
        .unwrap();
    assert_eq!(report.turns.len(), 1, "{report:#?}");
    assert_eq!(report.turns[0].user_text, "book a table for two at seven");
    assert!(report.preemptive_discarded >= 1);
    let requests = llm.requests.lock().unwrap();
    let last = requests.last().unwrap();
    assert_eq!(
        last.context.last_user_text().as_deref(),
        Some("book a table for two at seven")
    );
    assert_eq!(report.turns[0].agent_text, "Booked for two at seven.");
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct WeatherArgs {
    city: String,
}

#[tokio::test(start_paused = true)]
async fn tool_calls_run_between_rounds() {
    let llm = ScriptedLlm::new(vec![
        vec![
            ChatChunk::ToolCall {
                call: ToolCall::new("call_1", "get_weather", r#"{"city":"Paris"}"#),
            },
            ChatChunk::Finish {
                reason: FinishReason::ToolCalls,
            },
        ],
        ScriptedLlm::text("It is sunny in Paris."),
    ]);
    let tools = ToolRegistry::new()
        .with_fn(
            "get_weather",
            "Weather for a city",
            |a: WeatherArgs| async move { agents_core::Result::Ok(format!("sunny in {}", a.city)) },
        )
        .unwrap();
    let s = AgentSession::builder()
        .stt(ScriptedStt::new(&["weather in paris"]))
        .llm(llm.clone())
        .tts(Arc::new(BuzzTts {
            first_audio_delay: Duration::from_millis(20),
        }))
        .vad(Arc::new(|| Box::new(EnergyVad) as Box<dyn Vad>))
        .tools(tools)
        .options(options())
        .build()
        .unwrap();
    let report = s
        .run(input(&[(true, 800), (false, 3000)]), output())
        .await
        .unwrap();
    let turn = &report.turns[0];
    assert_eq!(turn.tool_calls.len(), 1);
    assert_eq!(turn.tool_calls[0].output, "sunny in Paris");
    assert_eq!(turn.agent_text, "It is sunny in Paris.");
    assert_eq!(turn.metrics.llm_requests, 2);
    let roles: Vec<_> = report.history.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            ChatRole::User,
            ChatRole::Assistant,
            ChatRole::Tool,
            ChatRole::Assistant
        ]
    );
    let second = &llm.requests.lock().unwrap()[1];
    assert_eq!(second.context.last().unwrap().text(), "sunny in Paris");
    assert!(!second.tools.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_stalled_output_is_reported_by_name() {
    let llm = ScriptedLlm::new(vec![ScriptedLlm::text("Hello there, friend.")]);
    let s = AgentSession::builder()
        .stt(ScriptedStt::new(&["hi"]))
        .llm(llm)
        .tts(Arc::new(BuzzTts {
            first_audio_delay: Duration::ZERO,
        }))
        .vad(Arc::new(|| Box::new(EnergyVad) as Box<dyn Vad>))
        .options(options().with_stall_timeout(Duration::from_millis(500)))
        .build()
        .unwrap();
    let mut events = s.events();
    let runner = s.clone();
    let task = tokio::spawn(async move {
        runner
            .run(input(&[(true, 500), (false, 1000)]), Box::new(StuckOutput))
            .await
    });
    let stalled = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match events.recv().await {
                Some(Received::Event(SessionEvent::StageStalled { stage, waited })) => {
                    return (stage, waited);
                }
                Some(_) => {}
                None => panic!("bus closed"),
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(stalled.0, "audio_output");
    assert!(stalled.1 >= Duration::from_millis(500));
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn say_and_generate_reply_speak_without_user_input() {
    let llm = ScriptedLlm::new(vec![ScriptedLlm::text("How can I help you today?")]);
    let s = session(ScriptedStt::new(&[]), llm.clone(), options());
    s.say("Welcome to the demo.").await.unwrap();
    s.generate_reply().await.unwrap();
    let report = s.run(input(&[(false, 4000)]), output()).await.unwrap();
    assert_eq!(report.turns.len(), 2);
    assert_eq!(report.turns[0].agent_text, "Welcome to the demo.");
    assert_eq!(report.turns[1].agent_text, "How can I help you today?");
    // the session has ended: its command queue is closed
    let late = s.say("late").await.unwrap_err();
    assert!(late.is_closed(), "{late}");
    assert!(
        s.run(input(&[(false, 100)]), output()).await.is_err(),
        "runs only once"
    );
}

#[tokio::test]
async fn text_mode_chat_runs_tools_and_keeps_history() {
    let llm = ScriptedLlm::new(vec![
        vec![ChatChunk::ToolCall {
            call: ToolCall::new("c1", "get_weather", r#"{"city":"Rome"}"#),
        }],
        ScriptedLlm::text("Rome is sunny."),
    ]);
    let tools = ToolRegistry::new()
        .with_fn("get_weather", "Weather", |a: WeatherArgs| async move {
            agents_core::Result::Ok(format!("sunny in {}", a.city))
        })
        .unwrap();
    let s = AgentSession::builder()
        .instructions("Be brief.")
        .llm(llm)
        .tools(tools)
        .build()
        .unwrap();
    let reply = s.chat("weather in Rome?").await.unwrap();
    assert_eq!(reply, "Rome is sunny.");
    assert_eq!(s.history().len(), 5);
    let err = s.run(input(&[(false, 100)]), output()).await.unwrap_err();
    assert!(err.to_string().contains("STT"), "{err}");
}

#[test]
fn building_without_an_llm_names_it() {
    let err = AgentSession::builder().build().unwrap_err();
    assert!(err.to_string().contains("LLM"), "{err}");
}

/// Says the turn is over only when the user's words end like a sentence.
struct Punctuation;

#[agents_core::async_trait]
impl agents_core::TurnDetector for Punctuation {
    fn info(&self) -> agents_core::ProviderInfo {
        agents_core::ProviderInfo::new("punctuation", "test")
    }
    async fn end_of_turn_probability(
        &self,
        context: &agents_core::ChatContext,
    ) -> agents_core::Result<f32> {
        let text = context.last_user_text().unwrap_or_default();
        Ok(if text.ends_with('?') { 0.9 } else { 0.1 })
    }
}

#[tokio::test(start_paused = true)]
async fn the_turn_detector_chooses_between_min_and_max_delay() {
    for (text, expected) in [
        ("what is the weather?", Duration::from_millis(300)),
        ("what is the", Duration::from_millis(1500)),
    ] {
        let llm = ScriptedLlm::new(vec![ScriptedLlm::text("Sunny.")]);
        let s = AgentSession::builder()
            .stt(ScriptedStt::new(&[text]))
            .llm(llm)
            .tts(Arc::new(BuzzTts {
                first_audio_delay: Duration::ZERO,
            }))
            .vad(Arc::new(|| Box::new(EnergyVad) as Box<dyn Vad>))
            .turn_detector(Arc::new(Punctuation))
            .options(options().with_max_endpointing_delay(Duration::from_millis(1500)))
            .build()
            .unwrap();
        let report = s
            .run(input(&[(true, 600), (false, 3000)]), output())
            .await
            .unwrap();
        assert_eq!(report.turns.len(), 1, "{text}");
        assert_eq!(
            report.turns[0].metrics.end_of_utterance_delay,
            Some(expected),
            "{text}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn minimum_interruption_words_keep_the_agent_talking_through_wordless_speech() {
    let reply = "The weather in Paris is sunny and warm today. Tomorrow it will rain again.";
    let llm = ScriptedLlm::new(vec![ScriptedLlm::text(reply)]);
    // the second burst of speech has no transcript (a cough, a door): not an interruption
    let s = session(
        ScriptedStt::new(&["tell me the weather"]),
        llm,
        options()
            .with_min_interruption_words(2)
            .with_false_interruption_timeout(Duration::from_millis(400)),
    );
    let report = s
        .run(
            input(&[
                (false, 200),
                (true, 800),
                (false, 1500),
                (true, 900),
                (false, 6000),
            ]),
            output(),
        )
        .await
        .unwrap();
    assert_eq!(report.turns.len(), 1, "{report:#?}");
    assert!(!report.turns[0].interrupted);
    assert_eq!(report.turns[0].agent_text, reply);
    assert_eq!(report.false_interruptions, 1);
}

/// A provider that takes `connect` to open a stream or answer a request.
struct SlowToConnect<T> {
    inner: T,
    connect: Duration,
}

#[async_trait::async_trait]
impl agents_core::Tts for SlowToConnect<BuzzTts> {
    fn info(&self) -> agents_core::ProviderInfo {
        self.inner.info()
    }
    fn capabilities(&self) -> agents_core::TtsCapabilities {
        self.inner.capabilities()
    }
    async fn synthesize(
        &self,
        text: &str,
        options: &agents_core::SynthesizeOptions,
    ) -> agents_core::Result<agents_core::TtsAudioStream> {
        tokio::time::sleep(self.connect).await;
        self.inner.synthesize(text, options).await
    }
    async fn stream(
        &self,
        options: &agents_core::SynthesizeOptions,
    ) -> agents_core::Result<agents_core::TtsStream> {
        tokio::time::sleep(self.connect).await;
        self.inner.stream(options).await
    }
}

#[async_trait::async_trait]
impl agents_core::Llm for SlowToConnect<Arc<ScriptedLlm>> {
    fn info(&self) -> agents_core::ProviderInfo {
        self.inner.info()
    }
    async fn chat(
        &self,
        request: agents_core::ChatRequest,
    ) -> agents_core::Result<agents_core::ChatStream> {
        tokio::time::sleep(self.connect).await;
        self.inner.chat(request).await
    }
}

#[tokio::test(start_paused = true)]
async fn the_tts_connects_while_the_llm_request_is_in_flight() {
    // TTS connect 200 ms, LLM request 150 ms, then 10 ms per token, then 50 ms to first audio.
    // One after the other the user would wait 300 + 200 + 150 + 20 + 50 = 720 ms; opened
    // together, 300 + 200 + 20 + 50 = 570 ms.
    let llm = ScriptedLlm::new(vec![ScriptedLlm::text("Hi.")]);
    let s = AgentSession::builder()
        .stt(ScriptedStt::new(&["hello"]))
        .llm(Arc::new(SlowToConnect {
            inner: llm,
            connect: Duration::from_millis(150),
        }))
        .tts(Arc::new(SlowToConnect {
            inner: BuzzTts {
                first_audio_delay: Duration::from_millis(50),
            },
            connect: Duration::from_millis(200),
        }))
        .vad(Arc::new(|| Box::new(EnergyVad) as Box<dyn Vad>))
        .options(options().with_preemptive_generation(false))
        .build()
        .unwrap();
    let report = s
        .run(input(&[(false, 300), (true, 600), (false, 2000)]), output())
        .await
        .unwrap();
    assert_eq!(report.turns.len(), 1, "{report:?}");
    let m = &report.turns[0].metrics;
    assert_eq!(m.end_of_utterance_delay, Some(Duration::from_millis(300)));
    let v2v = m.voice_to_voice.unwrap();
    assert!(
        v2v >= Duration::from_millis(560) && v2v <= Duration::from_millis(600),
        "{v2v:?}"
    );
    // The first sentence was ready 200 ms (the TTS connect) and a token or two after the
    // reply started.
    let first_sentence = m.llm_first_sentence.unwrap();
    assert!(
        first_sentence >= Duration::from_millis(200)
            && first_sentence <= Duration::from_millis(230),
        "{first_sentence:?}"
    );
}
