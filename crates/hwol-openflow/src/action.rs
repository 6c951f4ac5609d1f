//! The OpenFlow action IR.
//!
//! These mirror the actions ovs-ofctl accepts; `hwol-ofproto` translates them
//! into datapath actions. Special ports (`NORMAL`, `IN_PORT`, `FLOOD`, ...)
//! have their own variants rather than being magic numbers in `Output`.

use hwol_flow::{EthAddr, NatAction};

use crate::field::Field;

/// A bit range of a field: `NXM_NX_REG0[16]`, `NXM_NX_REG1[0..15]`, or the
/// whole field (`NXM_NX_REG1[]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubField {
    /// The field.
    pub field: Field,
    /// Offset of the lowest bit.
    pub ofs: u16,
    /// Number of bits.
    pub n_bits: u16,
}

impl SubField {
    /// The whole field.
    pub fn whole(field: Field) -> Self {
        SubField { field, ofs: 0, n_bits: field.width() }
    }

    /// The mask of the selected bits, in the field's numeric space.
    pub fn mask(&self) -> u128 {
        let ones = if self.n_bits >= 128 { u128::MAX } else { (1u128 << self.n_bits) - 1 };
        ones << self.ofs
    }

    /// True when the range fits inside the field.
    pub fn is_valid(&self) -> bool {
        self.n_bits > 0 && self.ofs as u32 + self.n_bits as u32 <= self.field.width() as u32
    }
}

/// Where `ct(zone=...)` takes the zone from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CtZone {
    /// A constant zone.
    Imm(u16),
    /// Bits of a field, e.g. `NXM_NX_REG4[0..15]`.
    Field(SubField),
}

impl Default for CtZone {
    fn default() -> Self {
        CtZone::Imm(0)
    }
}

/// The `ct(...)` action.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct OfCt {
    /// Commit the connection.
    pub commit: bool,
    /// `force`: commit, replacing a connection in the opposite direction.
    pub force: bool,
    /// The zone.
    pub zone: CtZone,
    /// `table=T`: recirculate and resume at table T with the conntrack fields set.
    pub table: Option<u8>,
    /// `exec(...)`: `set_field`/`load` actions on `ct_mark`/`ct_label`, applied on commit.
    pub exec: Vec<OfAction>,
    /// `nat(...)`; parsed and carried, translated to a datapath action that
    /// the software datapath refuses with a drop reason until NAT exists.
    pub nat: Option<NatAction>,
    /// `alg=ftp|tftp`.
    pub alg: Option<String>,
}

/// One OpenFlow action.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OfAction {
    /// `output:N`.
    Output(u32),
    /// `output:NXM_NX_REG1[]`: output to the port number held in a field.
    OutputReg(SubField),
    /// `in_port`: send back out of the input port.
    InPort,
    /// `NORMAL`: the L2 learning switch.
    Normal,
    /// `FLOOD`: all ports except the input port.
    Flood,
    /// `ALL`: all ports except the input port.
    All,
    /// `LOCAL`: the bridge's local port.
    Local,
    /// `CONTROLLER` (hwol has no controller channel for packet-in yet: the
    /// packet is dropped and the trace says so).
    Controller,
    /// `drop` (only meaningful alone).
    Drop,
    /// `resubmit(port,table)`: look the packet up again, optionally as if
    /// from another port and in another table.
    Resubmit {
        /// Port to pretend the packet came in on (`None` keeps `in_port`).
        in_port: Option<u32>,
        /// Table to look in (`None` means the current table).
        table: Option<u8>,
    },
    /// `goto_table:T`.
    GotoTable(u8),
    /// `ct(...)`.
    Ct(OfCt),
    /// `ct_clear`.
    CtClear,
    /// `set_field:value/mask->field`.
    SetField {
        /// The field.
        field: Field,
        /// The value.
        value: u128,
        /// Which bits to set (all-ones for an unmasked `set_field`).
        mask: u128,
    },
    /// `load:value->dst`.
    Load {
        /// Destination bits.
        dst: SubField,
        /// Value (right-aligned: bit 0 goes to `dst.ofs`).
        value: u128,
    },
    /// `move:src->dst`.
    Move {
        /// Source bits.
        src: SubField,
        /// Destination bits (same width).
        dst: SubField,
    },
    /// `mod_dl_src:mac`.
    ModDlSrc(EthAddr),
    /// `mod_dl_dst:mac`.
    ModDlDst(EthAddr),
    /// `mod_vlan_vid:vid` (pushes a tag if there is none).
    ModVlanVid(u16),
    /// `mod_vlan_pcp:pcp`.
    ModVlanPcp(u8),
    /// `dec_ttl`.
    DecTtl,
    /// `push_vlan:tpid`.
    PushVlan(u16),
    /// `pop_vlan` (`strip_vlan`).
    PopVlan,
    /// `conjunction(id,k/n)`.
    Conjunction {
        /// Conjunction id.
        id: u32,
        /// This flow's clause number, 1-based.
        clause: u8,
        /// Number of clauses.
        n_clauses: u8,
    },
    /// `note:hex`: carried, does nothing.
    Note(Vec<u8>),
}

impl OfAction {
    /// The action that outputs to port `p`: the reserved ports (`IN_PORT`,
    /// `NORMAL`, `FLOOD`, `ALL`, `CONTROLLER`, `LOCAL`) get their own
    /// variants, every other number is [`OfAction::Output`].
    pub fn output_to(p: u32) -> OfAction {
        use crate::ofp_port;
        match p {
            ofp_port::IN_PORT => OfAction::InPort,
            ofp_port::NORMAL => OfAction::Normal,
            ofp_port::FLOOD => OfAction::Flood,
            ofp_port::ALL => OfAction::All,
            ofp_port::CONTROLLER => OfAction::Controller,
            ofp_port::LOCAL => OfAction::Local,
            n => OfAction::Output(n),
        }
    }
}
