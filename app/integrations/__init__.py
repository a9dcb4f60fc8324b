"""Events other tools can use: one versioned catalogue of what happens after a sale (docs/events.md), delivered
to the merchant's own signed webhook and to Klaviyo's Create Event API, each once per event and destination."""
