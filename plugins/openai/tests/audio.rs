//! TTS and STT over real sockets against the OpenAI emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use agents_core::{
    AudioFormat, AudioFrame, ConnectOptions, ErrorKind, RecognizeOptions, SpeechEventKind, Stt,
    SynthesizeOptions, Tts, TtsEvent,
};
use agents_plugin_openai::{OpenAiStt, OpenAiTts};
use agents_testing::emulators::openai::{
    ErrorReply, OpenAiEmulator, Reply, SpeechReply, multipart_fields,
};
use futures::StreamExt;

fn fast() -> ConnectOptions {
    ConnectOptions::default()
        .with_max_retries(2)
        .with_retry_interval(Duration::from_millis(5))
        .with_max_interval(Duration::from_millis(20))
        .with_timeout(Duration::from_secs(5))
}

fn tts(emu: &OpenAiEmulator) -> OpenAiTts {
    OpenAiTts::builder()
        .api_key("sk-test")
        .base_url(emu.base_url())
        .voice("coral")
        .speed(1.25)
        .instructions("Speak cheerfully")
        .connect_options(fast())
        .build()
        .unwrap()
}

async fn synth(
    tts: &OpenAiTts,
    text: &str,
    opts: &SynthesizeOptions,
) -> (Vec<AudioFrame>, Vec<TtsEvent>, Option<agents_core::Error>) {
    let mut stream = tts.synthesize(text, opts).await.unwrap();
    let (mut frames, mut events, mut error) = (Vec::new(), Vec::new(), None);
    while let Some(item) = stream.next().await {
        assert!(error.is_none(), "nothing may follow an error");
        match item {
            Ok(TtsEvent::Audio(f)) => frames.push(f),
            Ok(other) => events.push(other),
            Err(e) => error = Some(e),
        }
    }
    (frames, events, error)
}

#[tokio::test]
async fn tts_odd_byte_chunks_give_whole_samples() {
    let emu = OpenAiEmulator::start().await.unwrap();
    let reply = SpeechReply::default().with_chunks(vec![1, 3, 999, 2, 5, 1001]);
    emu.push(Reply::Speech(reply.clone()));
    let text = "Hello there, how are you today?";
    let (frames, events, error) = synth(&tts(&emu), text, &SynthesizeOptions::default()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(events, vec![TtsEvent::SegmentEnd]);
    assert!(frames.iter().all(|f| f.format() == AudioFormat::MONO_24K));
    let got: Vec<i16> = frames.iter().flat_map(|f| f.samples().to_vec()).collect();
    assert_eq!(got, reply.samples_for(text));
    let r = &emu.requests_to("/audio/speech")[0];
    let body = r.json().unwrap();
    assert_eq!(body["input"], text);
    assert_eq!(body["voice"], "coral");
    assert_eq!(body["response_format"], "pcm");
    assert_eq!(body["speed"], 1.25);
    assert_eq!(body["instructions"], "Speak cheerfully");
    assert_eq!(body["model"], "gpt-4o-mini-tts");
}

#[tokio::test]
async fn tts_frames_flow_while_the_body_arrives() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Speech(
        SpeechReply::default()
            .with_chunks(vec![4800])
            .with_chunk_delay(Duration::from_millis(40)),
    ));
    let tts = tts(&emu);
    let start = Instant::now();
    let mut stream = tts
        .synthesize(
            "a long sentence of text",
            &SynthesizeOptions::default().with_voice("ash"),
        )
        .await
        .unwrap();
    let first = stream.next().await.unwrap().unwrap();
    let first_at = start.elapsed();
    assert!(matches!(first, TtsEvent::Audio(_)));
    while stream.next().await.is_some() {}
    assert!(start.elapsed() >= first_at + Duration::from_millis(80));
    assert_eq!(
        emu.requests_to("/audio/speech")[0].json().unwrap()["voice"],
        "ash"
    );
}

#[tokio::test]
async fn tts_drop_mid_body_is_a_connection_error_after_audio() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Speech(
        SpeechReply::default()
            .with_chunks(vec![1000])
            .with_chunk_delay(Duration::from_millis(2))
            .with_drop_after(3),
    ));
    let (frames, _, error) = synth(
        &tts(&emu),
        "some text that is long enough",
        &SynthesizeOptions::default(),
    )
    .await;
    assert_eq!(
        frames.iter().map(|f| f.samples().len()).sum::<usize>(),
        1500
    );
    let error = error.unwrap();
    assert_eq!(error.kind(), &ErrorKind::Connection, "{error:?}");
    assert_eq!(emu.requests_to("/audio/speech").len(), 1);
}

