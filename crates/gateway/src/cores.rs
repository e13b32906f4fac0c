//! CPU-bound work spread over every core: encrypting an import, decrypting
//! the user's records.

/// `work` applied to each of `items` on every core, each core taking one
/// contiguous share; the results in the items' order, or the first error
/// in that order.
pub(crate) fn map_on_every_core<Item, Output, Error>(
    items: &[Item],
    work: impl Fn(&Item) -> Result<Output, Error> + Sync,
) -> Result<Vec<Output>, Error>
where
    Item: Sync,
    Output: Send,
    Error: Send,
{
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let share = items.len().div_ceil(cores).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(share)
            .map(|part| {
                let work = &work;
                scope.spawn(move || part.iter().map(work).collect::<Result<Vec<_>, _>>())
            })
            .collect();
        let mut results = Vec::with_capacity(items.len());
        for worker in workers {
            results.extend(worker.join().expect("work on a core does not panic")?);
        }
        Ok(results)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_and_the_first_error_wins() {
        let items: Vec<u32> = (0..1000).collect();
        let doubled = map_on_every_core(&items, |n| Ok::<_, u32>(n * 2)).unwrap();
        assert_eq!(doubled, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        let failed = map_on_every_core(&items, |n| if n % 300 == 299 { Err(*n) } else { Ok(*n) });
        assert_eq!(failed, Err(299));
        let none: Vec<u32> = Vec::new();
        assert_eq!(map_on_every_core(&none, |n| Ok::<_, ()>(*n)), Ok(vec![]));
    }
}
