//! Shared counters in Redis: a minimal RESP2 client over `tokio::net::TcpStream` (just what the
//! limiter needs: EVALSHA / EVAL / SCRIPT LOAD, PING, AUTH, SELECT and plain commands for
//! tests), a small connection pool, and the Lua script that does the token bucket and the
//! period quota atomically in ONE round trip per request.
//!
//! Keys (`{…}` is a Redis Cluster hash tag, so both keys of an application share a slot):
//! * `<prefix>{<application_id>}:b` — hash `{t: tokens, ts: last refill, unix ms}`; expires
//!   once a full refill would have happened (burst / rate + 1 s), when absence = full bucket.
//! * `<prefix>{<application_id>}:q:<period id>` — requests counted in the UTC day
//!   (`20261125`) or month (`202611`); expires one hour after the period ends.

use super::bucket::{BucketParams, Counted, Verdict};
use std::fmt;
use std::io;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, SemaphorePermit};

/// The limiter script. A transcription of `BucketState::take` (see `bucket.rs`).
/// KEYS[1] bucket hash, KEYS[2] quota counter of the current period.
/// ARGV[1] now (unix ms, the gateway's clock), ARGV[2] rate (tokens/s), ARGV[3] burst,
/// ARGV[4] quota, ARGV[5] expiry of the quota key (unix ms).
/// Returns {verdict (0 allowed, 1 throttled, 2 quota exceeded), tokens left x1000, used}.
pub const SCRIPT: &str = r"
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local quota = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = tokens + (now - ts) * rate / 1000
  ts = now
end
if tokens > burst then
  tokens = burst
end
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
local verdict = 0
if used >= quota then
  verdict = 2
elseif tokens < 1 then
  verdict = 1
else
  tokens = tokens - 1
  used = redis.call('INCR', KEYS[2])
  redis.call('PEXPIREAT', KEYS[2], ARGV[5])
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {verdict, math.floor(tokens * 1000), used}
";

/// How long after its period a quota key lives, so a replica whose clock lags a little still
/// finds the count.
const QUOTA_KEY_GRACE_MS: i64 = 3_600_000;

/// The bucket key and the quota key of an application for a period.
pub fn counter_keys(prefix: &str, application_id: &str, period_id: i64) -> (String, String) {
    (
        format!("{prefix}{{{application_id}}}:b"),
        format!("{prefix}{{{application_id}}}:q:{period_id}"),
    )
}

// ---------------------------------------------------------------------------------------------
// URL

/// A parsed `REDIS_URL`: `redis://[[user]:password@]host[:port][/db]`. `Display` hides the
/// password. TLS (`rediss://`) is not supported.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    pub host: String,
    pub port: u16,
    pub db: u32,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl RedisUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = match url.strip_prefix("redis://") {
            Some(rest) => rest,
            None if url.starts_with("rediss://") => {
                return Err(
                    "rediss:// (TLS) is not supported; use redis:// on a private network".into(),
                );
            }
            None => return Err("expected redis://host[:port][/db]".into()),
        };
        if rest.contains(['?', '#']) {
            return Err("query parameters are not supported in the Redis URL".into());
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or("unterminated [IPv6] host")?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or("garbage after the [IPv6] host")?),
            };
            (host, port)
        } else {
            match hostport.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err("the Redis URL has no host".into());
        }
        let port = match port {
            None => 6379,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| format!("invalid port {p:?}"))?,
        };
        let db = match path {
            "" => 0,
            p => p
                .parse::<u32>()
                .map_err(|_| format!("invalid database number {p:?}"))?,
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, password) = match info.split_once(':') {
                    Some((user, password)) => (user, Some(password)),
                    None => (info, None),
                };
                (
                    Some(percent_decode(user)?).filter(|u| !u.is_empty()),
                    password.map(percent_decode).transpose()?,
                )
            }
        };
        Ok(Self {
            host: host.to_owned(),
            port,
            db,
            username,
            password,
        })
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or("invalid percent-encoding in the Redis URL")?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "the Redis URL credentials are not UTF-8".to_owned())
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("redis://")?;
        match (&self.username, &self.password) {
            (Some(user), Some(_)) => write!(f, "{user}:***@")?,
            (None, Some(_)) => f.write_str(":***@")?,
            (Some(user), None) => write!(f, "{user}@")?,
            (None, None) => {}
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)?;
        } else {
            write!(f, "{}:{}", self.host, self.port)?;
        }
        if self.db != 0 {
            write!(f, "/{}", self.db)?;
        }
        Ok(())
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

