//! The chat LLM over real sockets against the OpenAI emulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use agents_core::{
    ChatChunk, ChatContext, ChatMessage, ChatRequest, ConnectOptions, Error, ErrorKind,
    FinishReason, ImageDetail, ImageSource, Llm, TokenUsage, ToolCall, ToolChoice, ToolDefinition,
};
use agents_plugin_openai::OpenAiLlm;
use agents_testing::emulators::openai::{ChatFault, ChatReply, ErrorReply, OpenAiEmulator, Reply};
use futures::StreamExt;
use serde_json::json;

fn fast() -> ConnectOptions {
    ConnectOptions::default()
        .with_max_retries(2)
        .with_retry_interval(Duration::from_millis(5))
        .with_max_interval(Duration::from_millis(20))
        .with_timeout(Duration::from_secs(5))
}

fn llm(emu: &OpenAiEmulator) -> OpenAiLlm {
    OpenAiLlm::builder()
        .api_key("sk-test")
        .base_url(emu.base_url())
        .model("gpt-4o-mini")
        .connect_options(fast())
        .build()
        .unwrap()
}

fn hello() -> ChatRequest {
    let mut ctx = ChatContext::new().with_system("Be brief.");
    ctx.push(ChatMessage::user("Hello"));
    ChatRequest::new(ctx)
}

#[derive(Debug, Default)]
struct Collected {
    text: String,
    calls: Vec<ToolCall>,
    usage: Option<TokenUsage>,
    finish: Option<FinishReason>,
    error: Option<Error>,
    chunks: Vec<ChatChunk>,
}

async fn collect(llm: &OpenAiLlm, request: ChatRequest) -> Result<Collected, Error> {
    let mut stream = llm.chat(request).await?;
    let mut c = Collected::default();
    while let Some(item) = stream.next().await {
        assert!(c.error.is_none(), "nothing may follow an error");
        assert!(c.finish.is_none(), "nothing may follow the finish reason");
        match item {
            Ok(chunk) => {
                match &chunk {
                    ChatChunk::TextDelta { text } => c.text.push_str(text),
                    ChatChunk::ToolCall { call } => c.calls.push(call.clone()),
                    ChatChunk::Usage { usage } => {
                        assert!(c.usage.is_none(), "usage twice");
                        c.usage = Some(*usage);
                    }
                    ChatChunk::Finish { reason } => c.finish = Some(reason.clone()),
                    other => panic!("unexpected chunk {other:?}"),
                }
                c.chunks.push(chunk);
            }
            Err(e) => c.error = Some(e),
        }
    }
    Ok(c)
}

#[tokio::test]
async fn streams_text_deltas_as_they_arrive() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Chat(
        ChatReply::text(["Hel", "lo", " there", "!"]).with_token_delay(Duration::from_millis(40)),
    ));
    let llm = llm(&emu);
    let start = Instant::now();
    let mut stream = llm.chat(hello()).await.unwrap();
    let first = stream.next().await.unwrap().unwrap();
    let first_at = start.elapsed();
    assert_eq!(first, ChatChunk::text("Hel"));
    let mut rest = Vec::new();
    while let Some(c) = stream.next().await {
        rest.push(c.unwrap());
    }
    // the first token came before the later tokens were even written
    assert!(start.elapsed() >= first_at + Duration::from_millis(100));
    assert_eq!(rest[0], ChatChunk::text("lo"));
    assert_eq!(
        rest.last(),
        Some(&ChatChunk::Finish {
            reason: FinishReason::Stop
        })
    );
    assert!(matches!(rest[rest.len() - 2], ChatChunk::Usage { .. }));
}

