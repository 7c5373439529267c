//! The memory-sampling fields of `perf script`'s default output (perf 6.1
//! builtin-script.c): for PERF_TYPE_RAW events (`perf mem`, `cpu/mem-loads/`,
//! raw codes) the defaults add ADDR, DATA_SRC, WEIGHT, INS_LAT, PHYS_ADDR,
//! DATA_PAGE_SIZE and CODE_PAGE_SIZE; `evsel__check_attr` drops each one the
//! first raw event does not sample, for every raw event. Other event types
//! print none of them.
//!
//! Layout (`process_event`): after `<event>: ` come `%16lx` addr, the data
//! source column ([`super::data_src`]), `%16lu` weight and `%16u` instruction
//! latency, then the ip / callchain; after those, `%16lx` phys addr, ` <size>`
//! data page size and ` <size>` code page size, then the newline.

use super::data_src::DataSrcColumn;
use crate::reader::attrs::*;
use crate::reader::sample::Sample;

const TYPE_RAW: u32 = 4;

/// Which memory fields one event prints.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MemoryFields {
    pub addr: bool,
    pub data_src: bool,
    pub weight: bool,
    pub ins_lat: bool,
    pub phys_addr: bool,
    pub data_page_size: bool,
    pub code_page_size: bool,
}

impl MemoryFields {
    /// The fields `attr`'s samples print, among the file's `attrs`.
    pub fn for_event(attr: &Attr, attrs: &[Attr]) -> MemoryFields {
        if attr.type_ != TYPE_RAW {
            return MemoryFields::default();
        }
        let first = attrs.iter().find(|a| a.type_ == TYPE_RAW).unwrap_or(attr);
        MemoryFields {
            addr: first.has(SAMPLE_ADDR),
            data_src: first.has(SAMPLE_DATA_SRC),
            weight: first.sample_type & (SAMPLE_WEIGHT | SAMPLE_WEIGHT_STRUCT) != 0,
            ins_lat: first.has(SAMPLE_WEIGHT_STRUCT),
            phys_addr: first.has(SAMPLE_PHYS_ADDR),
            data_page_size: first.has(SAMPLE_DATA_PAGE_SIZE),
            code_page_size: first.has(SAMPLE_CODE_PAGE_SIZE),
        }
    }

    pub fn any(&self) -> bool {
        *self != MemoryFields::default()
    }
}

/// One sample's memory values.
#[derive(Debug, Default, Clone, Copy)]
pub struct MemoryValues {
    pub addr: u64,
    pub data_src: u64,
    pub weight: u64,
    pub ins_lat: u16,
    pub phys_addr: u64,
    pub data_page_size: u64,
    pub code_page_size: u64,
}

impl MemoryValues {
    pub fn of(s: &Sample) -> MemoryValues {
        MemoryValues {
            addr: s.addr,
            data_src: s.data_src,
            weight: s.weight,
            ins_lat: s.ins_lat,
            phys_addr: s.phys_addr,
            data_page_size: s.data_page_size,
            code_page_size: s.code_page_size,
        }
    }
}

/// The columns' state over a run (the data source column's width grows).
#[derive(Debug, Default)]
pub struct MemoryColumns {
    data_src: DataSrcColumn,
}

impl MemoryColumns {
    /// The fields printed between `<event>: ` and the ip.
    #[inline]
    pub fn before_ip(&mut self, out: &mut Vec<u8>, f: &MemoryFields, v: &MemoryValues) {
        // Most events print none: no call per sample for them.
        if f.addr || f.data_src || f.weight || f.ins_lat {
            self.write_before_ip(out, f, v);
        }
    }

    fn write_before_ip(&mut self, out: &mut Vec<u8>, f: &MemoryFields, v: &MemoryValues) {
        if f.addr {
            out.extend_from_slice(format!("{:16x}", v.addr).as_bytes());
        }
        if f.data_src {
            self.data_src.append(out, v.data_src);
        }
        if f.weight {
            out.extend_from_slice(format!("{:16}", v.weight).as_bytes());
        }
        if f.ins_lat {
            out.extend_from_slice(format!("{:16}", v.ins_lat).as_bytes());
        }
    }

    /// The fields printed after the ip (or the callchain), before the newline.
    #[inline]
    pub fn after_ip(out: &mut Vec<u8>, f: &MemoryFields, v: &MemoryValues) {
        if f.phys_addr || f.data_page_size || f.code_page_size {
            Self::write_after_ip(out, f, v);
        }
    }

    fn write_after_ip(out: &mut Vec<u8>, f: &MemoryFields, v: &MemoryValues) {
        if f.phys_addr {
            out.extend_from_slice(format!("{:16x}", v.phys_addr).as_bytes());
        }
        if f.data_page_size {
            out.push(b' ');
            out.extend_from_slice(page_size_name(v.data_page_size).as_bytes());
        }
        if f.code_page_size {
            out.push(b' ');
            out.extend_from_slice(page_size_name(v.code_page_size).as_bytes());
        }
    }
}

/// perf's `get_page_size_name` / `unit_number__scnprintf`: `N/A` for 0, else
/// the size divided by 1024 while the quotient stays above 1 (at most to G).
fn page_size_name(size: u64) -> String {
    if size == 0 {
        return "N/A".into();
    }
    let (mut n, mut unit) = (size, 0);
    while n / 1024 > 1 && unit < 3 {
        n /= 1024;
        unit += 1;
    }
    format!("{n}{}", ['B', 'K', 'M', 'G'][unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_as_perf_names_them() {
        let names: Vec<String> = [0, 1000, 2048, 4096, 2 << 20, 1 << 30, 12345678, 1 << 40]
            .iter()
            .map(|&s| page_size_name(s))
            .collect();
        assert_eq!(
            names,
            ["N/A", "1000B", "2K", "4K", "2M", "1024M", "11M", "1024G"]
        );
    }

    #[test]
    fn only_raw_events_print_memory_fields_decided_by_the_first_raw_event() {
        let raw = |st| Attr {
            type_: TYPE_RAW,
            sample_type: st,
            ..Default::default()
        };
        let hw = Attr {
            type_: TYPE_HARDWARE,
            sample_type: SAMPLE_ADDR | SAMPLE_DATA_SRC,
            ..Default::default()
        };
        let attrs = [
            hw.clone(),
            raw(SAMPLE_WEIGHT),
            raw(SAMPLE_ADDR | SAMPLE_WEIGHT_STRUCT),
        ];
        assert!(!MemoryFields::for_event(&attrs[0], &attrs).any());
        let second = MemoryFields::for_event(&attrs[2], &attrs);
        assert_eq!(
            second,
            MemoryFields {
                weight: true,
                ..Default::default()
            }
        );
    }
}
