"""Shopify platform plumbing: signatures, authentication, webhook intake, the GraphQL client, compliance."""