#[tokio::test]
async fn survives_any_split_of_the_body() {
    let emu = OpenAiEmulator::start().await.unwrap();
    let tokens = ["héllo ", "wörld ", "🎉🎉", " ok", "\u{1F600}"];
    let want: String = tokens.concat();
    let llm = llm(&emu);
    for split in [1, 2, 3, 5, 7, 11, 64, 4096] {
        for crlf in [false, true] {
            let mut reply = ChatReply::text(tokens)
                .with_split(split)
                .with_keepalive_comments();
            if crlf {
                reply = reply.with_crlf();
            }
            emu.push(Reply::Chat(reply));
            let c = collect(&llm, hello()).await.unwrap();
            assert!(
                c.error.is_none(),
                "split {split} crlf {crlf}: {:?}",
                c.error
            );
            assert_eq!(c.text, want, "split {split} crlf {crlf}");
            assert_eq!(c.finish, Some(FinishReason::Stop));
        }
    }
}

#[tokio::test]
async fn assembles_two_parallel_tool_calls() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Chat(
        ChatReply::text(Vec::<String>::new())
            .with_tool_call("call_A", "get_weather", r#"{"city":"Paris","unit":"c"}"#)
            .with_tool_call("call_B", "get_time", r#"{"tz":"Europe/Paris"}"#)
            .with_split(5),
    ));
    let c = collect(&llm(&emu), hello()).await.unwrap();
    assert!(c.error.is_none(), "{:?}", c.error);
    assert_eq!(
        c.calls,
        vec![
            ToolCall::new("call_A", "get_weather", r#"{"city":"Paris","unit":"c"}"#),
            ToolCall::new("call_B", "get_time", r#"{"tz":"Europe/Paris"}"#),
        ]
    );
    assert_eq!(c.finish, Some(FinishReason::ToolCalls));
    // calls come before usage and finish
    assert!(matches!(c.chunks[0], ChatChunk::ToolCall { .. }));
    assert!(matches!(c.chunks[1], ChatChunk::ToolCall { .. }));
}

#[tokio::test]
async fn finish_reason_stop_ends_tool_calls() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Chat(
        ChatReply::text(["Let me check."])
            .with_tool_call("call_1", "lookup", r#"{"q":"rust"}"#)
            .with_finish_reason("stop"),
    ));
    let c = collect(&llm(&emu), hello()).await.unwrap();
    assert_eq!(c.text, "Let me check.");
    assert_eq!(
        c.calls,
        vec![ToolCall::new("call_1", "lookup", r#"{"q":"rust"}"#)]
    );
    assert_eq!(c.finish, Some(FinishReason::Stop));
}

#[tokio::test]
async fn usage_comes_from_the_final_chunk() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Chat(
        ChatReply::text(["a", "b"]).with_usage(Some((50, 12))),
    ));
    emu.push(Reply::Chat(ChatReply::text(["a"]).with_usage(None)));
    let llm = llm(&emu);
    let c = collect(&llm, hello()).await.unwrap();
    assert_eq!(
        c.usage,
        Some(TokenUsage {
            prompt_tokens: 50,
            completion_tokens: 12,
            cached_tokens: 0,
            total_tokens: 62
        })
    );
    let n = c.chunks.len();
    assert!(matches!(c.chunks[n - 2], ChatChunk::Usage { .. }));
    let c = collect(&llm, hello()).await.unwrap();
    assert_eq!(c.usage, None);
    assert_eq!(c.finish, Some(FinishReason::Stop));
}

#[tokio::test]
async fn request_carries_images_tools_and_sampling() {
    let emu = OpenAiEmulator::start().await.unwrap();
    let llm = OpenAiLlm::builder()
        .api_key("sk-test")
        .base_url(emu.base_url())
        .model("gpt-4o")
        .organization("org-1")
        .project("proj-1")
        .connect_options(fast())
        .build()
        .unwrap();
    let mut ctx = ChatContext::new().with_system("sys");
    ctx.push(ChatMessage::user("What is this?").with_image(
        ImageSource::Bytes {
            mime_type: "image/jpeg".into(),
            data: bytes::Bytes::from_static(&[0xff, 0xd8, 0xff, 0xe0]),
        },
        ImageDetail::Low,
    ));
    ctx.push(ChatMessage::assistant_tool_calls(
        "",
        vec![ToolCall::new("call_9", "look", "{}")],
    ));
    ctx.push(ChatMessage::tool_result("call_9", "a cat"));
    let request = ChatRequest::new(ctx)
        .with_tools(vec![ToolDefinition::new(
            "look",
            "Looks",
            json!({"type": "object", "properties": {}}),
        )])
        .with_tool_choice(ToolChoice::Named("look".into()))
        .with_parallel_tool_calls(false)
        .with_temperature(0.2)
        .with_max_tokens(77);
    let c = collect(&llm, request).await.unwrap();
    assert!(c.error.is_none());
    let reqs = emu.requests_to("/chat/completions");
    assert_eq!(reqs.len(), 1);
    let r = &reqs[0];
    assert_eq!(r.bearer(), Some("sk-test"));
    assert_eq!(r.header("openai-organization"), Some("org-1"));
    assert_eq!(r.header("openai-project"), Some("proj-1"));
    let body = r.json().unwrap();
    assert_eq!(body["model"], "gpt-4o");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["temperature"], 0.2);
    assert_eq!(body["max_completion_tokens"], 77);
    assert_eq!(body["parallel_tool_calls"], false);
    assert_eq!(
        body["tool_choice"],
        json!({"type": "function", "function": {"name": "look"}})
    );
    assert_eq!(body["tools"][0]["function"]["name"], "look");
    let user = &body["messages"][1];
    assert_eq!(
        user["content"][0],
        json!({"type": "text", "text": "What is this?"})
    );
    assert_eq!(
        user["content"][1]["image_url"]["url"],
        "data:image/jpeg;base64,/9j/4A=="
    );
    assert_eq!(user["content"][1]["image_url"]["detail"], "low");
    assert_eq!(body["messages"][2]["tool_calls"][0]["id"], "call_9");
    assert_eq!(body["messages"][2]["content"], serde_json::Value::Null);
    assert_eq!(body["messages"][3]["role"], "tool");
    assert_eq!(body["messages"][3]["tool_call_id"], "call_9");
}

