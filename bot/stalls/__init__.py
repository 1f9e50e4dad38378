"""Stalled onboardings: business time, thresholds, who an onboarding waits on, and the
escalation ladder (pure, in `calendar` and `policy`), and the sweep that acts on them."""
