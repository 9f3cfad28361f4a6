//! `linkemu`: the seeded UDP link emulator of `lienthong_tests::linkemu` as a
//! command, to put a lossy, slow link between two Liên Thông nodes by hand.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory, Parser, error::ErrorKind};
use lienthong_tests::linkemu::parse::{
    parse_bandwidth, parse_bytes, parse_duration, parse_probability,
};
use lienthong_tests::linkemu::{Direction, LinkConfig, LinkEmulator};
use tokio::sync::mpsc;

const COMMANDS: &str = "\
Commands on stdin (DIR is up, down or both):
  cut [DIR]                  drop everything (both directions by default)
  heal [DIR]                 undo cut
  stats                      print the counters
  config                     print both directions' settings
  loss DIR P                 loss probability, e.g. `loss up 0.2` or `loss both 5%`
  delay DIR DURATION         one-way delay, e.g. `delay down 300ms`
  jitter DIR DURATION        uniform extra delay
  reorder DIR P [DURATION]   reorder probability [and hold-back]
  duplicate DIR P            duplication probability
  bandwidth DIR RATE|off     bandwidth cap, e.g. `bandwidth up 64kbit`
  queue DIR SIZE             queue limit in front of the cap (0 = unlimited)
  help                       this list
  quit                       print the final stats and exit (also: exit)";

const AFTER_HELP: &str = "\
Durations: 150ms, 2s, 1.5s, 500us, 2m, 0. Rates in bits/s: 384kbit, 2mbit, \
1gbit, 1000000, off. Sizes: 65536, 64KiB, 64KB (=64000), 1MiB. Probabilities: \
0.05 or 5%.

The shared options apply to both directions; --up-* / --down-* override them \
for one direction (up = client to server, down = server to client).

At start one line goes to stdout: `listening ADDR upstream ADDR seed SEED`; \
the settings go to stderr. The final stats are printed on `quit`, Ctrl-C or \
SIGTERM. End of stdin does NOT stop the emulator (so it can run with stdin \
closed or from a script): it keeps running until Ctrl-C or SIGTERM.
";

/// A bandwidth cap, or none.
#[derive(Clone, Copy, Debug)]
struct Rate(Option<u64>);

fn parse_rate(s: &str) -> Result<Rate, String> {
    parse_bandwidth(s).map(Rate)
}

/// A seeded UDP link emulator: forwards datagrams between clients and an
/// upstream server with loss, delay, jitter, reordering, duplication, a
/// bandwidth cap and cuts, each direction on its own. The same seed gives
/// the same datagrams the same fate.
#[derive(Debug, Parser)]
#[command(name = "linkemu", version, after_help = AFTER_HELP, after_long_help = format!("{AFTER_HELP}\n{COMMANDS}"))]
struct Args {
    /// Address clients send to (port 0: the OS picks one; it is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Address of the server the datagrams are forwarded to.
    #[arg(long)]
    upstream: SocketAddr,
    /// Seed of the random decisions.
    #[arg(long, default_value_t = 0)]
    seed: u64,

    /// One-way delay.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    delay: Option<Duration>,
    /// Uniform extra delay in [0, JITTER) (never reorders by itself).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    jitter: Option<Duration>,
    /// Loss probability.
    #[arg(long, value_parser = parse_probability, value_name = "P")]
    loss: Option<f64>,
    /// Probability that a datagram is held back so later ones overtake it.
    #[arg(long, value_parser = parse_probability, value_name = "P")]
    reorder: Option<f64>,
    /// How long a reordered datagram is held back.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", default_value = "50ms")]
    reorder_extra: Duration,
    /// Duplication probability.
    #[arg(long, value_parser = parse_probability, value_name = "P")]
    duplicate: Option<f64>,
    /// Bandwidth cap in bits/s.
    #[arg(long, value_parser = parse_rate, value_name = "RATE")]
    bandwidth: Option<Rate>,
    /// Bytes that may queue in front of the bandwidth cap (0 = unlimited).
    #[arg(long, value_parser = parse_bytes, value_name = "SIZE")]
    queue: Option<usize>,