async fn final_error(reply: ErrorReply) -> (Error, usize) {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Error(reply.clone()));
    emu.push(Reply::Error(reply));
    let err = match llm(&emu).chat(hello()).await {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    };
    (err, emu.requests_to("/chat/completions").len())
}

#[tokio::test]
async fn final_errors_come_back_at_once_with_the_providers_message() {
    let (e, n) = final_error(ErrorReply::unauthorized()).await;
    assert_eq!((e.kind(), n), (&ErrorKind::Auth, 1));
    assert!(
        e.provider_message()
            .unwrap()
            .starts_with("Incorrect API key provided")
    );
    assert_eq!(e.provider(), Some("openai"));

    let (e, n) = final_error(ErrorReply::model_not_found("gpt-9")).await;
    assert_eq!((e.kind(), n), (&ErrorKind::Unsupported, 1));
    assert!(e.provider_message().unwrap().contains("gpt-9"));

    let (e, n) = final_error(ErrorReply::openrouter_credits()).await;
    assert_eq!((e.kind(), n), (&ErrorKind::QuotaExceeded, 1));

    let (e, n) = final_error(ErrorReply::bad_request("Invalid 'messages': empty array")).await;
    assert_eq!((e.kind(), n), (&ErrorKind::InvalidInput, 1));
    assert_eq!(
        e.provider_message(),
        Some("Invalid 'messages': empty array")
    );

    let (e, n) = final_error(ErrorReply::insufficient_quota()).await;
    assert_eq!((e.kind(), n), (&ErrorKind::QuotaExceeded, 1));
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("You exceeded your current quota"));

    let (e, n) =
        final_error(ErrorReply::server_error(500).with_header("x-should-retry", "false")).await;
    assert_eq!((e.status(), n), (Some(500), 1));
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after_then_succeeds() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Error(ErrorReply::rate_limited(
        Some("5"),
        Some("150"),
    )));
    let start = Instant::now();
    let c = collect(&llm(&emu), hello()).await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(150),
        "{:?}",
        start.elapsed()
    );
    assert!(c.error.is_none());
    assert_eq!(c.text, "Hello from the emulator.");
    assert_eq!(emu.requests_to("/chat/completions").len(), 2);

    // retry-after in seconds when there is no retry-after-ms
    emu.push(Reply::Error(ErrorReply::rate_limited(Some("0.1"), None)));
    let start = Instant::now();
    collect(&llm(&emu), hello()).await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert_eq!(emu.requests_to("/chat/completions").len(), 4);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Error(ErrorReply::server_error(500)));
    emu.push(Reply::Error(ErrorReply::server_error(503)));
    let c = collect(&llm(&emu), hello()).await.unwrap();
    assert_eq!(c.text, "Hello from the emulator.");
    assert_eq!(emu.requests_to("/chat/completions").len(), 3);
}

