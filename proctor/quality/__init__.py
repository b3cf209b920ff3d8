"""Face quality: measured metrics and the policy that turns them into reason codes."""
