//! An HTTP proxy in front of LocalStack that records the IAM action of every request
//! rolecall sends, and can answer chosen actions with an AWS error instead of passing
//! them on. It is how the tests prove what was, and was not, sent. The scale bench
//! (benches/scale.rs) includes it too, to count requests by action, record their
//! parameters for replay, and hold each request as a network round trip would.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An injected failure: answer `action` with this AWS error, `times` times.
#[derive(Debug, Clone)]
pub struct Fault {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub times: usize,
}

/// The decoded form parameters of one request, in the order sent.
pub type Params = Vec<(String, String)>;

#[derive(Default)]
struct State {
    /// Every `chaos.0`-th request gets the next fault of `chaos.1`, in turn.
    chaos: Option<(usize, Vec<Fault>)>,
    seen: usize,
    /// Added before each request is passed on, like a network round trip.
    delay: std::time::Duration,
    /// Every `stall.0`-th request is passed on, but its answer is held for `stall.1`.
    stall: Option<(usize, std::time::Duration)>,
    /// action -> (how many more of its requests to pass on with the answer held, how long).
    stall_actions: HashMap<String, (usize, std::time::Duration)>,
    /// The actions of the requests whose answers were held.
    stalled: Vec<String>,
    actions: Vec<String>,
    /// The decoded body of each request, beside its action.
    bodies: Vec<String>,
    faults: HashMap<String, Fault>,
    /// action -> (a successful answer's XML body, how many more times to send it).
    answers: HashMap<String, (String, usize)>,
    /// Each request's parameters, while recording.
    records: Option<Vec<Params>>,
    /// IAM's account-wide request rate, when set: requests above it are answered `Throttling`.
    throttle: Option<TokenBucket>,
    /// How many requests were answered `Throttling` by `throttle` (not in `actions`).
    throttled: usize,
    /// Where requests are passed on to (`host:port`).
    upstream: String,
    /// GetAccountAuthorizationDetails paged by the proxy, as IAM pages it.
    paging: Option<Paging>,
    /// The role details the pages are cut from, and whether they may serve the next first
    /// page (taken by `prefetch_pages` and not yet used; a write through the proxy spoils them).
    role_details: Option<(Arc<RoleDetails>, bool)>,
}

/// A token bucket as IAM's rate limit is thought to be: `rate` tokens a second, holding at
/// most one second's worth, one taken by each request that is let through.
struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: std::time::Instant,
}

impl TokenBucket {
    fn new(rate: f64) -> TokenBucket {
        TokenBucket {
            rate,
            tokens: rate,
            last: std::time::Instant::now(),
        }
    }

    /// Whether a request arriving now is within the rate (and, if so, takes its token).
    fn admit(&mut self) -> bool {
        let now = std::time::Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.rate.max(1.0));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub struct RecordingProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

/// IAM's and EC2's read actions; anything else changes the account.
pub fn is_read(action: &str) -> bool {
    ["Get", "List", "Describe"]
        .iter()
        .any(|verb| action.starts_with(verb))
}

impl RecordingProxy {
    /// Listens on a free loopback port and forwards to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> RecordingProxy {
        RecordingProxy::start_with(upstream, false).await
    }

    /// Like [`RecordingProxy::start`], with Nagle's algorithm off on both sides of every
    /// connection, so that no small write waits for an acknowledgement: for the bench,
    /// which times round trips.
    pub async fn start_without_nagle(upstream: &str) -> RecordingProxy {
        RecordingProxy::start_with(upstream, true).await
    }

