//! Rayon running the shapes of the project's bench (bench/benchmarks.ts) on its workload (bench/workload.ts): each row
//! timed as a plain sequential loop and on a Rayon pool, medians of `--reps` after `--warmups`, printed as one JSON
//! line that bench/rayon.ts reads (the `rayon-seq` and `rayon` columns of `npm run bench`).
//!
//!   cargo run --release -- --threads 2 --reps 3 [--warmups 5] [--iterations-per-us 300] [--quick] [--bench map,subtask]
//!
//! Sizes are those of bench/benchmarks.ts (full, or `--quick`); keep the two in step. `--iterations-per-us` is the
//! JavaScript calibration that `npm run bench` passes, so both sides do the same work per item; without it, this
//! program calibrates its own loop.
//! Builds with Debian bookworm's rustc 1.63: no `std::hint::black_box` (1.66), no let-else (1.65).

use rayon::prelude::*;
use rayon::ThreadPool;
use std::time::Instant;

/// bench/workload.ts `spin` and `spinFrom`: `iterations` xorshift steps. JavaScript's int32 shifts wrap as u32 ones do,
/// and `x >>> 17` is the logical shift.
fn xorshift(mut x: u32, iterations: u32) -> u32 {
    for _ in 0..iterations {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
    }
    x
}

fn spin(iterations: u32) -> u32 {
    xorshift(0x1234567, iterations)
}

fn spin_from(seed: u32, iterations: u32) -> u32 {
    // `(seed ^ 0x1234567) | 0 || 1`: a zero state would stay zero.
    let x = seed ^ 0x1234567;
    xorshift(if x == 0 { 1 } else { x }, iterations)
}

fn sum_range(lo: u32, hi: u32, iterations: u32) -> u64 {
    (lo..hi).map(|i| spin_from(i, iterations) as u64).sum()
}

