//! Text chat with a typed tool: the schema comes from the argument struct, the core runs the
//! call and feeds the result back to the model.
//!
//! `cargo run -p agents-examples --example text_chat_tools`

use std::sync::Arc;

use agents_core::{Result, ToolCall, ToolRegistry};
use agents_plugin_mock::{MockLlm, MockReply};
use agents_runtime::AgentSession;
use serde::Deserialize;

/// Arguments of `get_weather`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
struct WeatherArgs {
    /// The city, e.g. "Paris".
    city: String,
}

#[tokio::main]
async fn main() -> Result<()> {
    let tools = ToolRegistry::new().with_fn(
        "get_weather",
        "The current weather in a city",
        |args: WeatherArgs| async move {
            Ok(serde_json::json!({ "city": args.city, "temperature_c": 21, "conditions": "sunny" }))
        },
    )?;
    println!(
        "tool schema: {}",
        serde_json::to_string(&tools.definitions()[0].parameters)?
    );

    // A scripted model: first it calls the tool, then it answers.
    let llm = MockLlm::builder()
        .reply(MockReply::tool_call(ToolCall::new(
            "call_1",
            "get_weather",
            r#"{"city":"Paris"}"#,
        )))
        .reply(MockReply::text("It is 21 degrees and sunny in Paris."))
        .build()?;
    let session = AgentSession::builder()
        .instructions("Answer briefly.")
        .llm(Arc::new(llm))
        .tools(tools)
        .build()?;
    let reply = session.chat("What's the weather in Paris?").await?;
    println!("agent: {reply}");
    for m in session.history().messages() {
        println!("  {:?}: {}", m.role, m.text());
    }
    Ok(())
}
