//! An ordered parallel map with bounded memory, on scoped threads.
//!
//! One thread pulls items from the input in small batches, workers (one per
//! core) apply `f`, and the caller's thread hands the results to `sink` in
//! input order. Channels are bounded, so memory holds a few batches whatever
//! the input's length. `sink` returns `false` to stop early; every thread
//! then winds down (the workers' last handle on the queue drops, which
//! unblocks the reader).
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

/// Items per hand-over between threads, when the results are large (rendered
/// greetings): a few batches in flight stay a few megabytes.
const BATCH: usize = 64;

/// [`ordered_map_in`] with batches of [`BATCH`].
pub fn ordered_map<I, F, O, S>(input: I, f: F, sink: S) -> anyhow::Result<()>
where
    I: Iterator + Send,
    I::Item: Send,
    F: Fn(I::Item) -> anyhow::Result<O> + Sync,
    O: Send,
    S: FnMut(O) -> anyhow::Result<bool>,
{
    ordered_map_in(BATCH, input, f, sink)
}

/// The ordered map, handing `batch` items over at a time. Each hand-over is a
/// lock and often a wake-up: small results (the roster scan's 20-byte
/// records) go faster in larger batches.
pub fn ordered_map_in<I, F, O, S>(
    batch_size: usize,
    input: I,
    f: F,
    mut sink: S,
) -> anyhow::Result<()>
where
    I: Iterator + Send,
    I::Item: Send,
    F: Fn(I::Item) -> anyhow::Result<O> + Sync,
    O: Send,
    S: FnMut(O) -> anyhow::Result<bool>,
{
    let batch_size = batch_size.max(1);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    let stop = AtomicBool::new(false);
    let (work_tx, work_rx) = mpsc::sync_channel::<(u64, Vec<I::Item>)>(workers);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = mpsc::sync_channel::<(u64, anyhow::Result<Vec<O>>)>(workers);
    // Batches in flight, queued, being worked on or done but waiting for an
    // earlier one: at most `window`, however far one worker falls behind the
    // others (a busy machine deschedules threads) — the reader takes a permit
    // per batch, and the caller's thread hands it back once the batch is sunk.
    let window = 2 * workers + 2;
    let (permit_tx, permit_rx) = mpsc::sync_channel::<()>(window);
    for _ in 0..window {
        let _ = permit_tx.send(());
    }

    std::thread::scope(|scope| -> anyhow::Result<()> {
        let stop = &stop;
        scope.spawn(move || {
            let mut seq = 0;
            let mut batch = Vec::with_capacity(batch_size);
            for item in input {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                batch.push(item);
                if batch.len() == batch_size {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                    if permit_rx.recv().is_err() || work_tx.send((seq, full)).is_err() {
                        return;
                    }
                    seq += 1;
                }
            }
            if permit_rx.recv().is_ok() {
                let _ = work_tx.send((seq, batch));
            }
        });
        for _ in 0..workers {
            let (work_rx, done_tx, f) = (Arc::clone(&work_rx), done_tx.clone(), &f);
            scope.spawn(move || {
                loop {
                    let next = work_rx
                        .lock()
                        .map_err(|_| ())
                        .and_then(|rx| rx.recv().map_err(|_| ()));
                    let Ok((seq, items)) = next else { return };
                    let results = items.into_iter().map(f).collect();
                    if done_tx.send((seq, results)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        drop(work_rx);
        let mut waiting = BTreeMap::new();
        let mut next = 0u64;
        let result = (|| {
            for (seq, results) in &done_rx {
                waiting.insert(seq, results?);
                while let Some(results) = waiting.remove(&next) {
                    next += 1;
                    for r in results {
                        if !sink(r)? {
                            return Ok(());
                        }
                    }
                    let _ = permit_tx.send(());
                }
            }
            Ok(())
        })();
        stop.store(true, Ordering::Relaxed);
        drop(done_rx);
        drop(permit_tx);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_input_order() {
        let mut seen = Vec::new();
        ordered_map(
            0..10_000u32,
            |i| Ok(i * 2),
            |o| {
                seen.push(o);
                Ok(true)
            },
        )
        .unwrap();
        assert_eq!(seen, (0..10_000).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn a_worker_that_falls_behind_holds_back_the_others_to_a_few_batches() {
        use std::sync::atomic::AtomicUsize;
        let pulled = AtomicUsize::new(0);
        let (mut sunk, mut most_in_flight) = (0, 0);
        let input = (0..200_000u32).inspect(|_| {
            pulled.fetch_add(1, Ordering::Relaxed);
        });
        ordered_map(
            input,
            |i| {
                // The first batch is slow: the other workers must not run far ahead.
                if i == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(300));
                }
                Ok(i)
            },
            |_| {
                sunk += 1;
                most_in_flight = most_in_flight.max(pulled.load(Ordering::Relaxed) - sunk);
                Ok(true)
            },
        )
        .unwrap();
        assert_eq!(sunk, 200_000);
        // The window (2 × at most 4 workers + 2), the batch being filled and one read ahead.
        assert!(
            most_in_flight <= 12 * BATCH,
            "{most_in_flight} items in flight"
        );
    }

    #[test]
    fn stopping_early_ends_every_thread() {
        let mut n = 0;
        ordered_map(0..1_000_000u32, Ok, |_| {
            n += 1;
            Ok(n < 10)
        })
        .unwrap();
        assert_eq!(n, 10);
    }

    #[test]
    fn an_error_in_a_worker_reaches_the_caller() {
        let r = ordered_map(
            0..1000u32,
            |i| {
                if i == 500 {
                    anyhow::bail!("bad {i}")
                } else {
                    Ok(i)
                }
            },
            |_| Ok(true),
        );
        assert_eq!(r.unwrap_err().to_string(), "bad 500");
    }
}
