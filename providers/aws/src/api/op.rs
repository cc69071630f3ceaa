//! Every AWS operation weir calls, with its IAM actions. The bottom of the house: it imports
//! nothing of this crate.

use std::fmt;

use serde::Serialize;

/// Every AWS operation the provider calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Op {
    /// `tag:GetResources` (resource discovery by ownership tags).
    GetResources,
    /// `elasticloadbalancing:DescribeLoadBalancers`.
    DescribeLoadBalancers,
    /// `elasticloadbalancing:CreateLoadBalancer`.
    CreateLoadBalancer,
    /// `elasticloadbalancing:DeleteLoadBalancer`.
    DeleteLoadBalancer,
    /// `elasticloadbalancing:SetSubnets`.
    SetSubnets,
    /// `elasticloadbalancing:SetSecurityGroups`.
    SetSecurityGroups,
    /// `elasticloadbalancing:DescribeListeners`.
    DescribeListeners,
    /// `elasticloadbalancing:CreateListener`.
    CreateListener,
    /// `elasticloadbalancing:ModifyListener`.
    ModifyListener,
    /// `elasticloadbalancing:DeleteListener`.
    DeleteListener,
    /// `elasticloadbalancing:DescribeListenerCertificates`.
    DescribeListenerCertificates,
    /// `elasticloadbalancing:AddListenerCertificates`.
    AddListenerCertificates,
    /// `elasticloadbalancing:RemoveListenerCertificates`.
    RemoveListenerCertificates,
    /// `elasticloadbalancing:DescribeRules`.
    DescribeRules,
    /// `elasticloadbalancing:CreateRule`.
    CreateRule,
    /// `elasticloadbalancing:ModifyRule`.
    ModifyRule,
    /// `elasticloadbalancing:DeleteRule`.
    DeleteRule,
    /// `elasticloadbalancing:SetRulePriorities`.
    SetRulePriorities,
    /// `elasticloadbalancing:DescribeTargetGroups`.
    DescribeTargetGroups,
    /// `elasticloadbalancing:CreateTargetGroup`.
    CreateTargetGroup,
    /// `elasticloadbalancing:ModifyTargetGroup` (health-check settings).
    ModifyTargetGroup,
    /// `elasticloadbalancing:DeleteTargetGroup`.
    DeleteTargetGroup,
    /// `elasticloadbalancing:DescribeTargetHealth`.
    DescribeTargetHealth,
    /// `elasticloadbalancing:RegisterTargets`.
    RegisterTargets,
    /// `elasticloadbalancing:DeregisterTargets`.
    DeregisterTargets,
    /// `acm:ListCertificates` (discovery by host).
    ListCertificates,
    /// `acm:DescribeCertificate` (a `certificate-arn` checked before any listener uses it).
    DescribeCertificate,
    /// `acm:ImportCertificate` (Secrets imported into ACM).
    ImportCertificate,
    /// `acm:AddTagsToCertificate` (the fingerprint tag after a re-import).
    AddTagsToCertificate,
    /// `acm:DeleteCertificate` (imports no longer used).
    DeleteCertificate,
}

impl Op {
    /// Every operation, in declaration order.
    pub const ALL: [Op; 30] = [
        Op::GetResources,
        Op::DescribeLoadBalancers,
        Op::CreateLoadBalancer,
        Op::DeleteLoadBalancer,
        Op::SetSubnets,
        Op::SetSecurityGroups,
        Op::DescribeListeners,
        Op::CreateListener,
        Op::ModifyListener,
        Op::DeleteListener,
        Op::DescribeListenerCertificates,
        Op::AddListenerCertificates,
        Op::RemoveListenerCertificates,
        Op::DescribeRules,
        Op::CreateRule,
        Op::ModifyRule,
        Op::DeleteRule,
        Op::SetRulePriorities,
        Op::DescribeTargetGroups,
        Op::CreateTargetGroup,
        Op::ModifyTargetGroup,
        Op::DeleteTargetGroup,
        Op::DescribeTargetHealth,
        Op::RegisterTargets,
        Op::DeregisterTargets,
        Op::ListCertificates,
        Op::DescribeCertificate,
        Op::ImportCertificate,
        Op::AddTagsToCertificate,
        Op::DeleteCertificate,
    ];

    /// The API's name for the operation, such as `CreateRule`.
    pub fn name(self) -> &'static str {
        match self {
            Op::GetResources => "GetResources",
            Op::DescribeLoadBalancers => "DescribeLoadBalancers",
            Op::CreateLoadBalancer => "CreateLoadBalancer",
            Op::DeleteLoadBalancer => "DeleteLoadBalancer",
            Op::SetSubnets => "SetSubnets",
            Op::SetSecurityGroups => "SetSecurityGroups",
            Op::DescribeListeners => "DescribeListeners",
            Op::CreateListener => "CreateListener",
            Op::ModifyListener => "ModifyListener",
            Op::DeleteListener => "DeleteListener",
            Op::DescribeListenerCertificates => "DescribeListenerCertificates",
            Op::AddListenerCertificates => "AddListenerCertificates",
            Op::RemoveListenerCertificates => "RemoveListenerCertificates",
            Op::DescribeRules => "DescribeRules",
            Op::CreateRule => "CreateRule",
            Op::ModifyRule => "ModifyRule",
            Op::DeleteRule => "DeleteRule",
            Op::SetRulePriorities => "SetRulePriorities",
            Op::DescribeTargetGroups => "DescribeTargetGroups",
            Op::CreateTargetGroup => "CreateTargetGroup",
            Op::ModifyTargetGroup => "ModifyTargetGroup",
            Op::DeleteTargetGroup => "DeleteTargetGroup",
            Op::DescribeTargetHealth => "DescribeTargetHealth",
            Op::RegisterTargets => "RegisterTargets",
            Op::DeregisterTargets => "DeregisterTargets",
            Op::ListCertificates => "ListCertificates",
            Op::DescribeCertificate => "DescribeCertificate",
            Op::ImportCertificate => "ImportCertificate",
            Op::AddTagsToCertificate => "AddTagsToCertificate",
            Op::DeleteCertificate => "DeleteCertificate",
        }
    }

    /// Whether the operation changes anything (everything but reads).
    pub fn is_mutating(self) -> bool {
        !matches!(
            self,
            Op::GetResources
                | Op::DescribeLoadBalancers
                | Op::DescribeListeners
                | Op::DescribeListenerCertificates
                | Op::DescribeRules
                | Op::DescribeTargetGroups
                | Op::DescribeTargetHealth
                | Op::ListCertificates
                | Op::DescribeCertificate
        )
    }

    /// The IAM actions the operation needs. Creating with tags needs the tagging action too.
    pub fn iam_actions(self) -> Vec<String> {
        let service = match self {
            Op::GetResources => "tag",
            Op::ListCertificates
            | Op::DescribeCertificate
            | Op::ImportCertificate
            | Op::AddTagsToCertificate
            | Op::DeleteCertificate => "acm",
            _ => "elasticloadbalancing",
        };
        let mut actions = vec![format!("{service}:{}", self.name())];
        match self {
            Op::CreateLoadBalancer
            | Op::CreateTargetGroup
            | Op::CreateListener
            | Op::CreateRule => {
                actions.push("elasticloadbalancing:AddTags".to_owned());
            }
            Op::ImportCertificate => actions.push("acm:AddTagsToCertificate".to_owned()),
            _ => {}
        }
        actions
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
