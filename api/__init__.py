"""HTTP face of Lookout: REST under /v1, live alerts, the watch-floor page, webhooks."""
