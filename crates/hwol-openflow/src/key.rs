//! The translation-time flow key and OpenFlow matches.

use bytemuck::{Pod, Zeroable};
use hwol_flow::{FlowKey, FlowMask, FLOW_WORDS};

use crate::field::Field;

/// Words in an [`OfKey`].
pub const OF_WORDS: usize = FLOW_WORDS + 10;

/// A datapath flow key plus the OpenFlow-only fields translation uses.
///
/// The datapath part comes first so that [`OfKey::dp_mask`] is a plain
/// truncation. Registers, `metadata` and `conj_id` never reach the datapath:
/// they start at zero on every datapath pass and are carried across a
/// recirculation in the frozen state instead.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Pod, Zeroable)]
pub struct OfKey {
    /// The datapath fields.
    pub dp: FlowKey,
    /// `reg0`..`reg15` (`xreg N` is `reg 2N` as the high half and `reg 2N+1` as the low half).
    pub regs: [u32; 16],
    /// The OpenFlow `metadata` field.
    pub metadata: u64,
    /// The conjunction id of a conjunctive match (`conj_id`).
    pub conj_id: u32,
    /// Padding; always zero.
    pub _pad: u32,
}

const _: () = assert!(core::mem::size_of::<OfKey>() == OF_WORDS * 8);

impl OfKey {
    /// A key for a datapath key, OpenFlow-only fields zero.
    pub fn from_dp(dp: FlowKey) -> Self {
        OfKey { dp, ..Default::default() }
    }

    /// Word view.
    pub fn words(&self) -> &[u64; OF_WORDS] {
        bytemuck::cast_ref(self)
    }

    /// Mutable word view.
    pub fn words_mut(&mut self) -> &mut [u64; OF_WORDS] {
        bytemuck::cast_mut(self)
    }

    /// `self & mask`.
    pub fn masked(&self, mask: &OfKey) -> OfKey {
        let mut out = *self;
        for (o, m) in out.words_mut().iter_mut().zip(mask.words()) {
            *o &= m;
        }
        out
    }

    /// OR `other` into `self` (mask union).
    pub fn or_assign(&mut self, other: &OfKey) {
        for (o, m) in self.words_mut().iter_mut().zip(other.words()) {
            *o |= m;
        }
    }

    /// True when every word is zero.
    pub fn is_zero(&self) -> bool {
        self.words().iter().all(|w| *w == 0)
    }

    /// The datapath part of a mask.
    pub fn dp_mask(&self) -> FlowMask {
        FlowMask(self.dp)
    }
}

/// An OpenFlow match: a key and a mask over it.
///
/// Invariant kept by every setter: `key == key & mask`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OfMatch {
    /// The values (bits outside `mask` are zero).
    pub key: OfKey,
    /// Which bits must match.
    pub mask: OfKey,
}

impl OfMatch {
    /// The match-everything match.
    pub fn catchall() -> Self {
        OfMatch::default()
    }

    /// Match `field` exactly against `value`.
    pub fn set(&mut self, field: Field, value: u128) -> &mut Self {
        self.set_masked(field, value, field.all_ones())
    }

    /// Match the bits of `field` selected by `mask` against `value`.
    pub fn set_masked(&mut self, field: Field, value: u128, mask: u128) -> &mut Self {
        let mask = mask & field.all_ones();
        field.put_mask(&mut self.mask, mask);
        field.put(&mut self.key, value & mask);
        self
    }

    /// The value and mask of `field` (mask 0 means "not matched").
    pub fn get(&self, field: Field) -> (u128, u128) {
        (field.get(&self.key), field.get_mask(&self.mask))
    }

    /// True when `key` satisfies the match.
    pub fn matches(&self, key: &OfKey) -> bool {
        self.key.words().iter().zip(self.mask.words()).zip(key.words()).all(|((v, m), k)| (k & m) == *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_sets_and_reads_fields() {
        let mut m = OfMatch::catchall();
        m.set(Field::EthType, 0x0800).set_masked(Field::IpDst, 0xc0a8_0100, 0xffff_ff00).set(Field::Reg(3), 7);
        assert_eq!(m.get(Field::IpDst), (0xc0a8_0100, 0xffff_ff00));
        let mut k = OfKey::default();
        k.dp.eth_type = 0x0800;
        k.dp.nw_dst = [192, 168, 1, 77];
        k.regs[3] = 7;
        assert!(m.matches(&k));
        k.dp.nw_dst = [192, 168, 2, 77];
        assert!(!m.matches(&k));
    }
}
