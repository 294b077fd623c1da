"""``pullthrough``: the command line of the rules API (apply, plan, status, rules, delete)."""