#[tokio::test]
async fn retries_run_out() {
    let emu = OpenAiEmulator::start().await.unwrap();
    for _ in 0..5 {
        emu.push(Reply::Error(ErrorReply::server_error(503)));
    }
    let err = llm(&emu).chat(hello()).await.err().unwrap();
    assert_eq!(err.status(), Some(503));
    assert!(err.is_retryable());
    assert_eq!(
        err.provider_message(),
        Some("The server is overloaded or not ready yet.")
    );
    assert_eq!(emu.requests_to("/chat/completions").len(), 3);
}

#[tokio::test]
async fn refused_connections_are_retried() {
    // A port nobody listens on ...
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let llm = OpenAiLlm::builder()
        .api_key("sk-test")
        .base_url(format!("http://{addr}/v1"))
        .connect_options(
            fast()
                .with_max_retries(20)
                .with_retry_interval(Duration::from_millis(30))
                .with_max_interval(Duration::from_millis(30)),
        )
        .build()
        .unwrap();
    // ... until a server appears on it after the first attempts were refused.
    let server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(80)).await;
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let (mut sock, _) = listener.accept().await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut buf = vec![0u8; 65536];
        let _ = sock.read(&mut buf).await.unwrap();
        let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"late\"}}]}\n\n\
                    data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        sock.write_all(resp.as_bytes()).await.unwrap();
        sock.shutdown().await.unwrap();
    });
    let start = Instant::now();
    let mut stream = llm.chat(hello()).await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(80));
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        ChatChunk::text("late")
    );
    server.await.unwrap();

    // and with nobody ever listening the error is a retryable connection error
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let llm = OpenAiLlm::builder()
        .api_key("sk-test")
        .base_url(format!("http://{addr}/v1"))
        .connect_options(fast())
        .build()
        .unwrap();
    let err = llm.chat(hello()).await.err().unwrap();
    assert_eq!(err.kind(), &ErrorKind::Connection);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn malformed_chunk_is_a_protocol_error_after_the_text() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Chat(
        ChatReply::text(["one ", "two ", "three"]).with_fault(2, ChatFault::Malformed),
    ));
    let c = collect(&llm(&emu), hello()).await.unwrap();
    assert_eq!(c.text, "one two ");
    assert_eq!(c.error.unwrap().kind(), &ErrorKind::Protocol);
    assert_eq!(c.finish, None);
    assert_eq!(emu.requests_to("/chat/completions").len(), 1);
}

#[tokio::test]
async fn dropped_connection_is_a_retryable_error_after_the_text_and_not_retried() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Chat(
        ChatReply::text(["one ", "two ", "three"])
            .with_token_delay(Duration::from_millis(5))
            .with_fault(2, ChatFault::Drop),
    ));
    let c = collect(&llm(&emu), hello()).await.unwrap();
    assert_eq!(c.text, "one two ");
    let err = c.error.unwrap();
    assert_eq!(err.kind(), &ErrorKind::Connection, "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(emu.requests_to("/chat/completions").len(), 1);
}

#[tokio::test]
async fn stream_cut_before_the_end_is_an_error() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Chat(
        ChatReply::text(["one ", "two"]).with_fault(1, ChatFault::Truncate),
    ));
    let c = collect(&llm(&emu), hello()).await.unwrap();
    assert_eq!(c.text, "one ");
    assert_eq!(c.error.unwrap().kind(), &ErrorKind::Connection);
}

