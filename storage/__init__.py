"""What the bot stores, and the jobs that keep it small (data retention)."""