// ---------------------------------------------------------------------------------------------
// RESP2

/// A RESP2 reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Resp>>),
}

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("cannot connect to Redis: {0}")]
    Connect(io::Error),
    #[error("Redis connection failed: {0}")]
    Io(#[from] io::Error),
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
    #[error("unexpected Redis reply: {0}")]
    Protocol(String),
    #[error("Redis refused the command: {0}")]
    Server(String),
}

const MAX_BULK: usize = 16 * 1024 * 1024;
const MAX_DEPTH: usize = 8;

/// A command as a RESP array of bulk strings.
pub fn encode(args: &[&[u8]], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// Parses one reply from the start of `buf`: `Ok(None)` when more bytes are needed, else the
/// reply and how many bytes it used.
pub fn parse(buf: &[u8]) -> Result<Option<(Resp, usize)>, RedisError> {
    parse_at(buf, 0, 0)
}

fn parse_at(buf: &[u8], pos: usize, depth: usize) -> Result<Option<(Resp, usize)>, RedisError> {
    if depth > MAX_DEPTH {
        return Err(RedisError::Protocol("reply nested too deeply".into()));
    }
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let Some(rel_end) = buf
        .get(pos + 1..)
        .and_then(|rest| rest.windows(2).position(|w| w == b"\r\n"))
    else {
        return Ok(None);
    };
    let line = buf.get(pos + 1..pos + 1 + rel_end).unwrap_or_default();
    let after_line = pos + 1 + rel_end + 2;
    let text = || String::from_utf8_lossy(line).into_owned();
    let number = || -> Result<i64, RedisError> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| RedisError::Protocol(format!("bad number {:?}", text())))
    };
    match kind {
        b'+' => Ok(Some((Resp::Simple(text()), after_line))),
        b'-' => Ok(Some((Resp::Error(text()), after_line))),
        b':' => Ok(Some((Resp::Integer(number()?), after_line))),
        b'$' => {
            let len = number()?;
            if len < 0 {
                return Ok(Some((Resp::Bulk(None), after_line)));
            }
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if len > MAX_BULK {
                return Err(RedisError::Protocol("bulk reply too large".into()));
            }
            let end = after_line + len;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if buf.get(end..end + 2) != Some(b"\r\n") {
                return Err(RedisError::Protocol("bulk reply not terminated".into()));
            }
            let data = buf.get(after_line..end).unwrap_or_default().to_vec();
            Ok(Some((Resp::Bulk(Some(data)), end + 2)))
        }
        b'*' => {
            let len = number()?;
            if len < 0 {
                return Ok(Some((Resp::Array(None), after_line)));
            }
            let len = usize::try_from(len).unwrap_or(usize::MAX);
            if len > 1024 * 1024 {
                return Err(RedisError::Protocol("array reply too large".into()));
            }
            let mut items = Vec::with_capacity(len.min(64));
            let mut at = after_line;
            for _ in 0..len {
                match parse_at(buf, at, depth + 1)? {
                    Some((item, next)) => {
                        items.push(item);
                        at = next;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Resp::Array(Some(items)), at)))
        }
        other => Err(RedisError::Protocol(format!(
            "unknown reply type byte 0x{other:02x}"
        ))),
    }
}

/// One connection. Never shared: a request checks it out of the pool, and a connection whose
/// command failed half-way is dropped, so replies can never get out of step.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    out: Vec<u8>,
}

