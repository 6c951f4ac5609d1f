//! Recirculation ids and the frozen translation state behind them.
//!
//! When translation reaches `ct(table=T)`, the datapath must run conntrack
//! and then look the packet up again. The datapath knows nothing about
//! OpenFlow, so the rest of the pipeline is "frozen": the table to resume
//! in, plus the OpenFlow-only state that must survive (registers, metadata,
//! the input port). The frozen state gets a recirc id, emitted as
//! `recirc(id)`; a miss on `recirc_id(id)` thaws it and resumes translation.
//!
//! Ids are interned: the same frozen state always gets the same id, so all
//! packets of a pipeline share a handful of ids and their megaflows. An id
//! is referenced by the installed megaflows whose actions emit it; when the
//! last one is deleted the id is freed, and a later miss on it (a stale
//! packet) translates to a drop.

use std::collections::HashMap;

/// What translation needs to resume after a recirculation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrozenState {
    /// Table to resume in.
    pub table: u8,
    /// Registers at the time of the freeze.
    pub regs: [u32; 16],
    /// `metadata` at the time of the freeze.
    pub metadata: u64,
    /// OpenFlow input port (it can differ from the datapath's after `resubmit(port,...)`).
    pub in_port: u32,
}

#[derive(Debug)]
struct Slot {
    state: FrozenState,
    refs: usize,
}

/// The recirc id allocator.
#[derive(Debug)]
pub struct RecircTable {
    by_state: HashMap<FrozenState, u32>,
    by_id: HashMap<u32, Slot>,
    next: u32,
}

impl Default for RecircTable {
    fn default() -> Self {
        RecircTable { by_state: HashMap::new(), by_id: HashMap::new(), next: 1 }
    }
}

impl RecircTable {
    /// The id for `state`, allocating one if needed (with no references yet).
    pub fn intern(&mut self, state: FrozenState) -> u32 {
        if let Some(id) = self.by_state.get(&state) {
            return *id;
        }
        // Ids are 32-bit and 0 means "not recirculated"; skip ids in use.
        let mut id = self.next;
        while id == 0 || self.by_id.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        self.next = id.wrapping_add(1);
        self.by_state.insert(state, id);
        self.by_id.insert(id, Slot { state, refs: 0 });
        id
    }

    /// Every allocated id and its state, by id.
    pub fn export(&self) -> Vec<(u32, FrozenState)> {
        let mut v: Vec<(u32, FrozenState)> = self.by_id.iter().map(|(id, s)| (*id, s.state)).collect();
        v.sort_by_key(|(id, _)| *id);
        v
    }

    /// Re-create `id` for `state` (a previous run's allocation, so that its
    /// megaflows still in the fast path keep meaning the same thing). Refused
    /// (false) if the id or the state is already in use.
    pub fn restore(&mut self, id: u32, state: FrozenState) -> bool {
        if id == 0 || self.by_id.contains_key(&id) || self.by_state.contains_key(&state) {
            return false;
        }
        self.by_state.insert(state, id);
        self.by_id.insert(id, Slot { state, refs: 0 });
        self.next = self.next.max(id.wrapping_add(1));
        true
    }

    /// The frozen state behind `id`.
    pub fn get(&self, id: u32) -> Option<&FrozenState> {
        self.by_id.get(&id).map(|s| &s.state)
    }

    /// A megaflow that emits `recirc(id)` was installed.
    pub fn add_ref(&mut self, id: u32) {
        if let Some(s) = self.by_id.get_mut(&id) {
            s.refs += 1;
        }
    }

    /// A megaflow that emitted `recirc(id)` was deleted.
    pub fn del_ref(&mut self, id: u32) {
        if let Some(s) = self.by_id.get_mut(&id) {
            s.refs = s.refs.saturating_sub(1);
        }
    }

    /// Free every id no installed megaflow references; returns how many.
    pub fn gc(&mut self) -> usize {
        let dead: Vec<u32> = self.by_id.iter().filter(|(_, s)| s.refs == 0).map(|(id, _)| *id).collect();
        for id in &dead {
            if let Some(s) = self.by_id.remove(id) {
                self.by_state.remove(&s.state);
            }
        }
        dead.len()
    }

    /// Ids currently allocated.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when no id is allocated.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

impl FrozenState {
    /// One line of text: `table in_port metadata reg0 .. reg15`, in hex.
    pub fn to_line(&self) -> String {
        let mut s = format!("{:x} {:x} {:x}", self.table, self.in_port, self.metadata);
        for r in self.regs {
            s.push_str(&format!(" {r:x}"));
        }
        s
    }

    /// Inverse of [`FrozenState::to_line`].
    pub fn from_line(line: &str) -> Option<FrozenState> {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 19 {
            return None;
        }
        let mut regs = [0u32; 16];
        for (r, t) in regs.iter_mut().zip(&f[3..]) {
            *r = u32::from_str_radix(t, 16).ok()?;
        }
        Some(FrozenState {
            table: u8::from_str_radix(f[0], 16).ok()?,
            in_port: u32::from_str_radix(f[1], 16).ok()?,
            metadata: u64::from_str_radix(f[2], 16).ok()?,
            regs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(table: u8) -> FrozenState {
        FrozenState { table, regs: [0; 16], metadata: 0, in_port: 1 }
    }

    #[test]
    fn export_and_restore_keep_ids() {
        let mut a = RecircTable::default();
        let mut s2 = st(2);
        s2.regs[3] = 0xdead;
        let (i1, i2) = (a.intern(st(1)), a.intern(s2));
        let mut b = RecircTable::default();
        for (id, s) in a.export() {
            let line = s.to_line();
            assert!(b.restore(id, FrozenState::from_line(&line).unwrap()));
        }
        assert_eq!(b.intern(s2), i2);
        assert_eq!(b.intern(st(1)), i1);
        assert_ne!(b.intern(st(3)), i1);
        assert!(!b.restore(i1, st(9)), "id in use");
        assert!(FrozenState::from_line("1 2 3").is_none());
    }

    #[test]
    fn interning_reuses_ids_and_gc_frees_unreferenced_ones() {
        let mut r = RecircTable::default();
        let a = r.intern(st(1));
        assert_eq!(r.intern(st(1)), a);
        let b = r.intern(st(2));
        assert_ne!(a, b);
        r.add_ref(a);
        assert_eq!(r.gc(), 1, "b had no references");
        assert!(r.get(b).is_none());
        assert_eq!(r.get(a).unwrap().table, 1);
        r.del_ref(a);
        assert_eq!(r.gc(), 1);
        assert!(r.is_empty());
    }
}
