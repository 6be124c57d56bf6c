//! A small HTTP/1.1 and WebSocket server on 127.0.0.1 that provider emulators build on.
//!
//! It is hand-written on purpose: fault injection needs control that a full server framework
//! hides (writing half an SSE event, dropping the TCP connection mid-body, rejecting a
//! WebSocket handshake with any status and headers, closing with any close code).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_util::sync::CancellationToken;

/// The largest request head or body the server reads.
const MAX_REQUEST: usize = 64 * 1024 * 1024;

/// A request as the emulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query (`/v1/chat/completions`).
    pub path: String,
    /// Query parameters in order, percent-decoded; repeated keys repeat.
    pub query: Vec<(String, String)>,
    /// Headers in order; names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first header named `name` (case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first query parameter named `name`.
    #[must_use]
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of query parameter `name`.
    #[must_use]
    pub fn query_params(&self, name: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The bearer token of the `Authorization` header, if any.
    #[must_use]
    pub fn bearer(&self) -> Option<&str> {
        self.header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
    }

    /// True when this is a WebSocket upgrade request.
    #[must_use]
    pub fn is_websocket_upgrade(&self) -> bool {
        self.header("upgrade")
            .map(|v| v.eq_ignore_ascii_case("websocket"))
            .unwrap_or(false)
    }
}

/// A response head and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with a status and a body.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// A JSON response.
    #[must_use]
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        HttpResponse::new(status, value.to_string()).with_header("content-type", "application/json")
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// One accepted connection's write side for HTTP responses.
#[derive(Debug)]
pub struct HttpConnection {
    stream: TcpStream,
    dropped: bool,
}

impl HttpConnection {
    /// Writes a whole response with `Content-Length`.
    pub async fn respond(&mut self, response: HttpResponse) -> std::io::Result<()> {
        let mut head = status_line(response.status);
        for (k, v) in &response.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", response.body.len()));
        self.stream.write_all(head.as_bytes()).await?;
        self.stream.write_all(&response.body).await?;
        self.stream.flush().await
    }

    /// Starts a chunked response; write the body with [`ChunkedBody::write`].
    pub async fn start_chunked(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
    ) -> std::io::Result<ChunkedBody<'_>> {
        let mut head = status_line(status);
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("transfer-encoding: chunked\r\n\r\n");
        self.stream.write_all(head.as_bytes()).await?;
        self.stream.flush().await?;
        Ok(ChunkedBody { conn: self })
    }

    /// Closes the TCP connection at once, without finishing any response.
    pub fn drop_connection(&mut self) {
        self.dropped = true;
    }
}

/// The body of a chunked response. Each [`ChunkedBody::write`] is sent as its own chunk and
/// flushed, so the client sees separate reads (the socket has `TCP_NODELAY`).
#[derive(Debug)]
pub struct ChunkedBody<'a> {
    conn: &'a mut HttpConnection,
}

impl ChunkedBody<'_> {
    /// Sends `data` as one chunk (nothing for empty data).
    pub async fn write(&mut self, data: &[u8]) -> std::io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let stream = &mut self.conn.stream;
        stream
            .write_all(format!("{:x}\r\n", data.len()).as_bytes())
            .await?;
        stream.write_all(data).await?;
        stream.write_all(b"\r\n").await?;
        stream.flush().await
    }

    /// Ends the body normally.
    pub async fn finish(self) -> std::io::Result<()> {
        self.conn.stream.write_all(b"0\r\n\r\n").await?;
        self.conn.stream.flush().await
    }

    /// Drops the connection mid-body: the client sees the connection close before the end.
    pub fn abort(self) {
        self.conn.dropped = true;
    }
}

/// What to do with a WebSocket upgrade request.
#[derive(Debug)]
#[non_exhaustive]
pub enum UpgradeDecision {
    /// Complete the handshake and hand the socket to [`Handler::handle_ws`].
    Accept,
    /// Refuse the handshake with this HTTP response (401, 429, ...).
    Reject(HttpResponse),
}

