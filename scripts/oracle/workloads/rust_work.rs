//! Rust workload for the perfold oracle: iterator chains, closures, trait objects, and named
//! threads via `std::thread::Builder`. No dependencies; build with plain `rustc`.
//! SCALE (first argument, default 1.0) sets the run time: about 0.5 s of CPU at 1.0.
use std::collections::HashMap;
use std::hint::black_box;
use std::thread;

#[inline(never)]
fn xorshift_vec(n: usize, mut seed: u64) -> Vec<u64> {
    (0..n)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        })
        .collect()
}

#[inline(never)]
fn iterator_chain(v: &[u64], k: u64) -> u64 {
    v.iter()
        .filter(|&&x| x % 3 != 0)
        .map(|&x| x.wrapping_mul(k).rotate_left(7))
        .zip(v.iter().skip(1))
        .map(|(a, &b)| a ^ b)
        .fold(0u64, |acc, x| acc.wrapping_add(x))
}

#[inline(never)]
fn sort_with_closure(v: &mut [u64], key: impl Fn(&u64) -> u64) {
    v.sort_unstable_by_key(key);
}

#[inline(never)]
fn collatz_len(mut n: u64) -> u32 {
    let mut steps = 0;
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        steps += 1;
    }
    steps
}

#[inline(never)]
fn word_counts(rounds: usize) -> usize {
    let mut m: HashMap<String, usize> = HashMap::new();
    for i in 0..rounds {
        *m.entry(format!("w{}", i % 4096)).or_insert(0) += i;
    }
    m.len()
}

fn main() {
    let scale: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let rounds = move |base: f64| (base * scale) as usize + 1;

    let sorter = thread::Builder::new()
        .name("rs-sorter".into())
        .spawn(move || {
            let mut total = 0u64;
            for r in 0..rounds(64.0) {
                let mut v = xorshift_vec(100_000, 0x9e37_79b9 + r as u64);
                sort_with_closure(&mut v, |&x| x.rotate_right(3));
                total = total.wrapping_add(iterator_chain(&v, r as u64 + 1));
            }
            total
        })
        .unwrap();

    let collatz = thread::Builder::new()
        .name("rs-collatz".into())
        .spawn(move || {
            (1..rounds(1_000_000.0) as u64)
                .map(collatz_len)
                .max()
                .unwrap_or(0) as u64
        })
        .unwrap();

    let words = word_counts(rounds(1_800_000.0));
    let a = sorter.join().unwrap();
    let b = collatz.join().unwrap();
    println!("{}", black_box(a ^ b ^ words as u64) & 0xff);
}
