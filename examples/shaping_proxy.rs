//! A shaping TCP proxy for the benchmark (scripts/bench): every connection
//! gets a one-way latency and a rate cap of its own in each direction, as
//! a long-distance link behind a per-connection limiter does (a studio's
//! VPN, a cloud proxy). What segmented downloads are for.
//!
//!   shaping_proxy <upstream host:port> <latency ms> <bytes per second per connection>
//!
//! Prints "listening on <port>" once ready. Each direction is two threads:
//! one reads and stamps pieces, the other forwards each piece once its
//! stamp plus the latency has passed and the rate allows it, so the link
//! stays full (latency delays the bytes; it does not stop the flow).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const PIECE: usize = 16 * 1024;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: shaping_proxy <upstream host:port> <latency ms> <bytes per second per connection>");
        std::process::exit(2);
    }
    let upstream = args[1].clone();
    let latency = Duration::from_millis(args[2].parse().expect("latency in ms"));
    let rate: u64 = args[3].parse().expect("bytes per second");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    println!("listening on {}", listener.local_addr().unwrap().port());
    std::io::stdout().flush().unwrap();
    for client in listener.incoming().flatten() {
        let Ok(server) = TcpStream::connect(&upstream) else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        pipe(&client, &server, latency, rate);
        pipe(&server, &client, latency, rate);
    }
}

/// Forwards `from` to `to` with the latency and the rate cap.
fn pipe(from: &TcpStream, to: &TcpStream, latency: Duration, rate: u64) {
    let (mut from, mut to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
    let (sender, receiver) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; PIECE];
        loop {
            match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sender.send((Instant::now(), buffer[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        // When the link is free again: an idle link saves no credit.
        let mut free_at = Instant::now();
        for (stamp, piece) in receiver {
            let start = (stamp + latency).max(free_at).max(Instant::now());
            let now = Instant::now();
            if start > now {
                std::thread::sleep(start - now);
            }
            if to.write_all(&piece).is_err() {
                break;
            }
            free_at = start + Duration::from_secs_f64(piece.len() as f64 / rate as f64);
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
