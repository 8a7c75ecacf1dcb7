//! json-front: the Rust front of the json-service hybrid, an axum server whose `POST /roundtrip`
//! does the json workload's serde_json roundtrip on the body in-process (src/lib.rs).
//!
//! Usage: json-front [--port P]

fn main() {
    if let Err(e) = run() {
        eprintln!("json-front: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let port = serve::Flags::parse(&["port"])?.get("port", 8080)?;
    // The multi-thread runtime with one worker per CPU the harness gives (HARNESS_CPUS), as Go's
    // GOMAXPROCS; its main thread runs the accept loop beside them, as #[tokio::main] does.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(serve::worker_threads()?)
        .enable_all()
        .build()?
        .block_on(serve::run(port, json_front::router()))?;
    Ok(())
}
