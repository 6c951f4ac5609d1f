//! `hwol nic emulate ...`: create, attach, show and destroy an emulated
//! SR-IOV NIC (veth pairs standing in for VFs and their representors), see
//! `hwol_netdev::emunic`.
//!
//! `hwol nic setup` / `hwol nic status`: provision a real SR-IOV NIC
//! (sriov_numvfs, switchdev, hw-tc-offload, representors) and show its
//! state, see `hwol_nic`.
//!
//! Progress lines go to stderr, tables and results to stdout.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use hwol_netdev::emunic::{self, EmulatedNic, Ipv4Cidr, NicOptions, PodSpec, Vf};
use hwol_netdev::netns::Netns;

/// `hwol nic ...`.
#[derive(Subcommand, Debug)]
pub enum NicCommand {
    /// An emulated SR-IOV NIC made of veth pairs (for machines without SR-IOV).
    #[command(subcommand)]
    Emulate(EmulateCommand),
    /// Create VFs on a PF and put its eswitch in switchdev mode (idempotent).
    Setup(SetupArgs),
    /// Show PFs, their VFs and representors.
    Status(StatusArgs),
}

/// Arguments of `hwol nic setup`.
#[derive(Args, Debug)]
pub struct SetupArgs {
    /// The PF netdev, e.g. enp3s0f0np0.
    #[arg(long)]
    pub pf: String,
    /// Number of VFs.
    #[arg(long)]
    pub vfs: u32,
    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Sysfs root (a recorded tree; only with --dry-run).
    #[arg(long, default_value = "/")]
    pub sysfs_root: std::path::PathBuf,
    /// Seconds to wait for the representors.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
}

/// Arguments of `hwol nic status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Only this PF (default: every SR-IOV PF found).
    #[arg(long)]
    pub pf: Option<String>,
    /// Sysfs root (a recorded tree).
    #[arg(long, default_value = "/")]
    pub sysfs_root: std::path::PathBuf,
}

/// `hwol nic emulate ...`.
#[derive(Subcommand, Debug)]
pub enum EmulateCommand {
    /// Create N VFs: veth pairs <PREFIX>vf<i> (VF) / <PREFIX>r<i> (representor, up).
    Create(CreateArgs),
    /// Move a VF into a pod's network namespace and configure it.
    Attach(AttachArgs),
    /// Move a VF back from its pod to the host.
    Detach(DetachArgs),
    /// List the VFs of an emulated NIC and where they are attached.
    Show(PrefixArgs),
    /// Remove everything an emulated NIC with this prefix created (safe to rerun).
    Destroy(PrefixArgs),
}

/// Arguments of `hwol nic emulate create`.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Interface name prefix; names are <PREFIX>vf<i> and <PREFIX>r<i>, at most 15 bytes.
    #[arg(long)]
    pub prefix: String,
    /// Number of VFs.
    #[arg(long, default_value_t = 2)]
    pub vfs: u32,
    /// MTU of both ends of every pair.
    #[arg(long)]
    pub mtu: Option<u32>,
}

/// Arguments of `hwol nic emulate attach`.
#[derive(Args, Debug)]
pub struct AttachArgs {
    /// The emulated NIC's prefix.
    #[arg(long)]
    pub prefix: String,
    /// VF index.
    #[arg(long)]
    pub vf: u32,
    /// Pod network namespace: a name under /run/netns (created if missing) or an absolute path.
    #[arg(long)]
    pub netns: String,
    /// IPv4 address with prefix length, e.g. 10.0.0.1/24.
    #[arg(long)]
    pub ip: String,
    /// Default gateway inside the pod.
    #[arg(long)]
    pub gateway: Option<std::net::Ipv4Addr>,
    /// MAC address of the VF (default: the VF's own, 02:...).
    #[arg(long)]
    pub mac: Option<String>,
    /// MTU of the VF and its representor.
    #[arg(long)]
    pub mtu: Option<u32>,
    /// Name of the VF inside the pod.
    #[arg(long, default_value = "eth0")]
    pub ifname: String,
    /// Fail instead of creating a missing named netns.
    #[arg(long)]
    pub no_create_netns: bool,
}

/// Arguments of `hwol nic emulate detach`.
#[derive(Args, Debug)]
pub struct DetachArgs {
    /// The emulated NIC's prefix.
    #[arg(long)]
    pub prefix: String,
    /// VF index.
    #[arg(long)]
    pub vf: u32,
}

/// Arguments naming an emulated NIC.
#[derive(Args, Debug)]
pub struct PrefixArgs {
    /// The emulated NIC's prefix.
    #[arg(long)]
    pub prefix: String,
}

fn progress(line: &str) {
    eprintln!("hwol: {line}");
}