    async fn start_with(upstream: &str, no_nagle: bool) -> RecordingProxy {
        let upstream = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            upstream: upstream.clone(),
            ..State::default()
        }));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if no_nagle {
                    let _ = client.set_nodelay(true);
                }
                let upstream = upstream.clone();
                let state = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(client, &upstream, no_nagle, state).await;
                });
            }
        });
        RecordingProxy { endpoint, state }
    }

    /// Every action received so far, in order.
    pub fn actions(&self) -> Vec<String> {
        self.state.lock().unwrap().actions.clone()
    }

    /// The actions that write to the account.
    pub fn writes(&self) -> Vec<String> {
        self.actions().into_iter().filter(|a| !is_read(a)).collect()
    }

    /// The write requests whose parameters mention `name` (a role, policy or profile).
    pub fn writes_naming(&self, name: &str) -> Vec<String> {
        let s = self.state.lock().unwrap();
        s.actions
            .iter()
            .zip(&s.bodies)
            .filter(|(a, body)| {
                !is_read(a)
                    && body
                        .split('&')
                        .any(|kv| kv.split_once('=').is_some_and(|(_, v)| v == name))
            })
            .map(|(a, _)| a.clone())
            .collect()
    }

    /// Every write request: its action and its parameters.
    pub fn write_requests(&self) -> Vec<(String, HashMap<String, String>)> {
        let s = self.state.lock().unwrap();
        s.actions
            .iter()
            .zip(&s.bodies)
            .filter(|(a, _)| !is_read(a))
            .map(|(a, body)| {
                let params = body
                    .split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                (a.clone(), params)
            })
            .collect()
    }

    /// How many requests of `action` were received.
    pub fn requests(&self, action: &str) -> usize {
        self.state
            .lock()
            .unwrap()
            .actions
            .iter()
            .filter(|a| *a == action)
            .count()
    }

    /// How many requests of `action` had `param=value`.
    pub fn requests_with(&self, action: &str, param: &str, value: &str) -> usize {
        let wanted = format!("{param}={value}");
        let s = self.state.lock().unwrap();
        s.actions
            .iter()
            .zip(&s.bodies)
            .filter(|(a, body)| *a == action && body.split('&').any(|kv| kv == wanted))
            .count()
    }

    /// How many requests of `action` had a parameter `param`, whatever its value.
    pub fn requests_with_param(&self, action: &str, param: &str) -> usize {
        let wanted = format!("{param}=");
        let s = self.state.lock().unwrap();
        s.actions
            .iter()
            .zip(&s.bodies)
            .filter(|(a, body)| *a == action && body.split('&').any(|kv| kv.starts_with(&wanted)))
            .count()
    }

    pub fn clear(&self) {
        let mut s = self.state.lock().unwrap();
        s.actions.clear();
        s.bodies.clear();
    }

    /// The requests since the last [`RecordingProxy::clear`], counted by action; then
    /// clears, so that the count starts again.
    pub fn take_counts(&self) -> BTreeMap<String, u64> {
        let mut s = self.state.lock().unwrap();
        let mut counts = BTreeMap::new();
        for action in s.actions.drain(..) {
            *counts.entry(action).or_default() += 1;
        }
        s.bodies.clear();
        counts
    }

    /// Starts recording each request's parameters (and forgets earlier records).
    pub fn start_recording(&self) {
        self.state.lock().unwrap().records = Some(Vec::new());
    }

    /// The requests recorded since [`RecordingProxy::start_recording`]; recording stops.
    pub fn take_records(&self) -> Vec<Params> {
        self.state
            .lock()
            .unwrap()
            .records
            .take()
            .unwrap_or_default()
    }

    /// Fails every `every`-th request, whatever its action, with the faults in turn. A fault
    /// with status 0 drops the connection without answering, as a reset would.
    pub fn chaos(&self, every: usize, faults: Vec<Fault>) {
        self.state.lock().unwrap().chaos = Some((every, faults));
    }

    /// Passes every `every`-th request on (IAM acts on it) but holds its answer for `hold`,
    /// as a slow network does: a client that gives up sooner sees a timeout, not the answer.
    pub fn stall(&self, every: usize, hold: std::time::Duration) {
        self.state.lock().unwrap().stall = Some((every, hold));
    }

    /// Like `stall`, for the next `times` requests of `action` only.
    pub fn stall_action(&self, action: &str, times: usize, hold: std::time::Duration) {
        self.state
            .lock()
            .unwrap()
            .stall_actions
            .insert(action.to_string(), (times, hold));
    }

    /// The actions of the requests whose answers were held, in order.
    pub fn stalled(&self) -> Vec<String> {
        self.state.lock().unwrap().stalled.clone()
    }

    /// Holds every request this long before passing it on.
    pub fn delay(&self, delay: std::time::Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// Answers the next `times` requests for `action` with HTTP 200 and `xml`, without
    /// passing them on: an answer LocalStack never gives, such as a truncated page.
    pub fn answer(&self, action: &str, xml: &str, times: usize) {
        self.state
            .lock()
            .unwrap()
            .answers
            .insert(action.to_string(), (xml.to_string(), times));
    }

    /// Above `per_second` requests a second, over all connections, answers as IAM does when
    /// an account's rate is exceeded (HTTP 400, `Throttling`, "Rate exceeded"), after the
    /// configured delay, without passing the request on; bursts of up to one second's worth
    /// pass. Throttled requests are counted apart from `actions` (see `throttled`).
    pub fn throttle(&self, per_second: f64) {
        self.state.lock().unwrap().throttle = Some(TokenBucket::new(per_second));
    }

    /// How many requests were answered `Throttling` by `throttle`, and resets the count.
    pub fn take_throttled(&self) -> usize {
        std::mem::take(&mut self.state.lock().unwrap().throttled)
    }

    /// Pages GetAccountAuthorizationDetails (Filter=Role) as IAM does, which LocalStack
    /// does not: it answers everything at once whatever MaxItems says. See [`Paging`].
    pub fn page_role_details(&self, paging: Paging) {
        self.state.lock().unwrap().paging = Some(paging);
    }

    /// Reads every role's details from upstream now, for the next listing's pages to be cut
    /// from, so that LocalStack's own time to build them is not in the time measured next.
    /// Returns how many roles the account holds and how long LocalStack took.
    pub async fn prefetch_pages(&self) -> std::io::Result<(usize, std::time::Duration)> {
        let upstream = self.endpoint_upstream();
        let started = std::time::Instant::now();
        let details = Arc::new(fetch_role_details(&upstream).await?);
        let took = started.elapsed();
        let roles = details.members.len();
        self.state.lock().unwrap().role_details = Some((details, true));
        Ok((roles, took))
    }

    fn endpoint_upstream(&self) -> String {
        self.state.lock().unwrap().upstream.clone()
    }

    /// Answers the next `fault.times` requests for `action` with the fault.
    pub fn fail(&self, action: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .faults
            .insert(action.to_string(), fault);
    }
}

