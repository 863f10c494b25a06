//! The Handlebars helper `maintenance_mode`. TODO(helper)
