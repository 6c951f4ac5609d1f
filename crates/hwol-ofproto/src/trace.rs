//! `ofproto/trace`: explain one packet's way through the tables.