/// The behaviour of one emulated provider.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Answers one HTTP request. The connection stays open for the next request unless the
    /// handler drops it.
    async fn handle_http(&self, request: HttpRequest, conn: &mut HttpConnection);

    /// Decides whether to accept a WebSocket upgrade.
    async fn accept_ws(&self, request: &HttpRequest) -> UpgradeDecision {
        let _ = request;
        UpgradeDecision::Reject(HttpResponse::new(404, "no WebSocket endpoint here"))
    }

    /// Serves an accepted WebSocket.
    async fn handle_ws(&self, request: HttpRequest, ws: WebSocketStream<TcpStream>) {
        let _ = (request, ws);
    }
}

/// A running emulator on 127.0.0.1 with a port chosen by the system. Dropping it stops
/// accepting and closes every connection.
#[derive(Debug)]
pub struct EmulatorServer {
    addr: SocketAddr,
    shutdown: CancellationToken,
    requests: Arc<Mutex<Vec<HttpRequest>>>,
}

impl EmulatorServer {
    /// Binds 127.0.0.1:0 and serves `handler`.
    pub async fn start(handler: Arc<dyn Handler>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let token = shutdown.clone();
        let log = requests.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = token.cancelled() => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let _ = stream.set_nodelay(true);
                        let handler = handler.clone();
                        let token = token.clone();
                        let log = log.clone();
                        tokio::spawn(async move {
                            tokio::select! {
                                _ = token.cancelled() => {}
                                _ = serve_connection(stream, handler, log) => {}
                            }
                        });
                    }
                }
            }
        });
        Ok(EmulatorServer {
            addr,
            shutdown,
            requests,
        })
    }

    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:<port>`.
    #[must_use]
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Every request received so far (HTTP and WebSocket handshakes), oldest first.
    #[must_use]
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Stops the server and closes its connections.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }
}

impl Drop for EmulatorServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn serve_connection(
    mut stream: TcpStream,
    handler: Arc<dyn Handler>,
    log: Arc<Mutex<Vec<HttpRequest>>>,
) {
    let mut buf = Vec::with_capacity(8192);
    loop {
        let request = match read_request(&mut stream, &mut buf).await {
            Ok(Some(r)) => r,
            _ => return,
        };
        if let Ok(mut l) = log.lock() {
            l.push(request.clone());
        }
        if request.is_websocket_upgrade() {
            let mut conn = HttpConnection {
                stream,
                dropped: false,
            };
            match handler.accept_ws(&request).await {
                UpgradeDecision::Reject(response) => {
                    let _ = conn.respond(response).await;
                    return;
                }
                UpgradeDecision::Accept => {
                    let Some(key) = request.header("sec-websocket-key") else {
                        let _ = conn
                            .respond(HttpResponse::new(400, "missing sec-websocket-key"))
                            .await;
                        return;
                    };
                    let head = format!(
                        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: {}\r\n\r\n",
                        derive_accept_key(key.as_bytes())
                    );
                    if conn.stream.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    // A 16 KiB read buffer: tungstenite zeroes the whole buffer (128 KiB by
                    // default) on every read, which made the emulators CPU-bound under load.
                    let config =
                        tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                            .read_buffer_size(16 * 1024);
                    let ws =
                        WebSocketStream::from_raw_socket(conn.stream, Role::Server, Some(config))
                            .await;
                    handler.handle_ws(request, ws).await;
                    return;
                }
            }
        }
        let close = request
            .header("connection")
            .map(|v| v.eq_ignore_ascii_case("close"))
            .unwrap_or(false);
        let mut conn = HttpConnection {
            stream,
            dropped: false,
        };
        handler.handle_http(request, &mut conn).await;
        if conn.dropped || close {
            let _ = conn.stream.shutdown().await;
            return;
        }
        stream = conn.stream;
    }
}

/// Reads one request; `Ok(None)` on a clean EOF between requests.
async fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<HttpRequest>> {
    let head_end = loop {
        if let Some(pos) = find(buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_REQUEST {
            return Err(std::io::Error::other("request head too large"));
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), parse_query(q)),
        None => (target, Vec::new()),
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let body = if header("transfer-encoding")
        .map(|v| v.eq_ignore_ascii_case("chunked"))
        .unwrap_or(false)
    {
        read_chunked(stream, buf).await?
    } else {
        let len: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if len > MAX_REQUEST {
            return Err(std::io::Error::other("request body too large"));
        }
        fill(stream, buf, len).await?;
        buf.drain(..len).collect()
    };
    Ok(Some(HttpRequest {
        method,
        path,
        query,
        headers,
        body,
    }))
}

async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, len: usize) -> std::io::Result<()> {
    while buf.len() < len {
        let mut chunk = [0u8; 16384];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(())
}

async fn read_chunked(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(pos) = find(buf, b"\r\n") {
                break pos;
            }
            let have = buf.len();
            fill(stream, buf, have + 1).await?;
        };
        let size_text = String::from_utf8_lossy(&buf[..line_end]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| std::io::Error::other("bad chunk size"))?;
        buf.drain(..line_end + 2);
        fill(stream, buf, size + 2).await?;
        body.extend(buf.drain(..size));
        buf.drain(..2);
        if size == 0 {
            return Ok(body);
        }
        if body.len() > MAX_REQUEST {
            return Err(std::io::Error::other("request body too large"));
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Decodes `%XX` escapes and `+` as space.
#[must_use]
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                if let Ok(v) = u8::from_str_radix(hex, 16) {
                    out.push(v);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

fn status_line(status: u16) -> String {
    let reason = match status {
        200 => "OK",
        101 => "Switching Protocols",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    };
    format!("HTTP/1.1 {status} {reason}\r\n")
}

/// Sleeps for `delay` unless it is zero (keeps zero-delay paths free of timer work).
pub async fn pause(delay: Duration) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;

    #[async_trait]
    impl Handler for Echo {
        async fn handle_http(&self, request: HttpRequest, conn: &mut HttpConnection) {
            if request.path == "/chunked" {
                let Ok(mut body) = conn
                    .start_chunked(200, &[("content-type", "text/plain")])
                    .await
                else {
                    return;
                };
                let _ = body.write(b"hel").await;
                let _ = body.write(b"lo").await;
                let _ = body.finish().await;
                return;
            }
            let text = format!(
                "{} {} q={:?} body={}",
                request.method,
                request.path,
                request.query_param("a"),
                String::from_utf8_lossy(&request.body)
            );
            let _ = conn.respond(HttpResponse::new(200, text)).await;
        }
    }

    async fn raw(addr: SocketAddr, request: &str) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).to_string()
    }

    #[tokio::test]
    async fn serves_requests_and_logs_them() {
        let server = EmulatorServer::start(Arc::new(Echo)).await.unwrap();
        let out = raw(
            server.addr(),
            "POST /x?a=b%20c HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi",
        )
        .await;
        assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
        assert!(out.ends_with("POST /x q=Some(\"b c\") body=hi"), "{out}");
        let out = raw(
            server.addr(),
            "POST /x HTTP/1.1\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        )
        .await;
        assert!(out.ends_with("body=abc"), "{out}");
        let out = raw(
            server.addr(),
            "GET /chunked HTTP/1.1\r\nconnection: close\r\n\r\n",
        )
        .await;
        assert!(out.contains("3\r\nhel\r\n2\r\nlo\r\n0\r\n\r\n"), "{out}");
        assert_eq!(server.requests().len(), 3);
        assert_eq!(percent_decode("a%2Fb+c%"), "a/b c%");
    }

    #[tokio::test]
    async fn rejects_websocket_by_default() {
        let server = EmulatorServer::start(Arc::new(Echo)).await.unwrap();
        let err = tokio_tungstenite::connect_async(format!("{}/ws", server.ws_url()))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("404"), "{err}");
    }
}
