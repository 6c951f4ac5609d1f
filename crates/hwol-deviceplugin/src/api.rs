//! The kubelet device plugin API v1beta1, generated from `proto/api.proto`.
#![allow(missing_docs, clippy::all)]

tonic::include_proto!("v1beta1");