impl Conn {
    async fn open(url: &RedisUrl) -> Result<Self, RedisError> {
        let stream = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(RedisError::Connect)?;
        stream.set_nodelay(true).map_err(RedisError::Connect)?;
        let mut conn = Self {
            stream,
            buf: Vec::with_capacity(512),
            out: Vec::with_capacity(512),
        };
        if let Some(password) = &url.password {
            let reply = match &url.username {
                Some(user) => {
                    conn.call(&[b"AUTH", user.as_bytes(), password.as_bytes()])
                        .await?
                }
                None => conn.call(&[b"AUTH", password.as_bytes()]).await?,
            };
            expect_ok(reply)?;
        }
        if url.db != 0 {
            let db = url.db.to_string();
            expect_ok(conn.call(&[b"SELECT", db.as_bytes()]).await?)?;
        }
        Ok(conn)
    }

    async fn call(&mut self, args: &[&[u8]]) -> Result<Resp, RedisError> {
        self.out.clear();
        encode(args, &mut self.out);
        let mut written = 0;
        while written < self.out.len() {
            self.stream.writable().await?;
            match self
                .stream
                .try_write(self.out.get(written..).unwrap_or_default())
            {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e.into()),
            }
        }
        loop {
            if let Some((reply, used)) = parse(&self.buf)? {
                self.buf.drain(..used);
                return Ok(reply);
            }
            self.stream.readable().await?;
            let mut chunk = [0u8; 4096];
            match self.stream.try_read(&mut chunk) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into()),
                Ok(n) => self
                    .buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn expect_ok(reply: Resp) -> Result<(), RedisError> {
    match reply {
        Resp::Simple(_) => Ok(()),
        Resp::Error(e) => Err(RedisError::Server(e)),
        other => Err(RedisError::Protocol(format!("{other:?}"))),
    }
}

// ---------------------------------------------------------------------------------------------
// Pool

/// What to run on a pooled connection.
#[derive(Clone, Copy)]
enum Op<'a> {
    Command(&'a [&'a [u8]]),
    /// The limiter script; the arguments after the script / sha (numkeys, keys, argv).
    Script(&'a [&'a [u8]]),
}

/// A small pool: at most `size` connections in use at once (further requests wait for one,
/// within the timeout), idle ones kept for reuse, broken ones dropped and replaced on demand.
pub struct RedisPool {
    url: RedisUrl,
    idle: Mutex<Vec<Conn>>,
    permits: Semaphore,
    timeout: Duration,
    script_sha: OnceLock<String>,
}