/// Run a `hwol nic` command, printing results to stdout.
pub fn run(cmd: &NicCommand) -> Result<bool> {
    let cmd = match cmd {
        NicCommand::Emulate(cmd) => cmd,
        NicCommand::Setup(a) => return setup(a),
        NicCommand::Status(a) => return status(a),
    };
    match cmd {
        EmulateCommand::Create(a) => {
            let opts = NicOptions { mtu: a.mtu, destroy_on_drop: false };
            let nic = EmulatedNic::create_with_progress(&a.prefix, a.vfs, &opts, &mut progress)
                .with_context(|| format!("creating emulated NIC {:?} with {} VFs", a.prefix, a.vfs))?;
            print!("{}", vf_table(nic.vfs()));
        }
        EmulateCommand::Attach(a) => {
            let ipv4: Ipv4Cidr = a.ip.parse()?;
            let mac = a.mac.as_deref().map(emunic::parse_mac).transpose()?;
            let mut nic = EmulatedNic::open(&a.prefix)?;
            let spec = PodSpec {
                netns: Netns::parse(&a.netns),
                create_netns: !a.no_create_netns,
                ifname: a.ifname.clone(),
                mac,
                ipv4: Some(ipv4),
                gateway: a.gateway,
                mtu: a.mtu,
            };
            nic.attach_pod_with_progress(a.vf, &spec, &mut progress)
                .with_context(|| format!("attaching VF {} of {:?} to netns {}", a.vf, a.prefix, a.netns))?;
            print!("{}", vf_table(nic.vfs()));
        }
        EmulateCommand::Detach(a) => {
            let mut nic = EmulatedNic::open(&a.prefix)?;
            nic.detach_pod(a.vf).with_context(|| format!("detaching VF {} of {:?}", a.vf, a.prefix))?;
            print!("{}", vf_table(nic.vfs()));
        }
        EmulateCommand::Show(a) => {
            let nic = EmulatedNic::open(&a.prefix)?;
            print!("{}", vf_table(nic.vfs()));
        }
        EmulateCommand::Destroy(a) => {
            let removed = emunic::destroy_prefix(&a.prefix, &mut progress)
                .with_context(|| format!("destroying emulated NIC {:?}", a.prefix))?;
            if removed.is_empty() {
                println!("nothing to remove for prefix {}", a.prefix);
            }
            for r in removed {
                println!("removed {r}");
            }
        }
    }
    Ok(true)
}

/// `hwol nic setup`: plan, then run the plan unless --dry-run.
fn setup(a: &SetupArgs) -> Result<bool> {
    use hwol_nic::exec::{self, NicOps, SystemNic};
    let sys = hwol_nic::Sysfs::new(&a.sysfs_root);
    if !sys.is_live() && !a.dry_run {
        anyhow::bail!("--sysfs-root {} is a recorded tree: add --dry-run", a.sysfs_root.display());
    }
    let mut nic = SystemNic::new(sys);
    let state = nic.read_state(&a.pf)?;
    let plan = hwol_nic::plan::plan(&state, a.vfs)?;
    if a.dry_run || plan.nothing_to_do() {
        print!("{plan}");
        if plan.nothing_to_do() {
            print!("{}", exec::vf_table(&state));
        }
        return Ok(true);
    }
    let opts = exec::ExecOptions { rep_timeout: std::time::Duration::from_secs(a.timeout), ..Default::default() };
    exec::execute(&mut nic, &plan, &opts, &mut progress)?;
    let state = nic.read_state(&a.pf)?;
    // What a second run would do: nothing, unless the NIC did not follow.
    let left: Vec<String> = hwol_nic::plan::plan(&state, a.vfs)?.todo().map(|p| p.step.title()).collect();
    if !left.is_empty() {
        anyhow::bail!("{} is not fully set up after the run; still to do: {}", a.pf, left.join(", "));
    }
    progress(&format!("{} is set up with {} VFs", a.pf, a.vfs));
    print!("{}", exec::vf_table(&state));
    Ok(true)
}

/// `hwol nic status`.
fn status(a: &StatusArgs) -> Result<bool> {
    use hwol_nic::exec::{self, NicOps, SystemNic};
    let sys = hwol_nic::Sysfs::new(&a.sysfs_root);
    let pfs = match &a.pf {
        Some(pf) => vec![pf.clone()],
        None => hwol_nic::discover::sriov_pfs(&sys),
    };
    if pfs.is_empty() {
        println!(
            "no SR-IOV PF found under {} (no netdev whose device has sriov_numvfs)",
            sys.path("sys/class/net").display()
        );
    }
    let mut nic = SystemNic::new(sys);
    for pf in pfs {
        print!("{}", exec::status_text(&nic.read_state(&pf)?));
    }
    Ok(true)
}

/// The VF table: index, VF netdev, representor, its ifindex, VF MAC, pod.
pub fn vf_table(vfs: &[Vf]) -> String {
    let mut rows = vec![["VF", "VF NETDEV", "REPRESENTOR", "REP IFINDEX", "VF MAC", "POD"].map(String::from)];
    for v in vfs {
        let pod = match &v.attached {
            Some(a) => format!("{} in netns {}", a.ifname, a.netns),
            None => "-".into(),
        };
        rows.push([
            v.index.to_string(),
            v.vf_ifname.clone(),
            v.representor.ifname.clone(),
            v.representor.ifindex.to_string(),
            emunic::format_mac(&v.vf_mac),
            pod,
        ]);
    }
    hwol_nic::exec::columns(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hwol_netdev::emunic::{Attachment, Representor};

    #[test]
    fn table() {
        let vf = |i: u32, attached: Option<Attachment>| Vf {
            index: i,
            vf_ifname: emunic::vf_ifname("hw", i),
            vf_mac: emunic::vf_mac("hw", i),
            representor: Representor { ifname: emunic::rep_ifname("hw", i), ifindex: 40 + i, mac: [2, 0, 0, 0, 0, 1] },
            attached,
        };
        let a = Attachment { netns: Netns::Named("pod1".into()), netns_owned: true, ifname: "eth0".into() };
        insta::assert_snapshot!(vf_table(&[vf(0, Some(a)), vf(1, None)]), @r"
        VF  VF NETDEV  REPRESENTOR  REP IFINDEX  VF MAC             POD
        0   hwvf0      hwr0         40           02:3a:c7:60:00:00  eth0 in netns pod1
        1   hwvf1      hwr1         41           02:3a:c7:60:00:01  -
        ");
    }
}
