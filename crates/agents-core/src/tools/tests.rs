use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::stream;
use serde::Deserialize;
use serde_json::json;

use super::*;
use crate::provider::ProviderInfo;
use crate::types::ChatRole;
use crate::{ChatStream, ErrorKind};

/// An LLM that answers each request with the next canned chunk sequence and records requests.
struct ScriptedLlm {
    script: Mutex<VecDeque<Vec<ChatChunk>>>,
    requests: Mutex<Vec<ChatRequest>>,
}

impl ScriptedLlm {
    fn new(script: Vec<Vec<ChatChunk>>) -> Self {
        ScriptedLlm {
            script: Mutex::new(script.into()),
            requests: Mutex::new(Vec::new()),
        }
    }

    fn requests(&self) -> Vec<ChatRequest> {
        self.requests.lock().unwrap().clone()
    }
}

#[async_trait]
impl Llm for ScriptedLlm {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("scripted", "test")
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
        self.requests.lock().unwrap().push(request);
        let chunks = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .ok_or_else(|| Error::protocol("script exhausted"))?;
        Ok(stream::iter(chunks.into_iter().map(Ok)).boxed())
    }
}

fn call(id: &str, name: &str, args: &str) -> ChatChunk {
    ChatChunk::ToolCall {
        call: ToolCall::new(id, name, args),
    }
}

fn usage(p: u32, c: u32) -> ChatChunk {
    ChatChunk::Usage {
        usage: TokenUsage {
            prompt_tokens: p,
            completion_tokens: c,
            cached_tokens: 0,
            total_tokens: p + c,
        },
    }
}

fn finish(reason: FinishReason) -> ChatChunk {
    ChatChunk::Finish { reason }
}

#[derive(Deserialize, schemars::JsonSchema)]
struct CityArgs {
    /// The city.
    city: String,
}

#[derive(Deserialize, schemars::JsonSchema)]
struct SleepArgs {
    ms: u64,
}

fn registry(counter: Arc<AtomicUsize>) -> ToolRegistry {
    let mut tools = ToolRegistry::new();
    let c = Arc::clone(&counter);
    tools
        .register_fn("weather", "Weather in a city", move |a: CityArgs| {
            c.fetch_add(1, Ordering::SeqCst);
            async move {
                if a.city == "Atlantis" {
                    Err(Error::invalid_input("unknown city `Atlantis`"))
                } else {
                    Ok(json!({ "city": a.city, "sky": "sunny" }))
                }
            }
        })
        .unwrap();
    tools
        .register_fn("sleep", "Sleeps", |a: SleepArgs| async move {
            tokio::time::sleep(Duration::from_millis(a.ms)).await;
            Result::Ok(format!("slept {}", a.ms))
        })
        .unwrap();
    tools
}

fn user_request(text: &str) -> ChatRequest {
    let mut ctx = ChatContext::new().with_system("sys");
    ctx.push(ChatMessage::user(text));
    ChatRequest::new(ctx)
}

