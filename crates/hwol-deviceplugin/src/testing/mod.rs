//! Test support, public so that integration tests (here and in other
//! crates) can use it: a kubelet emulator that speaks the real device
//! plugin API, and realistic sysfs fixture trees.

pub mod fixture;
pub mod kubelet;

/// The `config.json` of the seed's `sriovdp-config` ConfigMap, verbatim
/// (deploy/sriovdp-config.yaml holds the same text; a test checks it).
pub const SEED_CONFIG_JSON: &str = r#"{
  "resourceList": [{
      "resourcePrefix": "mellanox.com",
      "resourceName": "cx5_sriov_switchdev",
      "isRdma": true,
      "selectors": {
              "vendors": ["15b3"],
              "devices": ["1018"],
              "drivers": ["mlx5_core"]
          }
  }
  ]
}
"#;
