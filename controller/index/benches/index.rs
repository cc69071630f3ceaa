//! The index at scale: 10,000 Ingresses (5,000 alone, 5,000 in 1,000 IngressGroups of 5) and
//! 50,000 EndpointSlices (see `fixture`). Measures building it (every object applied, every
//! stack translated once), mapping one change (EndpointSlice, Ingress, Service) to the stacks it
//! affects, and translating one affected stack. `examples/index_memory.rs` reports its memory.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use weir_translate::{Kind, KubeObject};

#[path = "fixture/mod.rs"]
mod fixture;

use fixture::{GROUPED, INGRESSES, SLICES_PER_SERVICE, build, stack_of};

fn bench(c: &mut Criterion) {
    let objects: Vec<KubeObject> = fixture::objects().collect();
    let mut index = build(objects.iter().cloned());
    assert_eq!(index.count(Kind::Ingress), INGRESSES);
    assert_eq!(
        index.count(Kind::EndpointSlice),
        INGRESSES * SLICES_PER_SERVICE
    );
    assert_eq!(
        index.stacks().len(),
        GROUPED / fixture::GROUP_SIZE + (INGRESSES - GROUPED)
    );

    let mut group = c.benchmark_group("index 10k ingresses 50k slices");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("build: apply every object, translate every stack", |b| {
        b.iter_batched(
            || objects.clone(),
            |objects| build(black_box(objects)),
            BatchSize::LargeInput,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("index 10k ingresses 50k slices, one change");
    // Alternate two versions of each object so that every apply is a real change.
    let grouped = 42; // a member of group g8
    let lone = GROUPED + 42;
    let mut variant = 0;
    let mut next = move || {
        variant = (variant + 1) % 2;
        variant + 1
    };
    assert_eq!(
        index.apply(fixture::slice(grouped, 3, 7)),
        [stack_of(grouped)].into()
    );
    group.bench_function("apply one EndpointSlice (grouped Service)", |b| {
        b.iter_batched(
            || fixture::slice(grouped, 3, next()),
            |slice| index.apply(black_box(slice)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("apply one EndpointSlice (lone Service)", |b| {
        b.iter_batched(
            || fixture::slice(lone, 3, next()),
            |slice| index.apply(black_box(slice)),
            BatchSize::SmallInput,
        )
    });
    assert_eq!(
        index.apply(fixture::ingress(grouped, 9)),
        [stack_of(grouped)].into()
    );
    group.bench_function("apply one Ingress (group member)", |b| {
        b.iter_batched(
            || fixture::ingress(grouped, next()),
            |ingress| index.apply(black_box(ingress)),
            BatchSize::SmallInput,
        )
    });
    assert_eq!(
        index.apply(fixture::service(grouped, 9)),
        [stack_of(grouped)].into()
    );
    group.bench_function("apply one Service", |b| {
        b.iter_batched(
            || fixture::service(grouped, next()),
            |service| index.apply(black_box(service)),
            BatchSize::SmallInput,
        )
    });
    let group_stack = stack_of(grouped);
    group.bench_function(
        "translate one affected stack (group of 5, 25 slices)",
        |b| b.iter(|| index.translate(black_box(&group_stack))),
    );
    let lone_stack = stack_of(lone);
    group.bench_function("translate one affected stack (lone, 5 slices)", |b| {
        b.iter(|| index.translate(black_box(&lone_stack)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