/// One client connection: requests are parsed and recorded on the way up, responses are
/// copied back as they come. HTTP/1.1 without pipelining keeps the two in step.
async fn serve(
    client: TcpStream,
    upstream: &str,
    no_nagle: bool,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    if no_nagle {
        server.set_nodelay(true)?;
    }
    let (mut client_read, client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let client_write = Arc::new(tokio::sync::Mutex::new(client_write));

    let back = client_write.clone();
    // Set when the request just passed on is one whose answer is to be held.
    let hold = Arc::new(Mutex::new(None::<std::time::Duration>));
    let held = hold.clone();
    let responses = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = server_read.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            let pause = held.lock().unwrap().take();
            if let Some(pause) = pause {
                tokio::time::sleep(pause).await;
            }
            back.lock().await.write_all(&buf[..n]).await?;
        }
        back.lock().await.shutdown().await
    });

    let mut pending = Vec::new();
    loop {
        let Some(request) = read_request(&mut client_read, &mut pending).await? else {
            break;
        };
        let action = action_of(&request.head, &request.body);
        let throttled = {
            let mut s = state.lock().unwrap();
            let over = s.throttle.as_mut().is_some_and(|bucket| !bucket.admit());
            s.throttled += usize::from(over);
            over
        };
        if throttled {
            let delay = state.lock().unwrap().delay;
            tokio::time::sleep(delay).await;
            let answer = canned_response(&Fault {
                status: 400,
                code: "Throttling".into(),
                message: "Rate exceeded".into(),
                times: 0,
            });
            client_write.lock().await.write_all(&answer).await?;
            continue;
        }
        let fault = {
            let mut s = state.lock().unwrap();
            if !is_read(&action) {
                if let Some((_, fresh)) = &mut s.role_details {
                    *fresh = false;
                }
            }
            s.actions.push(action.clone());
            s.bodies.push(decode_form(&request.body));
            if let Some(records) = &mut s.records {
                records.push(params_of(&request.body));
            }
            s.seen += 1;
            let seen = s.seen;
            let chaotic = s
                .chaos
                .as_ref()
                .filter(|(every, faults)| seen.is_multiple_of(*every) && !faults.is_empty())
                .map(|(every, faults)| faults[(seen / every) % faults.len()].clone());
            if let Some((xml, times)) = s.answers.get_mut(&action).filter(|(_, t)| *t > 0) {
                *times -= 1;
                Some(Fault {
                    status: 200,
                    code: String::new(),
                    message: xml.clone(),
                    times: 0,
                })
            } else {
                let fault = match (chaotic, s.faults.get_mut(&action)) {
                    (Some(f), _) => Some(f),
                    (None, Some(f)) if f.times > 0 => {
                        f.times -= 1;
                        Some(f.clone())
                    }
                    _ => None,
                };
                if fault.is_none() {
                    let by_rate = s
                        .stall
                        .filter(|(every, _)| seen.is_multiple_of(*every))
                        .map(|(_, pause)| pause);
                    let by_action = match s.stall_actions.get_mut(&action) {
                        Some((times, pause)) if *times > 0 => {
                            *times -= 1;
                            Some(*pause)
                        }
                        _ => None,
                    };
                    if let Some(pause) = by_action.or(by_rate) {
                        *hold.lock().unwrap() = Some(pause);
                        s.stalled.push(action.clone());
                    }
                }
                fault
            }
        };
        match fault {
            // A reset: the connection goes away with the request unanswered.
            Some(f) if f.status == 0 => return Ok(()),
            Some(f) => {
                client_write
                    .lock()
                    .await
                    .write_all(&canned_response(&f))
                    .await?
            }
            None if action == GAAD && pages_this(&state, &request.body) => {
                let page = role_details_page(upstream, &state, &request.body).await?;
                client_write.lock().await.write_all(&page).await?
            }
            None => {
                let delay = state.lock().unwrap().delay;
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                server_write.write_all(&request.head).await?;
                server_write.write_all(&request.body).await?;
            }
        }
    }
    drop(server_write);
    let _ = responses.await;
    Ok(())
}

