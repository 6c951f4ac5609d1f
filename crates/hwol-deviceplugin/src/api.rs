//! The kubelet device plugin API v1beta1, generated from `proto/api.proto`.
#![allow(missing_docs, clippy::all)]

tonic::include_proto!("v1beta1");

/// The wire format, byte by byte: pins the field numbers and types of the
/// vendored proto to the published v1beta1 API (a wrong number would make
/// a real kubelet read fields as unknown and drop them silently).
#[cfg(test)]
mod wire_tests {
    use super::*;
    use prost::Message;
    use std::collections::HashMap;

    #[test]
    fn register_request() {
        let m = RegisterRequest {
            version: "v1beta1".into(),
            endpoint: "a.sock".into(),
            resource_name: "x.io/y".into(),
            options: Some(DevicePluginOptions { pre_start_required: true, get_preferred_allocation_available: true }),
        };
        #[rustfmt::skip]
        let want = [
            0x0a, 7, b'v', b'1', b'b', b'e', b't', b'a', b'1', // 1 version (string)
            0x12, 6, b'a', b'.', b's', b'o', b'c', b'k',       // 2 endpoint (string)
            0x1a, 6, b'x', b'.', b'i', b'o', b'/', b'y',       // 3 resource_name (string)
            0x22, 4,                                           // 4 options (message)
                0x08, 1,                                       //   1 pre_start_required (bool)
                0x10, 1,                                       //   2 get_preferred_allocation_available (bool)
        ];
        assert_eq!(m.encode_to_vec(), want);
    }

    #[test]
    fn list_and_watch_response() {
        let m = ListAndWatchResponse {
            devices: vec![Device {
                id: "d".into(),
                health: "Healthy".into(),
                topology: Some(TopologyInfo { nodes: vec![NumaNode { id: 1 }] }),
            }],
        };
        #[rustfmt::skip]
        let want = [
            0x0a, 18,                                          // 1 devices (message)
                0x0a, 1, b'd',                                 //   1 ID (string)
                0x12, 7, b'H', b'e', b'a', b'l', b't', b'h', b'y', // 2 health (string)
                0x1a, 4,                                       //   3 topology (message)
                    0x0a, 2,                                   //     1 nodes (message)
                        0x08, 1,                               //       1 ID (int64)
        ];
        assert_eq!(m.encode_to_vec(), want);
    }

    #[test]
    fn preferred_allocation() {
        let m = PreferredAllocationRequest {
            container_requests: vec![ContainerPreferredAllocationRequest {
                available_device_i_ds: vec!["a".into()],
                must_include_device_i_ds: vec!["b".into()],
                allocation_size: 2,
            }],
        };
        #[rustfmt::skip]
        let want = [
            0x0a, 8,                  // 1 container_requests (message)
                0x0a, 1, b'a',        //   1 available_deviceIDs (repeated string)
                0x12, 1, b'b',        //   2 must_include_deviceIDs (repeated string)
                0x18, 2,              //   3 allocation_size (int32)
        ];
        assert_eq!(m.encode_to_vec(), want);
        let r = PreferredAllocationResponse {
            container_responses: vec![ContainerPreferredAllocationResponse { device_i_ds: vec!["a".into()] }],
        };
        // 1 container_responses { 1 deviceIDs "a" }
        assert_eq!(r.encode_to_vec(), [0x0a, 3, 0x0a, 1, b'a']);
    }

    #[test]
    fn allocate() {
        let m =
            AllocateRequest { container_requests: vec![ContainerAllocateRequest { devices_ids: vec!["a".into()] }] };
        // 1 container_requests { 1 devices_ids "a" }
        assert_eq!(m.encode_to_vec(), [0x0a, 3, 0x0a, 1, b'a']);

        let r = ContainerAllocateResponse {
            envs: HashMap::from([("K".to_string(), "V".to_string())]),
            mounts: vec![Mount { container_path: "c".into(), host_path: "h".into(), read_only: true }],
            devices: vec![DeviceSpec { container_path: "c".into(), host_path: "h".into(), permissions: "rw".into() }],
            annotations: HashMap::from([("A".to_string(), "B".to_string())]),
            cdi_devices: vec![CdiDevice { name: "n".into() }],
        };
        #[rustfmt::skip]
        let want = [
            0x0a, 6, 0x0a, 1, b'K', 0x12, 1, b'V',             // 1 envs (map entry: 1 key, 2 value)
            0x12, 8, 0x0a, 1, b'c', 0x12, 1, b'h', 0x18, 1,    // 2 mounts (1 container_path, 2 host_path, 3 read_only)
            0x1a, 10, 0x0a, 1, b'c', 0x12, 1, b'h', 0x1a, 2, b'r', b'w', // 3 devices (.., 3 permissions)
            0x22, 6, 0x0a, 1, b'A', 0x12, 1, b'B',             // 4 annotations (map entry)
            0x2a, 3, 0x0a, 1, b'n',                            // 5 cdi_devices (1 name)
        ];
        assert_eq!(r.encode_to_vec(), want);
        let p = PreStartContainerRequest { devices_ids: vec!["a".into()] };
        assert_eq!(p.encode_to_vec(), [0x0a, 1, b'a']);
    }

    #[test]
    fn grpc_paths() {
        // Package v1beta1: kubelet calls /v1beta1.Registration/Register and
        // /v1beta1.DevicePlugin/<Method>.
        assert_eq!(
            <registration_server::RegistrationServer<()> as tonic::server::NamedService>::NAME,
            "v1beta1.Registration"
        );
        assert_eq!(
            <device_plugin_server::DevicePluginServer<()> as tonic::server::NamedService>::NAME,
            "v1beta1.DevicePlugin"
        );
    }
}
