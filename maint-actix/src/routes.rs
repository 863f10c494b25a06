//! The superuser toggle routes: `on/` and `off/`. TODO(helper)
