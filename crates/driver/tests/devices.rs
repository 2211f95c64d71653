//! Devices, attributes, driver version, device specs.

mod common;

use common::devices;
use ferrocuda_driver::{self as driver, Device, DeviceAttribute, ErrorCode, Platform};

#[test]
fn one_list_gpus_first_then_the_cpu_device() {
    devices();
    let all = Device::all().unwrap();
    assert_eq!(Device::count().unwrap(), all.len());
    let cpu_pos = all
        .iter()
        .position(|d| d.platform() == Platform::Cpu)
        .unwrap();
    assert_eq!(cpu_pos, all.len() - 1, "the CPU device comes last");
    for (i, d) in all.iter().enumerate() {
        assert_eq!(d.ordinal(), i);
        assert_eq!(Device::get(i).unwrap(), *d);
    }
    let e = Device::get(all.len()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidDevice);
    assert!(e.to_string().starts_with("CUDA_ERROR_INVALID_DEVICE"));
}

#[test]
fn specs_name_devices() {
    let all = devices();
    let cpu = Device::from_spec("cpu").unwrap();
    assert_eq!(cpu.platform(), Platform::Cpu);
    assert_eq!(cpu.to_string(), "cpu");
    assert_eq!(Device::from_spec(" CPU ").unwrap(), cpu);
    assert_eq!(Device::from_spec(&cpu.ordinal().to_string()).unwrap(), cpu);
    assert_eq!(
        Device::from_spec("gpu0").unwrap_err().code(),
        ErrorCode::InvalidValue
    );
    assert_eq!(
        Device::from_spec("cuda:x").unwrap_err().code(),
        ErrorCode::InvalidValue
    );
    let gpus = all
        .iter()
        .filter(|d| d.platform() == Platform::Nvidia)
        .count();
    let e = Device::from_spec(&format!("cuda:{gpus}")).unwrap_err();
    if gpus == 0 {
        assert_eq!(e.code(), ErrorCode::NoDevice);
        assert!(driver::nvidia_unavailable_reason().is_some());
    } else {
        assert_eq!(e.code(), ErrorCode::InvalidDevice);
        let g = Device::from_spec("cuda:0").unwrap();
        assert_eq!(g.platform(), Platform::Nvidia);
        assert_eq!(g.to_string(), "cuda:0");
        assert_eq!(g.ordinal(), 0);
    }
}

#[test]
fn every_device_answers_the_device_query_attributes() {
    for d in devices() {
        let name = d.name().unwrap();
        assert!(!name.is_empty());
        assert!(d.total_memory().unwrap() > 0);
        let (major, minor) = d.compute_capability().unwrap();
        assert!(
            major >= 5 && (0..10).contains(&minor),
            "{d}: {major}.{minor}"
        );
        let a = |attr| d.attribute(attr).unwrap();
        assert_eq!(a(DeviceAttribute::WarpSize), 32);
        assert_eq!(a(DeviceAttribute::MaxThreadsPerBlock), 1024);
        assert_eq!(a(DeviceAttribute::MaxBlockDimX), 1024);
        assert_eq!(a(DeviceAttribute::MaxBlockDimZ), 64);
        assert_eq!(a(DeviceAttribute::MaxGridDimX), i32::MAX);
        assert_eq!(a(DeviceAttribute::MaxGridDimY), 65535);
        assert!(a(DeviceAttribute::MultiprocessorCount) >= 1);
        assert_eq!(a(DeviceAttribute::MaxSharedMemoryPerBlock), 48 * 1024);
        assert!(
            a(DeviceAttribute::MaxSharedMemoryPerBlockOptin)
                >= a(DeviceAttribute::MaxSharedMemoryPerBlock)
        );
        assert!(a(DeviceAttribute::MaxRegistersPerBlock) >= 32 * 1024);
        assert!(a(DeviceAttribute::ClockRate) > 0);
        assert!(a(DeviceAttribute::L2CacheSize) > 0);
        assert!(a(DeviceAttribute::ConcurrentKernels) == 1);
        for &attr in DeviceAttribute::ALL {
            // Every attribute answers (some are 0 or -1 where not applicable).
            d.attribute(attr)
                .unwrap_or_else(|e| panic!("{d} {}: {e}", attr.name()));
            assert_eq!(DeviceAttribute::from_raw(attr.as_raw()), Some(attr));
        }
        assert_eq!(d.uuid().unwrap().len(), 16);
    }
}

#[test]
fn cpu_device_reports_its_properties() {
    devices();
    let cpu = Device::from_spec("cpu").unwrap();
    assert_eq!(cpu.name().unwrap(), "ferrocuda CPU device");
    assert_eq!(cpu.compute_capability().unwrap(), (9, 0));
    assert_eq!(cpu.attribute(DeviceAttribute::Integrated).unwrap(), 1);
    assert_eq!(
        cpu.attribute(DeviceAttribute::UnifiedAddressing).unwrap(),
        0
    );
    assert_eq!(
        cpu.attribute(DeviceAttribute::MaxSharedMemoryPerBlockOptin)
            .unwrap(),
        227 * 1024
    );
}

#[test]
fn driver_version_is_cuda_style() {
    devices();
    let v = driver::driver_version().unwrap();
    assert!(v >= 11000 && v % 10 == 0, "{v}");
}

#[test]
fn nvidia_reason_is_consistent_with_the_device_list() {
    let all = devices();
    let gpus = all.iter().any(|d| d.platform() == Platform::Nvidia);
    match driver::nvidia_unavailable_reason() {
        Some(reason) => {
            assert!(!gpus);
            assert!(!reason.is_empty());
            eprintln!("no NVIDIA devices: {reason}");
        }
        None => assert!(gpus || all.len() == 1),
    }
}
