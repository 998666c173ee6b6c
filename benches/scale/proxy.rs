//! A loopback HTTP proxy in front of LocalStack that counts every request by its action
//! (`Action=` of the IAM, STS and EC2 query protocols), can record the decoded parameters of
//! each request, and can hold every request for a fixed delay before passing it on.
//!
//! The delay stands in for the round trip to IAM's global endpoint: LocalStack answers on
//! loopback in about 6 ms, a real account in tens of milliseconds. Each request is held on its
//! own connection, so requests in flight at once wait at once, as on a real network.
//! HTTP/1.1 without pipelining keeps requests and responses in step on a connection, so the
//! responses are copied back as they come, unparsed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The decoded form parameters of one request, in the order sent.
pub type Params = Vec<(String, String)>;

#[derive(Default)]
struct State {
    counts: BTreeMap<String, u64>,
    /// Some while recording.
    records: Option<Vec<Params>>,
}

pub struct Proxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream` (`http://host:port`),
    /// holding each request for `delay` first.
    pub async fn start(upstream: &str, delay: Duration) -> std::io::Result<Proxy> {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let _ = client.set_nodelay(true);
                let upstream = upstream.clone();
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, delay, state).await;
                });
            }
        });
        Ok(Proxy { endpoint, state })
    }

    /// The requests counted since the last call, by action; the count starts again.
    pub fn take_counts(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut self.state.lock().expect("proxy state").counts)
    }

    /// Starts recording each request's parameters (and forgets earlier records).
    pub fn start_recording(&self) {
        self.state.lock().expect("proxy state").records = Some(Vec::new());
    }

    /// The requests recorded since `start_recording`; recording stops.
    pub fn take_records(&self) -> Vec<Params> {
        self.state
            .lock()
            .expect("proxy state")
            .records
            .take()
            .unwrap_or_default()
    }
}

async fn serve(
    client: TcpStream,
    upstream: &str,
    delay: Duration,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    server.set_nodelay(true)?;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();

    let responses = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = server_read.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            client_write.write_all(&buf[..n]).await?;
        }
        client_write.shutdown().await
    });

    let mut pending = Vec::new();
    while let Some((head, body)) = read_request(&mut client_read, &mut pending).await? {
        let params = decode_form(&body);
        let action = params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "(no action)".to_string());
        {
            let mut s = state.lock().expect("proxy state");
            *s.counts.entry(action).or_default() += 1;
            if let Some(records) = &mut s.records {
                records.push(params);
            }
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        server_write.write_all(&head).await?;
        server_write.write_all(&body).await?;
    }
    drop(server_write);
    let _ = responses.await;
    Ok(())
}

/// One request: its head (request line and headers) and its body, by Content-Length.
async fn read_request(
    reader: &mut tokio::net::tcp::OwnedReadHalf,
    pending: &mut Vec<u8>,
) -> std::io::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        pending.extend_from_slice(&buf[..n]);
    };
    let head: Vec<u8> = pending.drain(..head_end).collect();
    let length = content_length(&head);
    while pending.len() < length {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        pending.extend_from_slice(&buf[..n]);
    }
    let body: Vec<u8> = pending.drain(..length).collect();
    Ok(Some((head, body)))
}

fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0)
}

/// `application/x-www-form-urlencoded` into (name, value) pairs.
fn decode_form(body: &[u8]) -> Params {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}
