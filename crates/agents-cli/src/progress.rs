//! A progress display on stderr: a spinner on a terminal, plain lines otherwise.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Shows what the command is doing.
pub(crate) struct Progress {
    state: Arc<Mutex<State>>,
    ticker: Option<tokio::task::JoinHandle<()>>,
    quiet: bool,
}

struct State {
    message: String,
    started: Instant,
    tty: bool,
}

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

impl Progress {
    /// A display; `quiet` prints nothing (for `--json`).
    pub(crate) fn new(quiet: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let state = Arc::new(Mutex::new(State {
            message: String::new(),
            started: Instant::now(),
            tty,
        }));
        let ticker = (tty && !quiet).then(|| {
            let state = state.clone();
            tokio::spawn(async move {
                let mut i = 0usize;
                loop {
                    tokio::time::sleep(Duration::from_millis(80)).await;
                    i += 1;
                    if let Ok(s) = state.lock() {
                        if !s.message.is_empty() {
                            eprint!(
                                "\r\x1b[2K{} {} ({:.1} s)",
                                FRAMES[i % FRAMES.len()],
                                s.message,
                                s.started.elapsed().as_secs_f64()
                            );
                            let _ = std::io::stderr().flush();
                        }
                    }
                }
            })
        });
        Progress {
            state,
            ticker,
            quiet,
        }
    }

    /// Starts a step.
    pub(crate) fn step(&self, message: impl Into<String>) {
        if self.quiet {
            return;
        }
        let message = message.into();
        if let Ok(mut s) = self.state.lock() {
            if s.tty {
                eprint!("\r\x1b[2K");
            } else {
                eprintln!("... {message}");
            }
            s.message = message;
        }
    }

    /// Ends the display.
    pub(crate) fn finish(mut self) {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
        if let Ok(s) = self.state.lock() {
            if s.tty && !self.quiet {
                eprint!("\r\x1b[2K");
                let _ = std::io::stderr().flush();
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
    }
}
