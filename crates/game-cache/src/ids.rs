//! Object ids reserved from the store in blocks, handed out from memory.

use std::collections::VecDeque;
use std::ops::Range;

use game_domain::space_object::ObjectId;

/// Reserved, not yet used object ids, oldest block first.
#[derive(Debug, Default)]
pub(crate) struct IdBlocks {
    blocks: VecDeque<Range<ObjectId>>,
}

impl IdBlocks {
    /// Adds the block `first..first + count`.
    pub(crate) fn add(&mut self, first: ObjectId, count: i64) {
        if count > 0 {
            self.blocks.push_back(first..first.saturating_add(count));
        }
    }

    /// Ids left.
    pub(crate) fn remaining(&self) -> i64 {
        self.blocks.iter().map(|r| r.end - r.start).sum()
    }

    /// Puts ids taken but not used back in front, so they are handed out next.
    pub(crate) fn give_back(&mut self, ids: &[ObjectId]) {
        for &id in ids.iter().rev() {
            match self.blocks.front_mut() {
                Some(front) if front.start == id.saturating_add(1) => front.start = id,
                _ => self.blocks.push_front(id..id.saturating_add(1)),
            }
        }
    }

    /// `n` ids, or none at all if fewer are left.
    pub(crate) fn take(&mut self, n: usize) -> Option<Vec<ObjectId>> {
        if usize::try_from(self.remaining()).unwrap_or(usize::MAX) < n {
            return None;
        }
        let mut ids = Vec::with_capacity(n);
        while ids.len() < n {
            let block = self.blocks.front_mut()?;
            ids.extend(block.by_ref().take(n - ids.len()));
            if block.is_empty() {
                self.blocks.pop_front();
            }
        }
        Some(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_blocks_in_order_all_or_nothing() {
        let mut ids = IdBlocks::default();
        ids.add(10, 2);
        ids.add(100, 3);
        assert_eq!(ids.remaining(), 5);
        assert_eq!(ids.take(3), Some(vec![10, 11, 100]));
        assert_eq!(ids.take(3), None);
        assert_eq!(ids.remaining(), 2);
        assert_eq!(ids.take(2), Some(vec![101, 102]));
        assert_eq!(ids.take(1), None);
        assert_eq!(ids.take(0), Some(vec![]));
    }

    #[test]
    fn ids_given_back_come_out_first_and_in_order() {
        let mut ids = IdBlocks::default();
        ids.add(10, 5);
        let taken = ids.take(3).unwrap();
        assert_eq!(taken, vec![10, 11, 12]);
        ids.give_back(&taken[1..]);
        assert_eq!(ids.remaining(), 4);
        assert_eq!(ids.blocks.iter().cloned().collect::<Vec<_>>(), vec![11..15]);
        ids.give_back(&[7]);
        assert_eq!(ids.take(5), Some(vec![7, 11, 12, 13, 14]));
        assert_eq!(ids.remaining(), 0);
    }
}