struct Request {
    head: Vec<u8>,
    body: Vec<u8>,
}

async fn read_request(
    reader: &mut tokio::net::tcp::OwnedReadHalf,
    pending: &mut Vec<u8>,
) -> std::io::Result<Option<Request>> {
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(pending, b"\r\n\r\n") {
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
    Ok(Some(Request { head, body }))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0)
}

/// A form body with its values percent-decoded (`+` is a space).
fn decode_form(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body).replace('+', " ");
    text.split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => format!(
                "{k}={}",
                percent_encoding::percent_decode_str(v).decode_utf8_lossy()
            ),
            None => kv.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A form body as (name, value) pairs, both percent-decoded (`+` is a space).
fn params_of(body: &[u8]) -> Params {
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

/// The `Action` parameter of an AWS query-protocol body (IAM, STS, EC2), or the operation
/// of a Route53 REST request, named from its method and path, so that Route53 reads count
/// as reads and anything else as a write.
fn action_of(head: &[u8], body: &[u8]) -> String {
    let query = String::from_utf8_lossy(body)
        .split('&')
        .find_map(|kv| kv.strip_prefix("Action=").map(str::to_string));
    query.unwrap_or_else(|| route53_operation(&String::from_utf8_lossy(head)))
}

/// `GET /2013-04-01/hostedzone?...` is ListHostedZones, and so on; an unknown request is
/// `(no action)`, which counts as a write.
fn route53_operation(head: &str) -> String {
    let mut request_line = head.lines().next().unwrap_or("").split(' ');
    let (method, target) = (request_line.next(), request_line.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let Some(resource) = path.strip_prefix("/2013-04-01/") else {
        return "(no action)".into();
    };
    let operation = match (method, resource.split('/').collect::<Vec<_>>().as_slice()) {
        (Some("GET"), ["hostedzone"]) => "ListHostedZones",
        (Some("GET"), ["hostedzonesbyname"]) => "ListHostedZonesByName",
        (Some("GET"), ["hostedzone", _]) => "GetHostedZone",
        (Some("POST"), ["hostedzone"]) => "CreateHostedZone",
        (Some("POST"), ["hostedzone", _, "rrset"]) => "ChangeResourceRecordSets",
        (Some("DELETE"), ["hostedzone", _]) => "DeleteHostedZone",
        _ => "(no action)",
    };
    operation.into()
}

/// The answer a fault stands for: an AWS error, or (status 200) a successful XML body.
fn canned_response(f: &Fault) -> Vec<u8> {
    if f.status == 200 {
        let body = &f.message;
        return format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes();
    }
    let body = format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>",
        f.code, f.message
    );
    format!(
        "HTTP/1.1 {} Injected\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{}",
        f.status,
        body.len(),
        body
    )
    .into_bytes()
}

const GAAD: &str = "GetAccountAuthorizationDetails";

/// How the proxy pages GetAccountAuthorizationDetails for roles, as IAM does: at most
/// `MaxItems` roles a page (IAM's default 100, its maximum 1000), and fewer when `page_cap`
/// is smaller (IAM may end a page early), with `IsTruncated` and an opaque `Marker` for the
/// next; each page is held for `base + per_role` times the roles on it, as IAM takes longer
/// to build a longer page. That time is a model, stated where it is used; the pages' content
/// is LocalStack's own answer, cut up.
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page_cap: usize,
    pub base: std::time::Duration,
    pub per_role: std::time::Duration,
}