#[tokio::test]
async fn in_stream_error_event_follows_the_text() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Chat(
        ChatReply::text(["par", "tial", "never"]).with_fault(2, ChatFault::ErrorEvent),
    ));
    let c = collect(&llm(&emu), hello()).await.unwrap();
    assert_eq!(c.text, "partial");
    let err = c.error.unwrap();
    assert_eq!(err.status(), Some(500));
    assert_eq!(
        err.provider_message(),
        Some("The server had an error while processing your request. Sorry about that!")
    );
    assert_eq!(emu.requests_to("/chat/completions").len(), 1);
}

#[tokio::test]
async fn dropping_the_stream_closes_the_connection() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Chat(
        ChatReply::numbered(500).with_token_delay(Duration::from_millis(10)),
    ));
    let llm = llm(&emu);
    let mut stream = llm.chat(hello()).await.unwrap();
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        ChatChunk::text("t0 ")
    );
    assert_eq!(
        stream.next().await.unwrap().unwrap(),
        ChatChunk::text("t1 ")
    );
    drop(stream);
    let start = Instant::now();
    while emu.client_disconnects() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "the emulator never saw the connection close"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn missing_key_names_the_variable() {
    if std::env::var("OPENAI_API_KEY").is_ok() {
        return; // the variable is set in this environment; nothing to check
    }
    let err = OpenAiLlm::builder().build().unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::Auth);
    assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");
    let err = OpenAiLlm::from_env().unwrap_err();
    assert!(err.to_string().contains("OPENAI_API_KEY"));
    use agents_core::plugin::{Plugin, ProviderConfig};
    let err = agents_plugin_openai::OpenAiPlugin
        .build_llm(&ProviderConfig::new("openai"))
        .err()
        .unwrap();
    assert!(err.to_string().contains("OPENAI_API_KEY"));
}

#[tokio::test]
async fn debug_never_shows_the_key() {
    let llm = OpenAiLlm::builder()
        .api_key("sk-very-secret-123")
        .base_url("http://127.0.0.1:9/v1")
        .build()
        .unwrap();
    let text = format!("{llm:?}");
    assert!(!text.contains("sk-very-secret-123"), "{text}");
    assert!(text.contains("redacted"), "{text}");
}

#[tokio::test]
async fn plugin_builds_from_config_and_rejects_unknown_options() {
    use agents_core::plugin::{Plugin, ProviderConfig};
    let emu = OpenAiEmulator::start().await.unwrap();
    let cfg = ProviderConfig::new("openai")
        .with_api_key("sk-test")
        .with_base_url(emu.base_url())
        .with_model("llama3.2")
        .with_header("X-Custom", "1")
        .with_option("max_tokens_field", "max_tokens")
        .with_connect_options(fast());
    let llm = agents_plugin_openai::OpenAiPlugin.build_llm(&cfg).unwrap();
    assert_eq!(llm.info().model, "llama3.2");
    let mut stream = llm.chat(hello().with_max_tokens(5)).await.unwrap();
    while stream.next().await.is_some() {}
    let r = &emu.requests_to("/chat/completions")[0];
    assert_eq!(r.header("x-custom"), Some("1"));
    assert_eq!(r.json().unwrap()["max_tokens"], 5);
    let err = agents_plugin_openai::OpenAiPlugin
        .build_llm(&cfg.clone().with_option("temprature", 0.3))
        .err()
        .unwrap();
    assert_eq!(err.kind(), &ErrorKind::InvalidInput);
    assert!(err.to_string().contains("temprature"));
}

#[tokio::test]
async fn a_stalled_stream_times_out() {
    let emu = OpenAiEmulator::start().await.unwrap();
    emu.push(Reply::Chat(
        ChatReply::text(["slow", "er"]).with_token_delay(Duration::from_millis(600)),
    ));
    let llm = OpenAiLlm::builder()
        .api_key("sk-test")
        .base_url(emu.base_url())
        .connect_options(fast())
        .read_timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let c = collect(&llm, hello()).await.unwrap();
    let err = c.error.unwrap();
    assert_eq!(err.kind(), &ErrorKind::Timeout, "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(emu.requests_to("/chat/completions").len(), 1);
}