#[tokio::test]
async fn two_rounds_then_final_answer() {
    let llm = ScriptedLlm::new(vec![
        vec![
            ChatChunk::text("Let me check. "),
            call("c1", "weather", r#"{"city":"Paris"}"#),
            usage(10, 5),
            finish(FinishReason::ToolCalls),
        ],
        vec![
            call("c2", "weather", r#"{"city":"Rome"}"#),
            usage(20, 5),
            finish(FinishReason::ToolCalls),
        ],
        vec![
            ChatChunk::text("Sunny in "),
            ChatChunk::text("both."),
            usage(30, 4),
            finish(FinishReason::Stop),
        ],
    ]);
    let counter = Arc::new(AtomicUsize::new(0));
    let tools = registry(Arc::clone(&counter));
    let outcome = run_tool_loop(
        &llm,
        user_request("weather?"),
        &tools,
        ToolLoopOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(outcome.text, "Sunny in both.");
    assert_eq!(outcome.rounds, 3);
    assert!(outcome.is_answered());
    assert_eq!(outcome.finish_reason, Some(FinishReason::Stop));
    assert_eq!(outcome.usage.prompt_tokens, 60);
    assert_eq!(outcome.usage.completion_tokens, 14);
    assert_eq!(outcome.usage.total_tokens, 74);
    assert_eq!(outcome.tool_results.len(), 2);
    assert_eq!(counter.load(Ordering::SeqCst), 2);
    let first: Value = serde_json::from_str(&outcome.tool_results[0].output).unwrap();
    assert_eq!(first["city"], "Paris");

    let roles: Vec<ChatRole> = outcome.context.messages().iter().map(|m| m.role).collect();
    use ChatRole::*;
    assert_eq!(
        roles,
        vec![System, User, Assistant, Tool, Assistant, Tool, Assistant]
    );
    let m = &outcome.context.messages()[2];
    assert_eq!(m.text(), "Let me check. ");
    assert_eq!(m.tool_calls[0].id, "c1");
    assert_eq!(
        outcome.context.messages()[3].tool_call_id.as_deref(),
        Some("c1")
    );

    let requests = llm.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].tools.len(), 2);
    assert!(!requests[0].tools[0].strict);
    assert_eq!(requests[1].context.len(), 4);
    assert_eq!(requests[2].context.len(), 6);
}

#[tokio::test(start_paused = true)]
async fn calls_run_concurrently() {
    let tools = registry(Arc::new(AtomicUsize::new(0)));
    let calls = [
        ToolCall::new("a", "sleep", r#"{"ms":1000}"#),
        ToolCall::new("b", "sleep", r#"{"ms":1000, "x": 1}"#),
        ToolCall::new("c", "sleep", r#"{"ms":999}"#),
    ];
    let start = tokio::time::Instant::now();
    let results = run_tool_calls(&tools, &calls, &ToolCallOptions::default()).await;
    let elapsed = start.elapsed();
    assert!(elapsed < Duration::from_millis(1100), "{elapsed:?}");
    assert!(elapsed >= Duration::from_millis(1000), "{elapsed:?}");
    assert_eq!(results.len(), 3);
    assert!(results.iter().all(|r| !r.is_error), "{results:?}");
    assert_eq!(results[0].call_id, "a");
    assert_eq!(results[2].output, "slept 999");
    assert!(results[0].duration >= Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn per_call_timeout() {
    let tools = registry(Arc::new(AtomicUsize::new(0)));
    let calls = [
        ToolCall::new("slow", "sleep", r#"{"ms":60000}"#),
        ToolCall::new("fast", "sleep", r#"{"ms":10}"#),
    ];
    let opts = ToolCallOptions::default().with_timeout(Duration::from_millis(500));
    let start = tokio::time::Instant::now();
    let results = run_tool_calls(&tools, &calls, &opts).await;
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(results[0].is_error);
    assert_eq!(
        results[0].output,
        "error: tool `sleep` timed out after 500 ms"
    );
    assert!(!results[1].is_error);
}

#[tokio::test]
async fn duplicate_calls_run_once() {
    let counter = Arc::new(AtomicUsize::new(0));
    let tools = registry(Arc::clone(&counter));
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    let opts = ToolCallOptions::default().with_observer(move |e: &ToolEvent| {
        seen.lock().unwrap().push(e.clone());
    });
    let calls = [
        ToolCall::new("1", "weather", r#"{"city":"Paris"}"#),
        ToolCall::new("2", "weather", "{ \"city\" :  \"Paris\" }\n"),
        ToolCall::new("3", "weather", r#"{"city":"Rome"}"#),
    ];
    let results = run_tool_calls(&tools, &calls, &opts).await;
    assert_eq!(counter.load(Ordering::SeqCst), 2);
    assert_eq!(results.len(), 3);
    assert_eq!(results[1].call_id, "2");
    assert_eq!(results[1].duplicate_of.as_deref(), Some("1"));
    assert_eq!(results[1].output, results[0].output);
    assert_eq!(results[2].duplicate_of, None);
    let events = events.lock().unwrap();
    let started = events
        .iter()
        .filter(|e| matches!(e, ToolEvent::Started(_)))
        .count();
    assert_eq!(started, 2);
    assert_eq!(events.len(), 5);
}

#[tokio::test]
async fn key_order_does_not_defeat_dedup() {
    #[derive(Deserialize, schemars::JsonSchema)]
    struct Two {
        a: i32,
        b: i32,
    }
    let counter = Arc::new(AtomicUsize::new(0));
    let c = Arc::clone(&counter);
    let tools = ToolRegistry::new()
        .with_fn("sum", "Sum", move |t: Two| {
            c.fetch_add(1, Ordering::SeqCst);
            async move { Result::Ok(t.a + t.b) }
        })
        .unwrap();
    let calls = [
        ToolCall::new("1", "sum", r#"{"a":1,"b":2}"#),
        ToolCall::new("2", "sum", r#"{"b":2,"a":1}"#),
    ];
    let results = run_tool_calls(&tools, &calls, &ToolCallOptions::default()).await;
    assert_eq!(counter.load(Ordering::SeqCst), 1);
    assert_eq!(results[1].output, "3");
}

#[tokio::test]
async fn bad_arguments_and_unknown_tools_are_error_results() {
    let tools = registry(Arc::new(AtomicUsize::new(0)));
    let calls = [
        ToolCall::new("1", "weather", r#"{"city": "Paris""#),
        ToolCall::new("2", "weather", r#"{"town":"Paris"}"#),
        ToolCall::new("3", "forecast", r#"{}"#),
        ToolCall::new("4", "weather", r#"{"city":"Atlantis"}"#),
        ToolCall::new("5", "weather", r#"{"city": 5}"#),
    ];
    let r = run_tool_calls(&tools, &calls, &ToolCallOptions::default()).await;
    assert!(r.iter().all(|r| r.is_error), "{r:?}");
    assert!(r[0].output.contains("not valid JSON"), "{}", r[0].output);
    assert!(
        r[1].output.contains("missing field `city`"),
        "{}",
        r[1].output
    );
    assert!(r[1].output.contains("`weather`"), "{}", r[1].output);
    assert!(r[2].output.contains("no tool named `forecast`"));
    assert!(r[2].output.contains("weather, sleep"), "{}", r[2].output);
    assert!(
        r[3].output.contains("unknown city `Atlantis`"),
        "{}",
        r[3].output
    );
    assert!(r[4].output.contains("invalid type"), "{}", r[4].output);
}

#[tokio::test]
async fn loop_continues_after_bad_calls() {
    let llm = ScriptedLlm::new(vec![
        vec![
            call("c1", "forecast", "{}"),
            call("c2", "weather", r#"{"town":"Paris"}"#),
        ],
        vec![call("c3", "weather", r#"{"city":"Paris"}"#)],
        vec![ChatChunk::text("Sunny."), finish(FinishReason::Stop)],
    ]);
    let tools = registry(Arc::new(AtomicUsize::new(0)));
    let outcome = run_tool_loop(&llm, user_request("w"), &tools, ToolLoopOptions::default())
        .await
        .unwrap();
    assert_eq!(outcome.text, "Sunny.");
    assert_eq!(outcome.rounds, 3);
    let errors: Vec<bool> = outcome.tool_results.iter().map(|r| r.is_error).collect();
    assert_eq!(errors, vec![true, true, false]);
    // the model saw the error text
    let second = &llm.requests()[1];
    assert!(
        second.context.messages()[3]
            .text()
            .contains("no tool named `forecast`")
    );
}

#[tokio::test]
async fn max_rounds_is_enforced() {
    let script = (0..10)
        .map(|i| vec![call(&format!("c{i}"), "weather", r#"{"city":"Paris"}"#)])
        .collect();
    let llm = ScriptedLlm::new(script);
    let tools = registry(Arc::new(AtomicUsize::new(0)));
    let outcome = run_tool_loop(
        &llm,
        user_request("w"),
        &tools,
        ToolLoopOptions::default().with_max_rounds(3),
    )
    .await
    .unwrap();
    assert_eq!(outcome.rounds, 3);
    assert_eq!(outcome.stop, LoopStop::MaxRounds);
    assert!(!outcome.is_answered());
    assert_eq!(llm.requests().len(), 3);
    assert_eq!(outcome.tool_results.len(), 3);
    // the history ends with a tool result, with no orphan call
    assert_eq!(outcome.context.last().unwrap().role, ChatRole::Tool);
}

#[tokio::test]
async fn llm_errors_end_the_loop() {
    let llm = ScriptedLlm::new(vec![]);
    let tools = registry(Arc::new(AtomicUsize::new(0)));
    let err = run_tool_loop(&llm, user_request("w"), &tools, ToolLoopOptions::default())
        .await
        .unwrap_err();
    assert_eq!(*err.kind(), ErrorKind::Protocol);
}

#[tokio::test]
async fn strict_option_sends_strict_definitions() {
    let llm = ScriptedLlm::new(vec![vec![ChatChunk::text("hi")]]);
    let tools = registry(Arc::new(AtomicUsize::new(0)));
    run_tool_loop(
        &llm,
        user_request("w"),
        &tools,
        ToolLoopOptions::default().with_strict(true),
    )
    .await
    .unwrap();
    let req = &llm.requests()[0];
    assert!(req.tools.iter().all(|t| t.strict));
    assert_eq!(req.tools[0].parameters["additionalProperties"], false);
}

#[tokio::test(start_paused = true)]
async fn loop_per_call_timeout() {
    let llm = ScriptedLlm::new(vec![
        vec![call("c1", "sleep", r#"{"ms": 5000}"#)],
        vec![ChatChunk::text("gave up")],
    ]);
    let tools = registry(Arc::new(AtomicUsize::new(0)));
    let outcome = run_tool_loop(
        &llm,
        user_request("w"),
        &tools,
        ToolLoopOptions::default().with_per_call_timeout(Duration::from_millis(100)),
    )
    .await
    .unwrap();
    assert_eq!(
        outcome.tool_results[0].output,
        "error: tool `sleep` timed out after 100 ms"
    );
    assert_eq!(outcome.text, "gave up");
}

#[derive(Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Address {
    street: String,
    zip: Option<String>,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Order {
    /// Items.
    items: Vec<Item>,
    address: Address,
    billing: Option<Address>,
    note: Option<String>,
    #[serde(default)]
    count: u32,
}

#[derive(Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Item {
    sku: String,
    qty: Option<u32>,
}

fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap();
        return &root["$defs"][name];
    }
    schema
}

/// Checks every object schema reachable from `schema` is strict.
fn assert_strict_everywhere(value: &Value, count: &mut usize) {
    match value {
        Value::Object(map) => {
            if map.get("type") == Some(&json!("object")) || map.contains_key("properties") {
                *count += 1;
                assert_eq!(map["additionalProperties"], json!(false), "{value}");
                let props: Vec<&String> = map["properties"].as_object().unwrap().keys().collect();
                let required: Vec<&str> = map["required"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap())
                    .collect();
                assert_eq!(props.len(), required.len(), "{value}");
                assert!(props.iter().all(|p| required.contains(&p.as_str())));
            }
            for (k, v) in map {
                if k != "enum" && k != "const" && k != "default" {
                    assert_strict_everywhere(v, count);
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|v| assert_strict_everywhere(v, count)),
        _ => {}
    }
}

#[test]
fn schema_is_clean_object() {
    let schema = schema_for::<Order>();
    assert_eq!(schema["type"], "object");
    assert!(schema.get("$schema").is_none());
    assert!(schema.get("title").is_none());
    assert_eq!(schema["properties"]["items"]["description"], "Items.");
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(required.contains(&"items") && required.contains(&"address"));
    assert!(!required.contains(&"note") && !required.contains(&"count"));
    assert!(schema.get("$defs").is_some());
}

#[test]
fn strict_schema_recurses() {
    let tools = ToolRegistry::new()
        .with_fn("order", "Orders", |_: Order| async { Result::Ok("ok") })
        .unwrap();
    let def = &tools.strict_definitions()[0];
    assert!(def.strict);
    let s = &def.parameters;
    let mut objects = 0;
    assert_strict_everywhere(s, &mut objects);
    assert_eq!(objects, 3, "Order, Address and Item: {s}"); // Address and Item under $defs
    // Option fields are nullable, defaulted fields too
    assert!(accepts_null(&s["properties"]["note"]));
    assert!(accepts_null(&s["properties"]["billing"]));
    assert!(accepts_null(&s["properties"]["count"]));
    assert!(!accepts_null(&s["properties"]["address"]));
    let item = resolve(s, &s["properties"]["items"]["items"]);
    assert!(accepts_null(&item["properties"]["qty"]));
    assert!(!accepts_null(&item["properties"]["sku"]));
    // the non-strict variant is untouched
    let plain = &tools.definitions()[0];
    assert!(!plain.strict);
    assert!(plain.parameters.get("additionalProperties").is_none());
}

#[tokio::test]
async fn strict_nulls_are_accepted_for_defaulted_fields() {
    let tools = ToolRegistry::new()
        .with_fn("order", "Orders", |o: Order| async move {
            Result::Ok(format!("{} {}", o.items.len(), o.count))
        })
        .unwrap();
    let args = json!({
        "items": [{"sku": "x", "qty": null}],
        "address": {"street": "Main", "zip": null},
        "billing": null, "note": null, "count": null
    });
    let calls = [ToolCall::new("1", "order", args.to_string())];
    let r = run_tool_calls(&tools, &calls, &ToolCallOptions::default()).await;
    assert!(!r[0].is_error, "{}", r[0].output);
    assert_eq!(r[0].output, "1 0");
}

#[test]
fn nested_inline_objects_become_strict() {
    let s = strict_schema(&json!({
        "type": "object",
        "properties": {
            "inner": {
                "type": "object",
                "properties": { "x": {"type": "integer"}, "y": {"enum": ["a", "b"]} },
                "required": ["x"]
            },
            "list": { "type": "array", "items": { "type": "object", "properties": {"z": {"type": "string"}} } }
        }
    }));
    let mut objects = 0;
    assert_strict_everywhere(&s, &mut objects);
    assert_eq!(objects, 3);
    assert_eq!(
        s["properties"]["inner"]["properties"]["y"],
        json!({"anyOf": [{"enum": ["a", "b"]}, {"type": "null"}]})
    );
    assert_eq!(
        s["properties"]["list"]["items"]["properties"]["z"]["type"],
        json!(["string", "null"])
    );
}

#[test]
fn registration_errors() {
    let mut tools = registry(Arc::new(AtomicUsize::new(0)));
    let err = tools
        .register_fn("weather", "dup", |_: CityArgs| async { Result::Ok(1) })
        .unwrap_err();
    assert!(err.to_string().contains("`weather` is already registered"));
    let err = tools
        .register_fn("bad name", "x", |_: CityArgs| async { Result::Ok(1) })
        .unwrap_err();
    assert!(err.to_string().contains("invalid tool name `bad name`"));
    let err = tools
        .register_fn("num", "x", |_: u32| async { Result::Ok(1) })
        .unwrap_err();
    assert!(err.to_string().contains("must be a struct"), "{err}");
    assert_eq!(tools.len(), 2);
    // clones are snapshots
    let snapshot = tools.clone();
    tools
        .register_fn("third", "x", |_: CityArgs| async { Result::Ok(1) })
        .unwrap();
    assert_eq!(snapshot.len(), 2);
    assert_eq!(tools.names(), vec!["weather", "sleep", "third"]);
}

#[tokio::test]
async fn panicking_tool_is_an_error_result() {
    let tools = ToolRegistry::new()
        .with_fn("boom", "Panics", |_: CityArgs| async {
            if true {
                panic!("boom");
            }
            Result::Ok(1)
        })
        .unwrap();
    let r = run_tool_calls(
        &tools,
        &[ToolCall::new("1", "boom", r#"{"city":"x"}"#)],
        &ToolCallOptions::default(),
    )
    .await;
    assert!(r[0].is_error);
    assert!(r[0].output.contains("`boom` failed"));
}

#[tokio::test]
async fn empty_arguments_mean_an_empty_object() {
    #[derive(Deserialize, schemars::JsonSchema)]
    struct NoArgs {}
    let tools = ToolRegistry::new()
        .with_fn("ping", "Ping", |_: NoArgs| async { Result::Ok("pong") })
        .unwrap();
    let r = run_tool_calls(
        &tools,
        &[ToolCall::new("1", "ping", "")],
        &ToolCallOptions::default(),
    )
    .await;
    assert_eq!(r[0].output, "pong");
    assert_eq!(tools.definitions()[0].parameters["properties"], json!({}));
}