    /// --delay for the up direction only.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", help_heading = "Up (client to server) overrides")]
    up_delay: Option<Duration>,
    /// --jitter for the up direction only.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", help_heading = "Up (client to server) overrides")]
    up_jitter: Option<Duration>,
    /// --loss for the up direction only.
    #[arg(long, value_parser = parse_probability, value_name = "P", help_heading = "Up (client to server) overrides")]
    up_loss: Option<f64>,
    /// --reorder for the up direction only.
    #[arg(long, value_parser = parse_probability, value_name = "P", help_heading = "Up (client to server) overrides")]
    up_reorder: Option<f64>,
    /// --duplicate for the up direction only.
    #[arg(long, value_parser = parse_probability, value_name = "P", help_heading = "Up (client to server) overrides")]
    up_duplicate: Option<f64>,
    /// --bandwidth for the up direction only.
    #[arg(long, value_parser = parse_rate, value_name = "RATE", help_heading = "Up (client to server) overrides")]
    up_bandwidth: Option<Rate>,
    /// --queue for the up direction only.
    #[arg(long, value_parser = parse_bytes, value_name = "SIZE", help_heading = "Up (client to server) overrides")]
    up_queue: Option<usize>,

    /// --delay for the down direction only.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", help_heading = "Down (server to client) overrides")]
    down_delay: Option<Duration>,
    /// --jitter for the down direction only.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION", help_heading = "Down (server to client) overrides")]
    down_jitter: Option<Duration>,
    /// --loss for the down direction only.
    #[arg(long, value_parser = parse_probability, value_name = "P", help_heading = "Down (server to client) overrides")]
    down_loss: Option<f64>,
    /// --reorder for the down direction only.
    #[arg(long, value_parser = parse_probability, value_name = "P", help_heading = "Down (server to client) overrides")]
    down_reorder: Option<f64>,
    /// --duplicate for the down direction only.
    #[arg(long, value_parser = parse_probability, value_name = "P", help_heading = "Down (server to client) overrides")]
    down_duplicate: Option<f64>,
    /// --bandwidth for the down direction only.
    #[arg(long, value_parser = parse_rate, value_name = "RATE", help_heading = "Down (server to client) overrides")]
    down_bandwidth: Option<Rate>,
    /// --queue for the down direction only.
    #[arg(long, value_parser = parse_bytes, value_name = "SIZE", help_heading = "Down (server to client) overrides")]
    down_queue: Option<usize>,
}

impl Args {
    /// The configuration of one direction: its override, else the shared
    /// value, else a perfect link.
    fn config(&self, direction: Direction) -> LinkConfig {
        /// The direction's override, else the shared value.
        fn pick<T>(
            up: bool,
            up_value: Option<T>,
            down_value: Option<T>,
            both: Option<T>,
        ) -> Option<T> {
            if up { up_value } else { down_value }.or(both)
        }
        let up = direction == Direction::Up;
        LinkConfig {
            loss: pick(up, self.up_loss, self.down_loss, self.loss).unwrap_or(0.0),
            delay: pick(up, self.up_delay, self.down_delay, self.delay).unwrap_or_default(),
            jitter: pick(up, self.up_jitter, self.down_jitter, self.jitter).unwrap_or_default(),
            reorder: pick(up, self.up_reorder, self.down_reorder, self.reorder).unwrap_or(0.0),
            reorder_extra: self.reorder_extra,
            duplicate: pick(up, self.up_duplicate, self.down_duplicate, self.duplicate)
                .unwrap_or(0.0),
            bandwidth_bps: pick(up, self.up_bandwidth, self.down_bandwidth, self.bandwidth)
                .and_then(|r| r.0),
            queue_limit_bytes: pick(up, self.up_queue, self.down_queue, self.queue).unwrap_or(0),
            cut: false,
        }
    }
}

/// What a stdin command asks for.
enum Outcome {
    Continue,
    Quit,
}

/// Directions named by a command argument (`up`, `down` or `both`).
fn directions(arg: &str) -> Result<Vec<Direction>, String> {
    if arg.eq_ignore_ascii_case("both") {
        Ok(Direction::BOTH.to_vec())
    } else {
        arg.parse::<Direction>()
            .map(|d| vec![d])
            .map_err(|_| format!("unknown direction {arg:?} (expected up, down or both)"))
    }
}

fn print_stats(emulator: &LinkEmulator) {
    println!("{}", emulator.stats());
    println!("mappings: {}", emulator.mappings());
}

/// Runs one stdin command, printing its answer.
fn command(emulator: &LinkEmulator, line: &str) -> Outcome {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&name, args)) = words.split_first() else {
        return Outcome::Continue;
    };
    match run_command(emulator, &name.to_ascii_lowercase(), args) {
        Ok(outcome) => outcome,
        Err(message) => {
            println!("error: {message}");
            Outcome::Continue
        }
    }
}

