"""The Slack side: Block Kit views, modal forms, threads and the words a person reads."""
