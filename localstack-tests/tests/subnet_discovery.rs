//! Subnet discovery against the emulator's EC2: the subnets of a VPC chosen by their
//! `kubernetes.io/role` and cluster tags, then an ALB created in them.

use aws_sdk_elasticloadbalancingv2 as elb;
use localstack_tests::{Emulator, Fixture};
use weir_model::Provider;
use weir_provider_aws::{AwsProvider, Client, StackDefaults, discover_subnets};

/// Creates a subnet in the test VPC with `tags` and returns its ID.
fn subnet(emulator: &Emulator, cidr: &str, zone: &str, tags: &[(&str, &str)]) -> String {
    let id = emulator.ec2_value(
        &[
            ("Action", "CreateSubnet"),
            ("VpcId", emulator.vpc_id()),
            ("CidrBlock", cidr),
            ("AvailabilityZone", zone),
        ],
        "subnetId",
    );
    let mut params = vec![
        ("Action".to_owned(), "CreateTags".to_owned()),
        ("ResourceId.1".to_owned(), id.clone()),
    ];
    for (index, (key, value)) in (1..).zip(tags) {
        params.push((format!("Tag.{index}.Key"), (*key).to_owned()));
        params.push((format!("Tag.{index}.Value"), (*value).to_owned()));
    }
    let borrowed: Vec<(&str, &str)> = params
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    emulator.ec2_value(&borrowed, "requestId");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tagged_subnets_are_discovered_per_scheme_and_the_alb_goes_into_them() {
    let emulator = Emulator::start();
    const ELB: &str = "kubernetes.io/role/elb";
    const INTERNAL: &str = "kubernetes.io/role/internal-elb";
    let public_a = subnet(&emulator, "10.0.11.0/24", "us-east-1a", &[(ELB, "1")]);
    // Another cluster's subnet, in a zone that has one of ours as well.
    subnet(
        &emulator,
        "10.0.12.0/24",
        "us-east-1b",
        &[(ELB, "1"), ("kubernetes.io/cluster/other", "owned")],
    );
    let public_b = subnet(
        &emulator,
        "10.0.13.0/24",
        "us-east-1b",
        &[(ELB, "1"), ("kubernetes.io/cluster/disco", "shared")],
    );
    let public_c = subnet(&emulator, "10.0.14.0/24", "us-east-1c", &[(ELB, "")]);
    let private_a = subnet(&emulator, "10.0.21.0/24", "us-east-1a", &[(INTERNAL, "1")]);
    let private_b = subnet(&emulator, "10.0.22.0/24", "us-east-1b", &[(INTERNAL, "1")]);

    let config = emulator.sdk_config().await;
    let discovered = discover_subnets(&config, emulator.vpc_id(), "disco")
        .await
        .expect("EC2 answers");
    let mut internet_facing = vec![public_a, public_b, public_c];
    internet_facing.sort();
    let mut internal = vec![private_a, private_b];
    internal.sort();
    assert_eq!(discovered.internet_facing, internet_facing);
    assert_eq!(discovered.internal, internal);
    assert!(discovered.problems.is_empty(), "{:?}", discovered.problems);

    let defaults = StackDefaults {
        discovered_subnets: Some(discovered),
        ..StackDefaults::default()
    };
    let provider = AwsProvider::new(
        Client::new(emulator.sdk_api().await, Emulator::client_options()),
        "disco",
        defaults,
    );
    let desired = Fixture::with_rules(2).desired();
    provider.ensure(&desired[0]).await.expect("create");
    let described = elb::Client::new(&config)
        .describe_load_balancers()
        .send()
        .await
        .expect("describe");
    let mut subnets: Vec<String> = described
        .load_balancers()
        .iter()
        .flat_map(|lb| lb.availability_zones())
        .filter_map(|zone| zone.subnet_id().map(str::to_owned))
        .collect();
    subnets.sort();
    assert_eq!(subnets, internet_facing);
    provider.delete(&desired[0].stack).await.expect("delete");

    // A VPC without tagged subnets: no error, but each scheme says what it found.
    let other_vpc = emulator.ec2_value(
        &[("Action", "CreateVpc"), ("CidrBlock", "10.1.0.0/16")],
        "vpcId",
    );
    let empty = discover_subnets(&config, &other_vpc, "disco")
        .await
        .expect("EC2 answers");
    assert!(empty.internet_facing.is_empty() && empty.internal.is_empty());
    assert_eq!(empty.problems.len(), 2, "{:?}", empty.problems);
    assert!(
        empty.problems[0].contains("kubernetes.io/role/elb=1")
            && empty.problems[0].contains("in 0 availability zone(s)"),
        "{:?}",
        empty.problems
    );
    let provider = AwsProvider::new(
        Client::new(emulator.sdk_api().await, Emulator::client_options()),
        "disco",
        StackDefaults {
            discovered_subnets: Some(empty),
            ..StackDefaults::default()
        },
    );
    let error = provider
        .ensure(&desired[0])
        .await
        .expect_err("no subnets to go into");
    assert!(
        error.to_string().contains("has no subnets")
            && error.to_string().contains("discovery by tags"),
        "{error}"
    );
}
