//! Order-preserving parallel map over a slice, on scoped threads. The result is the same as
//! `items.iter().map(f).collect()` — element for element, in order — so output stays
//! deterministic however the work is scheduled.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Items handed to a thread at a time: small enough to balance uneven items (a procedure
/// costs far more to render than a grant), large enough to keep coordination cheap.
const BLOCK: usize = 16;

/// Below this many items one thread does the work: starting threads would cost more.
const MIN_PARALLEL: usize = 256;

/// Maps `f` over `items` on up to `available_parallelism` threads, keeping the order.
pub(crate) fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_in_blocks(items, BLOCK, MIN_PARALLEL, f)
}

/// Like [`map`], for a few items that each cost a lot (a whole spec file to parse): parallel
/// from two items on, handed out one at a time.
pub(crate) fn map_each<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_in_blocks(items, 1, 2, f)
}

fn map_in_blocks<T: Sync, R: Send>(
    items: &[T],
    block: usize,
    min_parallel: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    if threads < 2 || items.len() < min_parallel {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let blocks: Mutex<Vec<(usize, Vec<R>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let start = next.fetch_add(block, Ordering::Relaxed);
                if start >= items.len() {
                    break;
                }
                let end = (start + block).min(items.len());
                let results: Vec<R> = items[start..end].iter().map(&f).collect();
                blocks
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((start, results));
            });
        }
    });
    let mut blocks = blocks
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    blocks.sort_unstable_by_key(|(start, _)| *start);
    blocks
        .into_iter()
        .flat_map(|(_, results)| results)
        .collect()
}

/// Maps `map_chunk` over `items` a chunk of `chunk` items at a time on another thread, and
/// hands each chunk with its results to `consume` on this thread, in order, while the next
/// chunk is being mapped: at most three chunks' results exist at once. Stops when `consume`
/// breaks, and returns what it broke with.
pub(crate) fn pipeline<T: Sync, R: Send, B>(
    items: &[T],
    chunk: usize,
    map_chunk: impl Fn(&[T]) -> Vec<R> + Sync,
    mut consume: impl FnMut(&[T], Vec<R>) -> ControlFlow<B>,
) -> Option<B> {
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        let map_chunk = &map_chunk;
        scope.spawn(move || {
            for part in items.chunks(chunk.max(1)) {
                if sender.send((part, map_chunk(part))).is_err() {
                    break;
                }
            }
        });
        for (part, results) in receiver {
            if let ControlFlow::Break(value) = consume(part, results) {
                return Some(value);
            }
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipeline_stops_when_told() {
        let items: Vec<usize> = (0..100).collect();
        let mut seen = 0;
        let stopped = pipeline(
            &items,
            10,
            |part| part.to_vec(),
            |part, _| {
                seen += part.len();
                if seen >= 30 {
                    ControlFlow::Break(seen)
                } else {
                    ControlFlow::Continue(())
                }
            },
        );
        assert_eq!(stopped, Some(30));
    }

    #[test]
    fn keeps_order_and_every_item() {
        for len in [0, 1, 15, 16, 17, 255, 256, 257, 1000, 4099] {
            let items: Vec<usize> = (0..len).collect();
            let mapped = map(&items, |x| x * 3 + 1);
            let expected: Vec<usize> = items.iter().map(|x| x * 3 + 1).collect();
            assert_eq!(mapped, expected, "len {len}");
            assert_eq!(
                map_each(&items, |x| x * 3 + 1),
                expected,
                "len {len}, one at a time"
            );
        }
    }
}
