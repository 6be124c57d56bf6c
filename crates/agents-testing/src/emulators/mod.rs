//! Local emulators of provider wire protocols, each started on 127.0.0.1 port 0 from a test,
//! with knobs for the faults real providers produce.

pub mod deepgram;
pub mod elevenlabs;
pub mod openai;
pub mod openai_realtime;
pub mod server;

pub use server::{
    ChunkedBody, EmulatorServer, Handler, HttpConnection, HttpRequest, HttpResponse,
    UpgradeDecision,
};