impl fmt::Debug for RedisPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPool")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisPool {
    /// No I/O: connections are opened on first use.
    pub fn new(url: RedisUrl, size: usize, timeout: Duration) -> Self {
        Self {
            url,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(size.max(1)),
            timeout,
            script_sha: OnceLock::new(),
        }
    }

    pub fn url(&self) -> &RedisUrl {
        &self.url
    }

    /// Runs one command (within the timeout).
    pub async fn command(&self, args: &[&[u8]]) -> Result<Resp, RedisError> {
        tokio::time::timeout(self.timeout, self.run(Op::Command(args)))
            .await
            .map_err(|_| RedisError::Timeout(self.timeout))?
    }

    /// `PING` → `PONG`, for readiness checks.
    pub async fn ping(&self) -> Result<(), RedisError> {
        match self.command(&[b"PING"]).await? {
            Resp::Simple(s) if s == "PONG" => Ok(()),
            Resp::Error(e) => Err(RedisError::Server(e)),
            other => Err(RedisError::Protocol(format!("{other:?}"))),
        }
    }

    /// One limiter check: EVALSHA, falling back to EVAL when the server does not know the
    /// script (after a restart, a failover or SCRIPT FLUSH). One round trip in the normal case.
    pub async fn take(
        &self,
        bucket_key: &str,
        quota_key: &str,
        params: &BucketParams,
    ) -> Result<Counted, RedisError> {
        let now = params.now_ms.to_string();
        let rate = params.rate_per_second.to_string();
        let burst = params.burst.to_string();
        let quota = params.quota.to_string();
        let expire = params
            .period
            .end
            .saturating_mul(1000)
            .saturating_add(QUOTA_KEY_GRACE_MS)
            .to_string();
        let tail: [&[u8]; 8] = [
            b"2",
            bucket_key.as_bytes(),
            quota_key.as_bytes(),
            now.as_bytes(),
            rate.as_bytes(),
            burst.as_bytes(),
            quota.as_bytes(),
            expire.as_bytes(),
        ];
        let reply = tokio::time::timeout(self.timeout, self.run(Op::Script(&tail)))
            .await
            .map_err(|_| RedisError::Timeout(self.timeout))??;
        counted_from(&reply)
    }

    /// Runs `op` on a pooled connection. A connection that fails with an I/O error is dropped;
    /// when it was an idle one (perhaps closed by a Redis restart), `op` is retried once on a
    /// fresh connection.
    async fn run(&self, op: Op<'_>) -> Result<Resp, RedisError> {
        let _permit: SemaphorePermit<'_> = self
            .permits
            .acquire()
            .await
            .map_err(|_| RedisError::Protocol("the pool is closed".into()))?;
        let reused = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let (mut conn, was_idle) = match reused {
            Some(conn) => (conn, true),
            None => (self.open().await?, false),
        };
        let mut result = self.call(&mut conn, op).await;
        if was_idle && let Err(RedisError::Io(e)) = &result {
            tracing::debug!(error = %e, "idle Redis connection broken; reconnecting");
            conn = self.open().await?;
            result = self.call(&mut conn, op).await;
        }
        match &result {
            Ok(_) | Err(RedisError::Server(_)) => self.checkin(conn),
            // Out of step or broken: drop it.
            Err(_) => {}
        }
        result
    }

    async fn call(&self, conn: &mut Conn, op: Op<'_>) -> Result<Resp, RedisError> {
        let tail = match op {
            Op::Command(args) => return conn.call(args).await,
            Op::Script(tail) => tail,
        };
        if let Some(sha) = self.script_sha.get() {
            let mut args: Vec<&[u8]> = Vec::with_capacity(tail.len() + 2);
            args.push(b"EVALSHA");
            args.push(sha.as_bytes());
            args.extend_from_slice(tail);
            let reply = conn.call(&args).await?;
            match &reply {
                Resp::Error(e) if e.starts_with("NOSCRIPT") => {
                    tracing::debug!("Redis lost the limiter script; sending it with EVAL");
                }
                _ => return Ok(reply),
            }
        }
        let mut args: Vec<&[u8]> = Vec::with_capacity(tail.len() + 2);
        args.push(b"EVAL");
        args.push(SCRIPT.as_bytes());
        args.extend_from_slice(tail);
        conn.call(&args).await
    }

    async fn open(&self) -> Result<Conn, RedisError> {
        let mut conn = Conn::open(&self.url).await?;
        if self.script_sha.get().is_none() {
            match conn.call(&[b"SCRIPT", b"LOAD", SCRIPT.as_bytes()]).await? {
                Resp::Bulk(Some(sha)) => {
                    let sha = String::from_utf8_lossy(&sha).into_owned();
                    let _ = self.script_sha.set(sha);
                }
                Resp::Error(e) => return Err(RedisError::Server(e)),
                other => return Err(RedisError::Protocol(format!("SCRIPT LOAD: {other:?}"))),
            }
        }
        Ok(conn)
    }

    fn checkin(&self, conn: Conn) {
        // Connections only exist while holding a permit or idle here, so at most `size`.
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
    }
}