impl Paging {
    /// IAM's page sizes, no time added.
    pub fn sizes_only() -> Paging {
        Paging {
            page_cap: 1000,
            base: std::time::Duration::ZERO,
            per_role: std::time::Duration::ZERO,
        }
    }
}

/// Every role's `<member>` element of one upstream answer, in order.
pub struct RoleDetails {
    members: Vec<String>,
}

/// Whether the proxy pages this request: paging is on and it asks for roles only.
fn pages_this(state: &Mutex<State>, body: &[u8]) -> bool {
    let params = params_of(body);
    let filters: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k.starts_with("Filter.member."))
        .map(|(_, v)| v.as_str())
        .collect();
    state.lock().unwrap().paging.is_some() && filters == ["Role"]
}

/// One page of role details as IAM would answer the request: the first page (no Marker)
/// from a fresh read of upstream (or the prefetched one), the next ones from the same read,
/// as IAM's marker continues one listing.
async fn role_details_page(
    upstream: &str,
    state: &Mutex<State>,
    body: &[u8],
) -> std::io::Result<Vec<u8>> {
    let params = params_of(body);
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let asked = param("MaxItems")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 1000);
    let start = param("Marker").map(|m| {
        m.strip_prefix("proxy-page-")
            .and_then(|n| n.parse::<usize>().ok())
            .expect("a Marker this proxy gave")
    });
    let (paging, kept) = {
        let mut s = state.lock().unwrap();
        let kept = match (&mut s.role_details, start) {
            (Some((details, fresh)), None) if *fresh => {
                *fresh = false;
                Some(details.clone())
            }
            (Some((details, _)), Some(_)) => Some(details.clone()),
            _ => None,
        };
        (s.paging.expect("paging is on"), kept)
    };
    let details = match kept {
        Some(details) => details,
        None => {
            let details = Arc::new(fetch_role_details(upstream).await?);
            state.lock().unwrap().role_details = Some((details.clone(), false));
            details
        }
    };
    let start = start.unwrap_or(0).min(details.members.len());
    let end = (start + asked.min(paging.page_cap)).min(details.members.len());
    let truncated = end < details.members.len();
    tokio::time::sleep(paging.base + paging.per_role * (end - start) as u32).await;
    let marker = if truncated {
        format!("<Marker>proxy-page-{end}</Marker>")
    } else {
        String::new()
    };
    let body = format!(
        "<GetAccountAuthorizationDetailsResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><GetAccountAuthorizationDetailsResult><UserDetailList /><GroupDetailList /><RoleDetailList>{}</RoleDetailList><Policies /><IsTruncated>{truncated}</IsTruncated>{marker}</GetAccountAuthorizationDetailsResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata></GetAccountAuthorizationDetailsResponse>",
        details.members[start..end].concat()
    );
    Ok(format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes())
}

