//! A minimal AWS Lambda Runtime API, so that tests drive the *real* function binaries exactly
//! as Lambda does: the binary polls `/invocation/next`, handles the event, and posts its response
//! or error. Its stdout (EMF metric lines) is captured.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, Mutex};

/// The result of one invocation: the function's response, or the error it reported.
pub type Invocation = Result<Value, Value>;

struct Shared {
    events: Mutex<mpsc::Receiver<(String, Value)>>,
    results: mpsc::Sender<(String, Invocation)>,
}

/// A function binary running against the local Runtime API.
pub struct LambdaProcess {
    child: Child,
    events: mpsc::Sender<(String, Value)>,
    results: mpsc::Receiver<(String, Invocation)>,
    stdout: Arc<std::sync::Mutex<Vec<String>>>,
    next_id: u64,
}

/// Where cargo put a workspace binary (`make test` builds them before the tests run).
pub fn binary(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug").join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build -p {name}` (`make test` does)",
        path.display()
    );
    path
}

impl LambdaProcess {
    /// Starts the Runtime API and the binary with `env` on top of this process's environment.
    pub async fn spawn(name: &str, env: &HashMap<String, String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind runtime api");
        let addr = listener.local_addr().expect("addr");
        let (event_tx, event_rx) = mpsc::channel(16);
        let (result_tx, result_rx) = mpsc::channel(16);
        let shared = Arc::new(Shared {
            events: Mutex::new(event_rx),
            results: result_tx,
        });
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&shared)));
            }
        });
        let mut child = Command::new(binary(name))
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .envs(env)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn function binary");
        let stdout = Arc::new(std::sync::Mutex::new(Vec::new()));
        if let Some(out) = child.stdout.take() {
            let lines = Arc::clone(&stdout);
            tokio::spawn(async move {
                let mut reader = BufReader::new(out).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    lines.lock().expect("lines").push(line);
                }
            });
        }
        Self {
            child,
            events: event_tx,
            results: result_rx,
            stdout,
            next_id: 0,
        }
    }

    /// Invokes the function with an event and waits for its answer (60 s at most).
    pub async fn invoke(&mut self, event: Value) -> Invocation {
        self.next_id += 1;
        let id = format!("req-{}", self.next_id);
        self.events
            .send((id.clone(), event))
            .await
            .expect("queue event");
        loop {
            let (got, result) = tokio::time::timeout(Duration::from_secs(60), self.results.recv())
                .await
                .expect("the function answered within 60 s")
                .expect("runtime api alive");
            if got == id || got == "init" {
                return result;
            }
        }
    }

    /// The lines the function printed on stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().expect("lines").clone()
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut length = 0usize;
        let mut chunked = false;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                    _ => {}
                }
            }
        }
        let body = if chunked {
            read_chunked(&mut reader).await
        } else {
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).await.is_err() {
                return;
            }
            body
        };
        let response = if method == "GET" && path.ends_with("/invocation/next") {
            let Some((id, event)) = shared.events.lock().await.recv().await else {
                return;
            };
            let body = event.to_string();
            let deadline = chrono::Utc::now().timestamp_millis() + 900_000;
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nlambda-runtime-aws-request-id: {id}\r\nlambda-runtime-deadline-ms: {deadline}\r\nlambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:test\r\nlambda-runtime-trace-id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
        } else if method == "POST" {
            let value: Value = serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
            let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
            let result = match segments.as_slice() {
                [_, "runtime", "invocation", id, "response"] => Some(((*id).to_owned(), Ok(value))),
                [_, "runtime", "invocation", id, "error"] => Some(((*id).to_owned(), Err(value))),
                [_, "runtime", "init", "error"] => Some(("init".to_owned(), Err(value))),
                _ => None,
            };
            if let Some(r) = result {
                let _ = shared.results.send(r).await;
            }
            "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 16\r\n\r\n{\"status\":\"OK\"}\n".to_owned()
        } else {
            "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n".to_owned()
        };
        if write.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn read_chunked(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        if reader.read_line(&mut size).await.unwrap_or(0) == 0 {
            return body;
        }
        let size =
            usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
        if size == 0 {
            let mut end = String::new();
            let _ = reader.read_line(&mut end).await;
            return body;
        }
        let mut chunk = vec![0; size + 2];
        if reader.read_exact(&mut chunk).await.is_err() {
            return body;
        }
        chunk.truncate(size);
        body.extend(chunk);
    }
}
