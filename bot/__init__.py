"""The onboarding bot: a Slack app for onboarding enterprises onto Tencent Cloud Contact Center."""
