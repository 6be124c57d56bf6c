//! Printing a session report for people.

use std::time::Duration;

use agents_runtime::SessionReport;

fn ms(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.0} ms", d.as_secs_f64() * 1000.0))
        .unwrap_or_else(|| "-".to_string())
}

/// Prints the turns, tool calls and timings.
pub(crate) fn print_report(report: &SessionReport) {
    for turn in &report.turns {
        println!();
        if !turn.user_text.is_empty() {
            println!("user:   {}", turn.user_text);
        }
        for call in &turn.tool_calls {
            let status = if call.is_error { "failed" } else { "ok" };
            println!(
                "tool:   {}({}) -> {} [{status}]",
                call.name, call.arguments, call.output
            );
        }
        let cut = if turn.interrupted {
            " [interrupted]"
        } else {
            ""
        };
        println!("agent:  {}{cut}", turn.agent_text);
        let m = &turn.metrics;
        println!(
            "timing: end of utterance {} | stt final {} | llm first token {} | tts first audio {} | voice-to-voice {}",
            ms(m.end_of_utterance_delay),
            ms(m.stt_final_delay),
            ms(m.llm_ttft),
            ms(m.tts_ttfb),
            ms(m.voice_to_voice),
        );
        println!(
            "usage:  {} prompt + {} completion tokens, {} characters, {:.2} s of audio",
            m.usage.prompt_tokens,
            m.usage.completion_tokens,
            m.characters,
            m.audio_duration.as_secs_f64()
        );
    }
    if !report.errors.is_empty() {
        println!();
        for e in &report.errors {
            println!("error:  {e}");
        }
    }
}
