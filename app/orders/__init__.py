"""Orders, fulfilments and (later) line items, customers, shipments and tracking events."""
