"""The supervisors' dashboards: a Dash app in its own process, reached only through the web process at /dash/."""
