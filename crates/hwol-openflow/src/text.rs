//! The ovs-ofctl flow syntax: parsing `add-flow` lines and printing
//! `dump-flows` lines.
