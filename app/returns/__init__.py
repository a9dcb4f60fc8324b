"""Returns: the shopper's portal, the rules engine and loyalty tiers, the workflow and its Shopify sync."""