/// Every role's details, read from upstream in one GetAccountAuthorizationDetails (which
/// LocalStack answers whole), split into the roles' `<member>` elements.
async fn fetch_role_details(upstream: &str) -> std::io::Result<RoleDetails> {
    // LocalStack answers 500 now and then when another request changes the account's roles
    // while it iterates them ("dictionary changed size during iteration"); the SDK retries
    // that for rolecall, and this read of the harness's own does the same, or the dropped
    // connection would show as a second listing that rolecall never started.
    let mut attempt = 1;
    loop {
        let (head, body) = post_role_details(upstream).await?;
        if attempt < 5 && head.starts_with("HTTP/1.1 500") {
            attempt += 1;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        }
        return role_details_of(&head, body);
    }
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
}

/// One GetAccountAuthorizationDetails sent upstream: the answer's head and body.
async fn post_role_details(upstream: &str) -> std::io::Result<(String, Vec<u8>)> {
    let body = "Action=GetAccountAuthorizationDetails&Version=2010-05-08&Filter.member.1=Role";
    // LocalStack reads the account and region from the credential scope, not the signature.
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {upstream}\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).await?;
    let head_end = find(&answer, b"\r\n\r\n").ok_or_else(|| invalid("no HTTP head"))? + 4;
    let head = String::from_utf8_lossy(&answer[..head_end]).to_string();
    Ok((head, answer.split_off(head_end)))
}

/// The roles of a GetAccountAuthorizationDetails answer, which must be a 200.
fn role_details_of(head: &str, body: Vec<u8>) -> std::io::Result<RoleDetails> {
    if !head.starts_with("HTTP/1.1 200") {
        return Err(invalid(&format!(
            "upstream answered {}",
            head.lines().next().unwrap_or("")
        )));
    }
    let xml = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(&body)
    } else {
        body
    };
    let xml = String::from_utf8(xml).map_err(|_| invalid("the answer is not UTF-8"))?;
    Ok(RoleDetails {
        members: role_members(&xml),
    })
}

fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = find(body, b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&body[..line_end]).trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&body[start..start + size]);
        body = &body[start + size + 2..];
    }
    out
}

/// The top-level `<member>` elements of `<RoleDetailList>`: members nest (a role's policies
/// are members too), so the depth is counted.
fn role_members(xml: &str) -> Vec<String> {
    let Some(open) = xml.find("<RoleDetailList>") else {
        return Vec::new();
    };
    let list = &xml[open + "<RoleDetailList>".len()..];
    let mut members = Vec::new();
    let (mut depth, mut start, mut at) = (0usize, 0usize, 0usize);
    while at < list.len() {
        let rest = &list[at..];
        if rest.starts_with("<member>") {
            if depth == 0 {
                start = at;
            }
            depth += 1;
            at += "<member>".len();
        } else if rest.starts_with("</member>") {
            depth -= 1;
            at += "</member>".len();
            if depth == 0 {
                members.push(list[start..at].to_string());
            }
        } else if depth == 0 && rest.starts_with("</RoleDetailList>") {
            break;
        } else {
            // On to the next tag ('<' is ASCII, so this stays on a char boundary).
            at += rest[1..].find('<').map_or(rest.len(), |i| i + 1);
        }
    }
    members
}
