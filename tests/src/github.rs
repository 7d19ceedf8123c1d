//! A local stand-in for the GitHub REST endpoints git mode calls (list, create and update pull
//! requests), which checks every request the way GitHub would: the token, the API version
//! header, the JSON fields. It keeps what it received for assertions.
//!
//! HTTP/1.1 over a loopback socket, one request per connection (`Connection: close`).

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub api_version: Option<String>,
    pub body: Value,
    pub status: u16,
}

/// A pull request the mock holds.
#[derive(Debug, Clone)]
pub struct Pull {
    pub number: u64,
    pub head: String,
    pub base: String,
    pub title: String,
    pub body: String,
    pub open: bool,
}

#[derive(Default)]
struct State {
    pulls: Vec<Pull>,
    received: Vec<Received>,
}

/// The mock server for repository `owner/name`, accepting one token.
pub struct MockGitHub {
    pub url: String,
    pub repository: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockGitHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockGitHub {
    pub async fn start(repository: &str, token: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let (shared, repo, token, base_url) = (
            state.clone(),
            repository.to_owned(),
            token.to_owned(),
            url.clone(),
        );
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (shared, repo, token, base_url) = (
                    shared.clone(),
                    repo.clone(),
                    token.clone(),
                    base_url.clone(),
                );
                tokio::spawn(async move {
                    let _ = serve(stream, &shared, &repo, &token, &base_url).await;
                });
            }
        });
        Self {
            url,
            repository: repository.to_owned(),
            state,
            task,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("state").received.clone()
    }

    pub fn pulls(&self) -> Vec<Pull> {
        self.state.lock().expect("state").pulls.clone()
    }

    /// Closes a pull request (as a reviewer merging or closing it would).
    pub fn close(&self, number: u64) {
        for p in &mut self.state.lock().expect("state").pulls {
            if p.number == number {
                p.open = false;
            }
        }
    }
}

async fn serve(
    mut stream: TcpStream,
    state: &Mutex<State>,
    repo: &str,
    token: &str,
    base_url: &str,
) -> std::io::Result<()> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = std::collections::HashMap::new();
    for line in lines.filter(|l| !l.is_empty()) {
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < header_end + length {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body_text = String::from_utf8_lossy(&buffer[header_end..]).to_string();
    let body: Value = serde_json::from_str(&body_text).unwrap_or(Value::Null);
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let (status, response) = route(
        state, repo, token, base_url, &method, path, query, &headers, &body,
    );
    state.lock().expect("state").received.push(Received {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        authorization: headers.get("authorization").cloned(),
        api_version: headers.get("x-github-api-version").cloned(),
        body,
        status,
    });
    let text = response.to_string();
    let reply = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    stream.write_all(reply.as_bytes()).await?;
    stream.shutdown().await
}

fn pull_json(p: &Pull, base_url: &str, repo: &str) -> Value {
    json!({
        "number": p.number,
        "html_url": format!("{base_url}/{repo}/pull/{}", p.number),
        "state": if p.open { "open" } else { "closed" },
        "title": p.title,
        "body": p.body,
        "head": {"ref": p.head},
        "base": {"ref": p.base},
    })
}

#[allow(clippy::too_many_arguments)]
fn route(
    state: &Mutex<State>,
    repo: &str,
    token: &str,
    base_url: &str,
    method: &str,
    path: &str,
    query: &str,
    headers: &std::collections::HashMap<String, String>,
    body: &Value,
) -> (u16, Value) {
    if headers.get("authorization").map(String::as_str) != Some(&format!("Bearer {token}")) {
        return (401, json!({"message": "Bad credentials"}));
    }
    if headers.get("x-github-api-version").map(String::as_str) != Some("2022-11-28")
        || !headers
            .get("accept")
            .is_some_and(|a| a.contains("application/vnd.github+json"))
        || !headers.contains_key("user-agent")
    {
        return (400, json!({"message": "missing GitHub API headers"}));
    }
    let pulls_path = format!("/repos/{repo}/pulls");
    let owner = repo.split('/').next().unwrap_or_default();
    let mut state = state.lock().expect("state");
    match (method, path) {
        ("GET", p) if p == pulls_path => {
            let params: Vec<(String, String)> = query
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.replace("%3A", ":").replace("%2F", "/")))
                .collect();
            let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let open_only = get("state").as_deref() == Some("open");
            let head = get("head");
            let list: Vec<Value> = state
                .pulls
                .iter()
                .filter(|p| !open_only || p.open)
                .filter(|p| {
                    head.as_ref()
                        .is_none_or(|h| *h == format!("{owner}:{}", p.head))
                })
                .map(|p| pull_json(p, base_url, repo))
                .collect();
            (200, Value::Array(list))
        }
        ("POST", p) if p == pulls_path => {
            let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
            let missing: Vec<&str> = ["title", "head", "base", "body"]
                .into_iter()
                .filter(|k| field(k).is_empty())
                .collect();
            if !missing.is_empty() {
                return (
                    422,
                    json!({"message": format!("Validation Failed: missing {}", missing.join(", "))}),
                );
            }
            if state
                .pulls
                .iter()
                .any(|p| p.open && p.head == field("head"))
            {
                return (
                    422,
                    json!({"message": "Validation Failed: A pull request already exists"}),
                );
            }
            let pull = Pull {
                number: state.pulls.len() as u64 + 1,
                head: field("head").to_owned(),
                base: field("base").to_owned(),
                title: field("title").to_owned(),
                body: field("body").to_owned(),
                open: true,
            };
            let response = pull_json(&pull, base_url, repo);
            state.pulls.push(pull);
            (201, response)
        }
        ("PATCH", p) if p.starts_with(&format!("{pulls_path}/")) => {
            let number: u64 = p
                .rsplit('/')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let Some(pull) = state.pulls.iter_mut().find(|p| p.number == number) else {
                return (404, json!({"message": "Not Found"}));
            };
            if let Some(t) = body.get("title").and_then(Value::as_str) {
                pull.title = t.to_owned();
            }
            if let Some(b) = body.get("body").and_then(Value::as_str) {
                pull.body = b.to_owned();
            }
            let response = pull_json(pull, base_url, repo);
            (200, response)
        }
        _ => (404, json!({"message": "Not Found"})),
    }
}