fn fib(n: u32) -> u64 {
    if n < 2 {
        n as u64
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

/// A value the optimiser cannot see through: it must not hoist a kernel out of the loop that times it, nor fold it.
fn opaque<T: Copy>(value: T) -> T {
    unsafe { std::ptr::read_volatile(&value) }
}

/// ParallelFib of bench/tasks.ts: both halves forked until n reaches the cutoff.
fn parallel_fib(n: u32, cutoff: u32) -> u64 {
    if n <= cutoff {
        return fib(n);
    }
    let (a, b) = rayon::join(|| parallel_fib(n - 1, cutoff), || parallel_fib(n - 2, cutoff));
    a + b
}

/// ForkSum of bench/tasks.ts: the range halved (the first half the larger) until it has at most `grain` items.
fn fork_sum(lo: u32, hi: u32, grain: u32, iterations: u32) -> u64 {
    if hi - lo <= grain {
        return sum_range(lo, hi, iterations);
    }
    let middle = lo + (hi - lo + 1) / 2;
    let (a, b) = rayon::join(
        || fork_sum(lo, middle, grain, iterations),
        || fork_sum(middle, hi, grain, iterations),
    );
    a + b
}

fn elapsed_ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

fn check<T: PartialEq + std::fmt::Debug>(row: &str, got: T, expected: T) {
    if got != expected {
        eprintln!("rayon-bench: {} gave {:?}, not {:?}", row, got, expected);
        std::process::exit(1);
    }
}

/// One row: its metric for a sequential run (none where the row is a pool's own cost) and for a pool run.
struct Row {
    name: &'static str,
    unit: &'static str,
    params: String,
    sequential: Option<Box<dyn Fn() -> f64>>,
    pool: Box<dyn Fn(&ThreadPool) -> f64>,
    /// The subtask row's second measure: a scope's spawn of a no-op (a heap job), beside the join.
    spawn: Option<Box<dyn Fn(&ThreadPool) -> f64>>,
}

fn rows(quick: bool, iterations_per_us: f64) -> Vec<Row> {
    // bench/benchmarks.ts `count`: the full size, or the quick one.
    let size = |full: u32, small: u32| if quick { small } else { full };
    let per_item = |micros: f64| ((iterations_per_us * micros).round() as u32).max(1);
    let mut rows = Vec::new();

    let n = size(32, 26);
    let cutoff = n - 8;
    let expected = fib(n);
    rows.push(Row {
        name: "fork-join",
        unit: "ms",
        params: format!("{{\"n\":{},\"cutoff\":{}}}", n, cutoff),
        sequential: Some(Box::new(move || {
            let start = Instant::now();
            let result = fib(opaque(n));
            let ms = elapsed_ms(start);
            check("fork-join (sequential)", result, expected);
            ms
        })),
        pool: Box::new(move |pool| {
            let start = Instant::now();
            let result = pool.install(|| parallel_fib(opaque(n), cutoff));
            let ms = elapsed_ms(start);
            check("fork-join", result, expected);
            ms
        }),
        spawn: None,
    });

    let items = size(100_000, 10_000);
    let grain = 20;
    let iterations = per_item(1.0);
    let expected = sum_range(0, items, iterations);
    rows.push(Row {
        name: "fork-join-fine",
        unit: "ms",
        params: format!("{{\"items\":{},\"grain\":{},\"iterations\":{}}}", items, grain, iterations),
        sequential: Some(Box::new(move || {
            let start = Instant::now();
            let result = sum_range(0, opaque(items), iterations);
            let ms = elapsed_ms(start);
            check("fork-join-fine (sequential)", result, expected);
            ms
        })),
        pool: Box::new(move |pool| {
            let start = Instant::now();
            let result = pool.install(|| fork_sum(0, opaque(items), grain, iterations));
            let ms = elapsed_ms(start);
            check("fork-join-fine", result, expected);
            ms
        }),
        spawn: None,
    });

    // The two maps build their items and collect the results in the timed run, as ComputeParallel.map does.
    let map_row = |name: &'static str, count: u32, iterations: u32| {
        let expected = count as u64 * spin(iterations) as u64;
        Row {
            name,
            unit: "items/s",
            params: format!("{{\"items\":{},\"iterations\":{}}}", count, iterations),
            sequential: Some(Box::new(move || {
                let start = Instant::now();
                let items = vec![iterations; count as usize];
                let results: Vec<u32> = items.iter().map(|&it| spin(opaque(it))).collect();
                let sum: u64 = results.iter().map(|&x| x as u64).sum();
                let seconds = start.elapsed().as_secs_f64();
                check(name, sum, expected);
                count as f64 / seconds
            })),
            pool: Box::new(move |pool| {
                let start = Instant::now();
                let sum = pool.install(|| {
                    let items = vec![iterations; count as usize];
                    let results: Vec<u32> = items.par_iter().map(|&it| spin(opaque(it))).collect();
                    results.iter().map(|&x| x as u64).sum::<u64>()
                });
                let seconds = start.elapsed().as_secs_f64();
                check(name, sum, expected);
                count as f64 / seconds
            }),
            spawn: None,
        }
    };
    // `map` is called from outside the pool (the main thread), `nested-map` by a task in it: in Rayon both run in
    // `install`, so they differ in size only.
    rows.push(map_row("map", size(1_000_000, 20_000), per_item(2.0)));
    rows.push(map_row("nested-map", size(100_000, 10_000), per_item(2.0)));

    let subtasks = size(5_000, 500);
    rows.push(Row {
        name: "subtask",
        unit: "µs/subtask",
        params: format!("{{\"subtasks\":{}}}", subtasks),
        sequential: None,
        // SpawnNoops of bench/tasks.ts: from inside the pool, one no-op subtask after another, each joined. A join
        // pushes its second closure where idle threads may steal it and runs the first.
        pool: Box::new(move |pool| {
            let start = Instant::now();
            let sum = pool.install(|| {
                let mut sum = 0u32;
                for i in 0..opaque(subtasks) {
                    let (_, one) = rayon::join(|| opaque(i), || opaque(1u32));
                    sum += one;
                }
                sum
            });
            let micros = elapsed_ms(start) * 1e3 / subtasks as f64;
            check("subtask", sum, subtasks);
            micros
        }),
        spawn: Some(Box::new(move |pool| {
            let start = Instant::now();
            pool.install(|| {
                for _ in 0..opaque(subtasks) {
                    rayon::scope(|scope| scope.spawn(|_| {
                        opaque(1u32);
                    }));
                }
            });
            elapsed_ms(start) * 1e3 / subtasks as f64
        })),
    });

    let calls = size(10_000, 500);
    rows.push(Row {
        name: "roundtrip",
        unit: "µs/task",
        params: format!("{{\"calls\":{}}}", calls),
        sequential: None,
        // From outside the pool, one no-op `install` after another: the job is injected, a pool thread wakes for
        // it, and the caller blocks until it is done.
        pool: Box::new(move |pool| {
            let start = Instant::now();
            let mut sum = 0u64;
            for i in 0..opaque(calls) {
                sum += pool.install(|| opaque(i)) as u64;
            }
            let micros = elapsed_ms(start) * 1e3 / calls as f64;
            check("roundtrip", sum, calls as u64 * (calls as u64 - 1) / 2);
            micros
        }),
        spawn: None,
    });
    rows
}

/// bench/workload.ts `calibrate`: iterations of `spin` per microsecond, the median of 7 timed runs.
fn calibrate() -> f64 {
    spin(opaque(5_000_000));
    let mut rates: Vec<f64> = (0..7)
        .map(|_| {
            let iterations = 2_000_000;
            let start = Instant::now();
            let result = spin(opaque(iterations));
            let micros = start.elapsed().as_secs_f64() * 1e6;
            opaque(result);
            iterations as f64 / micros
        })
        .collect();
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
    rates[3]
}

fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

fn json_samples(samples: &[f64]) -> String {
    let each: Vec<String> = samples.iter().map(|x| format!("{}", x)).collect();
    format!("[{}]", each.join(","))
}

fn usage(message: &str) -> ! {
    eprintln!("rayon-bench: {}", message);
    eprintln!(
        "usage: rayon-bench --threads N --reps R [--warmups W] [--iterations-per-us X] [--quick] [--bench a,b,...]"
    );
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .map(|i| args.get(i + 1).cloned().unwrap_or_else(|| usage(&format!("{} needs a value", name))))
    };
    let number = |name: &str, default: f64| match flag(name) {
        None => default,
        Some(text) => text.parse::<f64>().unwrap_or_else(|_| usage(&format!("{} {}: not a number", name, text))),
    };
    let threads = number("--threads", 2.0) as usize;
    let reps = number("--reps", 3.0) as usize;
    let warmups = number("--warmups", 1.0) as usize;
    let quick = args.iter().any(|arg| arg == "--quick");
    let only: Option<Vec<String>> = flag("--bench").map(|list| list.split(',').map(String::from).collect());
    if threads == 0 || reps == 0 {
        usage("--threads and --reps must be at least 1");
    }
    // This loop's own rate, always: how fast Rust runs the workload against the JavaScript rate it was given.
    let own_rate = calibrate();
    let iterations_per_us = number("--iterations-per-us", own_rate);

    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let all = rows(quick, iterations_per_us);
    if let Some(names) = &only {
        for name in names {
            if !all.iter().any(|row| row.name == name) {
                let known: Vec<&str> = all.iter().map(|row| row.name).collect();
                usage(&format!("no row {} (rows: {})", name, known.join(", ")));
            }
        }
    }
    let mut printed = Vec::new();
    for row in all.iter().filter(|row| only.as_ref().map_or(true, |names| names.iter().any(|n| n == row.name))) {
        // Warm-ups and repetitions alternate the sequential and the pool run, so a slow spell hits both alike.
        let mut sequential = Vec::new();
        let mut parallel = Vec::new();
        let mut spawn = Vec::new();
        for rep in 0..warmups + reps {
            let seq = row.sequential.as_ref().map(|run| run());
            let par = (row.pool)(&pool);
            let spawned = row.spawn.as_ref().map(|run| run(&pool));
            if rep < warmups {
                continue;
            }
            sequential.extend(seq);
            parallel.push(par);
            spawn.extend(spawned);
        }
        let mut fields = vec![
            format!("\"bench\":\"{}\"", row.name),
            format!("\"unit\":\"{}\"", row.unit),
            format!("\"params\":{}", row.params),
            format!("\"pool\":{}", median(&parallel)),
            format!("\"poolSamples\":{}", json_samples(&parallel)),
        ];
        if !sequential.is_empty() {
            fields.push(format!("\"sequential\":{}", median(&sequential)));
            fields.push(format!("\"sequentialSamples\":{}", json_samples(&sequential)));
        }
        if !spawn.is_empty() {
            fields.push(format!("\"spawn\":{}", median(&spawn)));
            fields.push(format!("\"spawnSamples\":{}", json_samples(&spawn)));
        }
        printed.push(format!("{{{}}}", fields.join(",")));
    }
    println!(
        "{{\"threads\":{},\"reps\":{},\"warmups\":{},\"quick\":{},\"iterationsPerUs\":{},\"rustIterationsPerUs\":{},\"rows\":[{}]}}",
        threads,
        reps,
        warmups,
        quick,
        iterations_per_us,
        own_rate,
        printed.join(",")
    );
}
