"""One module per dashboard page (Dash's pages feature): register_page, a layout, its callbacks; ids prefixed by page."""
