//! Render (pure): a model into the ALB shape of its stack ([`rules`], exact with glob
//! conditions only, see [`glob`]), and the one check of that shape against ALB quotas and
//! expressiveness ([`fit`]) that the provider and `weir-controller plan` both use.

pub mod fit;
pub mod glob;
pub mod rules;

pub use fit::{Fitted, QuotaLimits, fit};
pub use rules::{
    AlbListener, AlbRule, AlbView, ListenerDefault, RulePurpose, render, unsupported,
    unsupported_action,
};
