//! The gateway benchmark's baseline: a bare axum handler answering a fixed JSON body with no
//! checks at all. `bare_json ADDR FILE` serves FILE's contents on every GET of ADDR and prints
//! `listening http://ADDR` once bound.

use axum::http::header;
use axum::routing::get;
use std::net::SocketAddr;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()?;
    let body: &'static str = match args.next() {
        Some(file) => std::fs::read_to_string(file)?.leak(),
        None => r#"{"ok":true}"#,
    };
    let app = axum::Router::new().fallback(get(move || async move {
        ([(header::CONTENT_TYPE, "application/json")], body)
    }));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("listening http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