#[tokio::test]
async fn tts_errors_and_retries() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Error(ErrorReply::rate_limited(None, Some("20"))));
    let (frames, _, error) = synth(&tts(&emu), "hi", &SynthesizeOptions::default()).await;
    assert!(error.is_none());
    assert!(!frames.is_empty());
    assert_eq!(emu.requests_to("/audio/speech").len(), 2);
    emu.push(Reply::Error(ErrorReply::unauthorized()));
    let err = tts(&emu)
        .synthesize("hi", &SynthesizeOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), &ErrorKind::Auth);
    assert_eq!(emu.requests_to("/audio/speech").len(), 3);
    let err = tts(&emu)
        .synthesize(" ", &SynthesizeOptions::default())
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), &ErrorKind::InvalidInput);
}

#[tokio::test]
async fn tts_drop_closes_the_connection() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Speech(
        SpeechReply::default()
            .with_chunks(vec![480])
            .with_chunk_delay(Duration::from_millis(10)),
    ));
    let tts = tts(&emu);
    let mut stream = tts
        .synthesize(&"long text ".repeat(50), &SynthesizeOptions::default())
        .await
        .unwrap();
    stream.next().await.unwrap().unwrap();
    drop(stream);
    let start = Instant::now();
    while emu.client_disconnects() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "connection not closed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn tts_honours_the_requested_output_format() {
    let emu = OpenAiEmulator::start().await.unwrap();
    let text = "resample me please";
    let opts = SynthesizeOptions::default().with_output_format(AudioFormat::MONO_48K);
    let mut stream = match tts(&emu).synthesize(text, &opts).await {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let mut samples = 0usize;
    while let Some(item) = stream.next().await {
        match item {
            Ok(TtsEvent::Audio(f)) => {
                assert_eq!(f.format(), AudioFormat::MONO_48K);
                samples += f.samples().len();
            }
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
    }
    let native = SpeechReply::default().samples_for(text).len();
    let want = native * 2;
    assert!(
        samples.abs_diff(want) <= 960,
        "got {samples} samples at 48 kHz for {native} at 24 kHz"
    );
}

fn stt(emu: &OpenAiEmulator) -> OpenAiStt {
    OpenAiStt::builder()
        .api_key("sk-test")
        .base_url(emu.base_url())
        .model("whisper-1")
        .language("fr")
        .prompt("Bonjour")
        .connect_options(fast())
        .build()
        .unwrap()
}

#[tokio::test]
async fn stt_uploads_wav_with_fields() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.set_transcription(" bonjour tout le monde ");
    let samples: Vec<i16> = (0..16000).map(|i| ((i % 100) * 50) as i16).collect();
    let audio = AudioFrame::new(samples.clone(), AudioFormat::MONO_16K).unwrap();
    let event = stt(&emu)
        .recognize(&audio, &RecognizeOptions::default())
        .await
        .unwrap();
    assert_eq!(event.kind, SpeechEventKind::Final);
    assert_eq!(event.text(), "bonjour tout le monde");
    let r = &emu.requests_to("/audio/transcriptions")[0];
    assert_eq!(r.bearer(), Some("sk-test"));
    let fields = multipart_fields(r);
    let get = |n: &str| fields.iter().find(|f| f.name == n).unwrap();
    assert_eq!(get("model").text(), "whisper-1");
    assert_eq!(get("language").text(), "fr");
    assert_eq!(get("prompt").text(), "Bonjour");
    let file = get("file");
    assert_eq!(file.filename.as_deref(), Some("audio.wav"));
    assert_eq!(&file.data[..4], b"RIFF");
    assert_eq!(&file.data[8..12], b"WAVE");
    assert_eq!(file.data.len(), 44 + samples.len() * 2);
    assert_eq!(&file.data[44..46], &samples[0].to_le_bytes());

    // per-call options win, and BCP-47 is cut to ISO-639-1
    stt(&emu)
        .recognize(
            &audio,
            &RecognizeOptions::default()
                .with_language("en-US")
                .with_prompt("Hi"),
        )
        .await
        .unwrap();
    let fields = multipart_fields(&emu.requests_to("/audio/transcriptions")[1]);
    let get = |n: &str| fields.iter().find(|f| f.name == n).unwrap().text();
    assert_eq!(get("language"), "en");
    assert_eq!(get("prompt"), "Hi");
}

#[tokio::test]
async fn stt_errors() {
    let emu = OpenAiEmulator::start().await.unwrap();
    let audio = AudioFrame::silence(AudioFormat::MONO_16K, Duration::from_millis(200)).unwrap();
    emu.push(Reply::Error(ErrorReply::server_error(503)));
    let ev = stt(&emu)
        .recognize(&audio, &RecognizeOptions::default())
        .await
        .unwrap();
    assert_eq!(ev.text(), "hello world");
    assert_eq!(emu.requests_to("/audio/transcriptions").len(), 2);
    emu.push(Reply::Error(ErrorReply::insufficient_quota()));
    let err = stt(&emu)
        .recognize(&audio, &RecognizeOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::QuotaExceeded);
    assert_eq!(emu.requests_to("/audio/transcriptions").len(), 3);
    let empty = AudioFrame::empty(AudioFormat::MONO_16K).unwrap();
    let err = stt(&emu)
        .recognize(&empty, &RecognizeOptions::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidInput);
}