fn run_command(emulator: &LinkEmulator, name: &str, args: &[&str]) -> Result<Outcome, String> {
    let usage = |u: &str| format!("usage: {u}");
    match name {
        "quit" | "exit" => return Ok(Outcome::Quit),
        "help" | "?" => println!("{COMMANDS}"),
        "stats" => print_stats(emulator),
        "config" => {
            for d in Direction::BOTH {
                println!("{d}: {}", emulator.config(d));
            }
        }
        "cut" | "heal" => {
            let dirs = match args {
                [] => Direction::BOTH.to_vec(),
                [dir] => directions(dir)?,
                _ => return Err(usage(&format!("{name} [up|down|both]"))),
            };
            for d in &dirs {
                emulator.set_direction_cut(*d, name == "cut");
            }
            let names: Vec<String> = dirs.iter().map(|d| d.to_string()).collect();
            println!(
                "{} {}",
                if name == "cut" { "cut" } else { "healed" },
                names.join(" and ")
            );
        }
        "loss" | "delay" | "jitter" | "reorder" | "duplicate" | "bandwidth" | "queue" => {
            let (dir, value, extra) = match args {
                [dir, value] => (dir, value, None),
                [dir, value, extra] if name == "reorder" => (dir, value, Some(extra)),
                _ => {
                    let what = match name {
                        "loss" | "duplicate" => "P",
                        "reorder" => "P [DURATION]",
                        "bandwidth" => "RATE|off",
                        "queue" => "SIZE",
                        _ => "DURATION",
                    };
                    return Err(usage(&format!("{name} up|down|both {what}")));
                }
            };
            let dirs = directions(dir)?;
            let extra = extra.map(|e| parse_duration(e)).transpose()?;
            for d in dirs {
                let mut c = emulator.config(d);
                match name {
                    "loss" => c.loss = parse_probability(value)?,
                    "delay" => c.delay = parse_duration(value)?,
                    "jitter" => c.jitter = parse_duration(value)?,
                    "reorder" => {
                        c.reorder = parse_probability(value)?;
                        if let Some(extra) = extra {
                            c.reorder_extra = extra;
                        }
                    }
                    "duplicate" => c.duplicate = parse_probability(value)?,
                    "bandwidth" => c.bandwidth_bps = parse_bandwidth(value)?,
                    _ => c.queue_limit_bytes = parse_bytes(value)?,
                }
                c.validate().map_err(|e| e.to_string())?;
                println!("{d}: {c}");
                emulator.set_config(d, c);
            }
        }
        other => {
            return Err(format!(
                "unknown command {other:?}; known commands: cut, heal, stats, config, loss, \
                 delay, jitter, reorder, duplicate, bandwidth, queue, help, quit"
            ));
        }
    }
    Ok(Outcome::Continue)
}

/// Resolves on SIGTERM (never on other platforms).
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            term.recv().await;
            return;
        }
    }
    std::future::pending::<()>().await
}

/// Reads stdin lines on a plain thread (a blocking read cannot be
/// cancelled, and must not keep the runtime from shutting down).
fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        loop {
            line.clear();
            match std::io::stdin().read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => {
                    if tx.send(line.clone()).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    eprintln!("linkemu: reading stdin: {e}");
                    break;
                }
            }
        }
    });
    rx
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let up = args.config(Direction::Up);
    let down = args.config(Direction::Down);
    for (d, c) in [(Direction::Up, &up), (Direction::Down, &down)] {
        if let Err(e) = c.validate() {
            Args::command()
                .error(ErrorKind::ValueValidation, format!("{d} link: {e}"))
                .exit();
        }
    }
    let emulator = match LinkEmulator::start(
        args.listen,
        args.upstream,
        up.clone(),
        down.clone(),
        args.seed,
    )
    .await
    {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("linkemu: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    println!(
        "listening {} upstream {} seed {}",
        emulator.local_addr(),
        args.upstream,
        args.seed
    );
    eprintln!("up: {up}");
    eprintln!("down: {down}");

    let mut lines = stdin_lines();
    let mut stdin_open = true;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let term = terminated();
    tokio::pin!(term);
    loop {
        tokio::select! {
            line = lines.recv(), if stdin_open => match line {
                Some(line) => {
                    if let Outcome::Quit = command(&emulator, &line) {
                        break;
                    }
                }
                None => {
                    stdin_open = false;
                    eprintln!("linkemu: end of stdin; running until Ctrl-C or SIGTERM");
                }
            },
            _ = &mut ctrl_c => break,
            () = &mut term => break,
        }
    }
    println!("final stats:");
    print_stats(&emulator);
    emulator.shutdown().await;
    ExitCode::SUCCESS
}
