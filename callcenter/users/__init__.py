"""People and permissions: users, roles, departments and access scopes."""
