//! Members' privacy choices in a server: off the public boards, or not
//! counted at all. Pure: applied by the ledger, asked for with `/privacy`.

/// A choice made with `/privacy hide|show|stop|start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrivacyChange {
    /// Off every public board (commands, buttons, web page and JSON), still counted.
    Hide,
    /// Back on the boards.
    Show,
    /// Not counted from now on: messages, reactions and voice time.
    Stop,
    /// Counted again.
    Start,
}

impl PrivacyChange {
    /// As `/privacy` names it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hide => "hide",
            Self::Show => "show",
            Self::Stop => "stop",
            Self::Start => "start",
        }
    }

    /// Reads a subcommand's name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Hide, Self::Show, Self::Stop, Self::Start].into_iter().find(|c| c.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back() {
        for change in [PrivacyChange::Hide, PrivacyChange::Show, PrivacyChange::Stop, PrivacyChange::Start] {
            assert_eq!(PrivacyChange::from_name(change.name()), Some(change));
        }
        assert_eq!(PrivacyChange::from_name("delete"), None);
    }
}
