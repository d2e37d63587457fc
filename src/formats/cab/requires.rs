//! A metainfo component's `<requires>` (fwupd's metainfo specification):
//! read as declared, evaluated by `fwkit plan`. The `<requires>` of the
//! `<release>` wins; else the component's.

use crate::formats::vendor_xml::{child, text};
use crate::model::LvfsRequire;

/// The most requirements read from one release.
const MAX_REQUIRES: usize = 64;

/// The requirements that apply to `release`.
pub(super) fn of(release: roxmltree::Node<'_, '_>) -> Vec<LvfsRequire> {
    let node = child(release, "requires").or_else(|| {
        release
            .ancestors()
            .find(|a| a.tag_name().name() == "component")
            .and_then(|c| child(c, "requires"))
    });
    let Some(node) = node else {
        return Vec::new();
    };
    node.children()
        .filter(roxmltree::Node::is_element)
        .take(MAX_REQUIRES)
        .map(|n| LvfsRequire {
            element: n.tag_name().name().to_owned(),
            compare: n.attribute("compare").map(str::to_owned),
            version: n.attribute("version").map(str::to_owned),
            text: text(Some(n)),
            depth: n.attribute("depth").map(str::to_owned),
        })
        .collect()
}