fn counted_from(reply: &Resp) -> Result<Counted, RedisError> {
    let bad = || RedisError::Protocol(format!("limiter script returned {reply:?}"));
    let Resp::Array(Some(items)) = reply else {
        return match reply {
            Resp::Error(e) => Err(RedisError::Server(e.clone())),
            _ => Err(bad()),
        };
    };
    let [
        Resp::Integer(verdict),
        Resp::Integer(milli),
        Resp::Integer(used),
    ] = items.as_slice()
    else {
        return Err(bad());
    };
    let verdict = match verdict {
        0 => Verdict::Allowed,
        1 => Verdict::Throttled,
        2 => Verdict::QuotaExceeded,
        _ => return Err(bad()),
    };
    Ok(Counted {
        verdict,
        milli_tokens: u64::try_from(*milli).unwrap_or(0),
        used: u64::try_from(*used).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_defaults_and_refuse_garbage() {
        let url = RedisUrl::parse("redis://127.0.0.1:6379").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.db),
            ("127.0.0.1", 6379, 0)
        );
        let url = RedisUrl::parse("redis://cache.internal/3").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.db),
            ("cache.internal", 6379, 3)
        );
        let url = RedisUrl::parse("redis://[::1]:6380/1").unwrap();
        assert_eq!((url.host.as_str(), url.port, url.db), ("::1", 6380, 1));
        assert_eq!(url.to_string(), "redis://[::1]:6380/1");
        let url = RedisUrl::parse("redis://app:p%40ss@h:1").unwrap();
        assert_eq!(url.username.as_deref(), Some("app"));
        assert_eq!(url.password.as_deref(), Some("p@ss"));
        assert_eq!(url.to_string(), "redis://app:***@h:1");
        assert!(!format!("{url:?}").contains("p@ss"));
        let url = RedisUrl::parse("redis://:secret@h").unwrap();
        assert_eq!(url.username, None);
        assert_eq!(url.password.as_deref(), Some("secret"));
        for bad in [
            "http://h",
            "rediss://h",
            "redis://",
            "redis://h:0",
            "redis://h:99999",
            "redis://h:x",
            "redis://h/abc",
            "redis://h?db=1",
            "redis://[::1",
            "127.0.0.1:6379",
        ] {
            assert!(RedisUrl::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn commands_encode_as_bulk_arrays() {
        let mut out = Vec::new();
        encode(&[b"GET", b"k"], &mut out);
        assert_eq!(out, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    }

    #[test]
    fn replies_parse_incrementally() {
        let full = b"*3\r\n:0\r\n$3\r\nabc\r\n*2\r\n+OK\r\n$-1\r\nrest";
        for cut in 0..full.len() - 4 {
            assert_eq!(parse(&full[..cut]).unwrap(), None, "cut at {cut}");
        }
        let (reply, used) = parse(full).unwrap().unwrap();
        assert_eq!(used, full.len() - 4);
        assert_eq!(
            reply,
            Resp::Array(Some(vec![
                Resp::Integer(0),
                Resp::Bulk(Some(b"abc".to_vec())),
                Resp::Array(Some(vec![Resp::Simple("OK".into()), Resp::Bulk(None)])),
            ]))
        );
        assert_eq!(
            parse(b"-NOSCRIPT No matching script\r\n")
                .unwrap()
                .unwrap()
                .0,
            Resp::Error("NOSCRIPT No matching script".into())
        );
        assert!(parse(b"?what\r\n").is_err());
        assert!(parse(b":abc\r\n").is_err());
        assert!(parse(b"$3\r\nabcd\r\n").is_err());
    }

    #[test]
    fn script_replies_become_counts() {
        let reply = Resp::Array(Some(vec![
            Resp::Integer(1),
            Resp::Integer(500),
            Resp::Integer(7),
        ]));
        assert_eq!(
            counted_from(&reply).unwrap(),
            Counted {
                verdict: Verdict::Throttled,
                milli_tokens: 500,
                used: 7
            }
        );
        assert!(counted_from(&Resp::Integer(1)).is_err());
        assert!(matches!(
            counted_from(&Resp::Error("ERR x".into())),
            Err(RedisError::Server(_))
        ));
    }

    #[test]
    fn keys_share_a_cluster_slot() {
        let (bucket, quota) = counter_keys("p:", "app_1", 202_611);
        assert_eq!(bucket, "p:{app_1}:b");
        assert_eq!(quota, "p:{app_1}:q:202611");
    }
}
