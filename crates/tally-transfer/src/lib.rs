//! Data in and out of Tally: imports of members' XP and counts from MEE6
//! and from files (Tally's own export, MEE6's JSON, CSV), and exports of
//! every member as JSON or CSV. Used by the command line (`tally import`,
//! `tally export`) and by the `/import` and `/export` slash commands.
//!
//! - **Depends on** `tally-domain` (the import rows and modes), `tally-store`
//!   (members read for an export, requests stored for an import) and
//!   `tally-ingest` (the stored requests an import is cut into, applied
//!   through the ledger's rules); never on Discord or the web.
//! - **Start reading** at [`import`] (files are read and checked before
//!   anything is written, then cut into requests each applied once) and
//!   [`export::write`].

pub mod export;
pub mod import;

/// The rules' types, as `crate::domain` inside this crate.
use tally_domain as domain;
/// The stored requests an import is cut into, as `crate::requests`.
use tally_ingest::requests;
/// Where members are read and requests stored, as `crate::store`.
use tally_store as store;
