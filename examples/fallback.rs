//! Fallback between two language models: the primary fails with a retryable error, the
//! backup answers, and the primary is probed in the background until it recovers.
//!
//! `cargo run -p agents-examples --example fallback`

use std::sync::Arc;
use std::time::Duration;

use agents_core::{ChatContext, ChatMessage, ChatRequest, Error, Llm, Result};
use agents_plugin_mock::{MockLlm, MockReply};
use agents_runtime::adapters::{FallbackEvent, FallbackLlm, FallbackOptions};

#[tokio::main]
async fn main() -> Result<()> {
    let primary = MockLlm::builder()
        .model("primary")
        .reply(MockReply::text("Answer from the primary."))
        .cycle(true)
        .fail_next(1, Error::provider_status(503, "overloaded"))
        .build()?;
    let backup = MockLlm::builder()
        .model("backup")
        .reply(MockReply::text("Answer from the backup."))
        .cycle(true)
        .build()?;
    let llm = FallbackLlm::new(
        vec![Arc::new(primary), Arc::new(backup)],
        FallbackOptions::default()
            .with_attempt_timeout(Duration::from_secs(5))
            .with_probe_interval(Duration::from_millis(200)),
    )?
    .with_listener(Arc::new(|event| match event {
        FallbackEvent::ProviderFailed { provider, error } => {
            println!("switched away from {provider}: {error}");
        }
        FallbackEvent::ProviderRecovered { provider } => println!("{provider} recovered"),
        _ => {}
    }))?;

    let mut ctx = ChatContext::new();
    ctx.push(ChatMessage::user("Hello?"));
    let first =
        agents_plugin_mock::collect_text(llm.chat(ChatRequest::new(ctx.clone())).await?).await?;
    println!("1st: {first}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let second = agents_plugin_mock::collect_text(llm.chat(ChatRequest::new(ctx)).await?).await?;
    println!("2nd: {second}");
    Ok(())
}
