"""The help-desk feed: a read-only JSON summary of a customer's orders (the order page's 360° view) that a help desk
(Gorgias or Zendesk HTTP integrations, a Gladly lookup) fetches by email or order number, with a per-shop token
the merchant copies from the admin (stored hashed, rotatable)."""
